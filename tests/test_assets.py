"""The icons shipped in `ollama_mcp_tray.assets` match their drawing source and stay tellable apart."""

from __future__ import annotations

import itertools
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from PIL import Image

from ollama_mcp_tray.assets.draw_icons import (
    ICNS_SIZES,
    ICO_SIZES,
    STATES,
    STATUS_SIZES,
    draw_icon,
    icon_files,
)

ICONS = Path(str(files("ollama_mcp_tray.assets"))) / "icons"
PANELS = {"light": (255, 255, 255), "dark": (24, 24, 28)}


def on_panel(icon: Image.Image, panel: tuple[int, int, int]) -> Image.Image:
    background = Image.new("RGBA", icon.size, (*panel, 255))
    background.alpha_composite(icon)
    return background.convert("L")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    pairs = zip(a.tobytes(), b.tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (a.width * a.height)


@pytest.mark.parametrize("name", sorted(icon_files()))
def test_committed_png_equals_a_fresh_drawing(name: str) -> None:
    state, size = icon_files()[name]
    with Image.open(ICONS / name) as committed:
        assert committed.size == (size, size)
        assert committed.convert("RGBA").tobytes() == draw_icon(state, size).tobytes(), (
            f"{name} is stale: run python -m ollama_mcp_tray.assets.draw_icons"
        )


def test_drawing_is_deterministic() -> None:
    assert draw_icon("loaded", 22).tobytes() == draw_icon("loaded", 22).tobytes()


def test_ico_holds_every_windows_size() -> None:
    with Image.open(ICONS / "app.ico") as ico:
        assert sorted(ico.info["sizes"]) == [(s, s) for s in ICO_SIZES]
        ico.size = (32, 32)
        ico.load()
        assert ico.convert("RGBA").tobytes() == draw_icon("app", 32).tobytes()


def test_icns_holds_every_macos_size() -> None:
    with Image.open(ICONS / "app.icns") as icns:
        pixel_sizes = {w * scale for (w, _h, scale) in icns.info["sizes"]}
    assert pixel_sizes == set(ICNS_SIZES)


@pytest.mark.parametrize("size", [16, 22])
@pytest.mark.parametrize("panel", sorted(PANELS))
def test_every_pair_of_states_differs_in_brightness_alone(size: int, panel: str) -> None:
    # Grey levels only: a user who cannot tell teal from amber must still tell the states apart.
    grey = {state: on_panel(draw_icon(state, size), PANELS[panel]) for state in STATES}
    for a, b in itertools.combinations(STATES, 2):
        assert mean_difference(grey[a], grey[b]) > 12, f"{a} and {b} look alike at {size} px on a {panel} panel"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("panel", sorted(PANELS))
def test_status_icon_stands_out_from_light_and_dark_panels(state: str, panel: str) -> None:
    shown = on_panel(draw_icon(state, 16), PANELS[panel])
    background = Image.new("RGB", shown.size, PANELS[panel]).convert("L")
    distinct = sum(1 for x, y in zip(shown.tobytes(), background.tobytes(), strict=True) if abs(x - y) > 60)
    assert distinct > 16 * 16 // 3


def test_unknown_state_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(ValueError, match="starting"):
        draw_icon("sleepy", 16)


def test_every_status_size_is_committed() -> None:
    for state, size in itertools.product(STATES, STATUS_SIZES):
        assert (ICONS / f"status-{state}-{size}.png").is_file()


def test_importing_the_assets_package_does_not_import_pillow() -> None:
    code = "import sys, ollama_mcp_tray.assets; assert 'PIL' not in sys.modules, 'PIL imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
