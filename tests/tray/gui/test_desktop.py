"""The real tray on a real (virtual) desktop: Xvfb, tint2 as the tray host, the gtk backend, real clicks.

How the menu is driven: a right click with the real pointer opens GTK's menu with nothing selected. GTK's
keyboard navigation skips separators, hidden and insensitive items, so the number of Down presses to reach an
item is its index among the selectable items, which `menu_model.selectable_path` computes from the same pure
menu builder the app uses (a state of the same shape: Ollama up, nothing registered). Right opens a submenu
with its first item selected. Each step waits for the popup windows it expects before pressing on.

Which icon shows is read from the screen: the docked icon's pixels are compared with each status asset drawn
over the panel's background, and the nearest one wins (the states differ by far more than the noise).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from Xlib.error import XError

from ollama_mcp_tray.server.ollama_client import ModelInfo, OllamaSnapshot
from ollama_mcp_tray.tray.gui import menu_model as mm
from ollama_mcp_tray.tray.gui.state import IconState, TrayState
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.desktop_session import DesktopSession, Rect, desktop_session, missing_tools, wait_for
from tests.ollama_emulator import OllamaEmulator

pytestmark = pytest.mark.desktop

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "icons"
EXISTING_CLAUDE_JSON = {"numStartups": 7, "projects": {"/somewhere": {"allowedTools": []}}, "theme": "dark"}


@pytest.fixture(autouse=True)
def _desktop_tools() -> None:
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"desktop tools missing in CI (tests/setup/30-desktop.sh installs them): {missing}")
        pytest.skip(f"desktop tools missing: {missing}")


@dataclass
class RunningTray:
    desk: DesktopSession
    icon: Rect
    home: Path
    proc: object


def icon_on_screen(desk: DesktopSession, rect: Rect) -> IconState:
    """Which status icon the tray shows now."""
    return icon_match(desk, rect)[0]


def icon_match(desk: DesktopSession, rect: Rect) -> tuple[IconState, float]:
    """The status icon nearest to what `rect` shows, and the mean colour distance (about 1.5 for a match)."""
    shot = desk.screenshot(rect.box).convert("RGB")
    background = desk.screenshot((rect.x + rect.width + 6, rect.y, rect.x + rect.width + 7, rect.y + 1))
    colour = background.convert("RGB").getpixel((0, 0))
    scores = {}
    for state in IconState:
        image = Image.open(ASSETS / f"status-{state.value}-24.png").convert("RGBA").resize(shot.size)
        composed = Image.new("RGBA", image.size, (*colour, 255))
        composed.alpha_composite(image)
        scores[state] = sum(ImageStat.Stat(ImageChops.difference(composed.convert("RGB"), shot)).mean)
    best = min(scores, key=lambda s: scores[s])
    return best, scores[best]


def wait_for_icon(desk: DesktopSession, rect: Rect, state: IconState, timeout: float) -> float:
    """Seconds until the icon shows `state`."""
    started = time.monotonic()
    wait_for(lambda: icon_on_screen(desk, rect) is state, timeout, f"the icon to show {state.value}")
    return time.monotonic() - started


@pytest.fixture
def tray(tmp_path: Path, ollama: OllamaEmulator) -> Iterator[RunningTray]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text(json.dumps(EXISTING_CLAUDE_JSON, indent=2), encoding="utf-8")
    with desktop_session(tmp_path / "desktop") as desk:
        env = {"HOME": str(home), "OLLAMA_URL": ollama.url, "PYSTRAY_BACKEND": "gtk"}
        proc = desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=env, log_name="tray")
        rect = desk.wait_for_docked_icon(timeout=10)
        yield RunningTray(desk, rect, home, proc)
        assert proc.poll() is None, (tmp_path / "desktop" / "tray.log").read_text(errors="replace")


def test_the_icon_docks_in_the_tray_and_shows_ollama_up(tray: RunningTray, tmp_path: Path) -> None:
    wait_for_icon(tray.desk, tray.icon, IconState.UP, timeout=5)
    shot = tmp_path / "docked.png"
    tray.desk.screenshot().save(shot)
    assert tray.desk.icon_drawn(tray.icon)
    assert shot.stat().st_size > 0


def test_stopping_ollama_turns_the_icon_to_down_within_two_seconds(tray: RunningTray, ollama: OllamaEmulator) -> None:
    wait_for_icon(tray.desk, tray.icon, IconState.UP, timeout=5)
    ollama.stop()
    assert wait_for_icon(tray.desk, tray.icon, IconState.DOWN, timeout=2.0) < 2.0
    ollama.start()
    wait_for_icon(tray.desk, tray.icon, IconState.UP, timeout=5)


def test_choosing_enabled_for_all_projects_registers_the_server_in_claude_json(tray: RunningTray) -> None:
    desk = tray.desk
    wait_for_icon(desk, tray.icon, IconState.UP, timeout=5)
    shape = TrayState("http://x", OllamaSnapshot("http://x", "1", (_model(),)))
    top, sub = mm.selectable_path(
        mm.build_menu(shape, mm.dt.datetime.now(mm.dt.timezone.utc)), "Claude Code", "Enabled"
    )

    desk.click(tray.icon.center, button=3)
    wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the menu to open")
    for _ in range(top + 1):
        desk.xdotool("key", "Down")
    desk.xdotool("key", "Right")
    wait_for(lambda: len(desk.popup_windows()) == 2, 5, "the Claude Code submenu to open")
    for _ in range(sub):
        desk.xdotool("key", "Down")
    desk.xdotool("key", "Return")

    config = tray.home / ".claude.json"

    def registered() -> dict[str, object] | None:
        data = json.loads(config.read_text(encoding="utf-8"))
        return data if "ollama" in data.get("mcpServers", {}) else None

    data = wait_for(registered, 10, "the registration in ~/.claude.json")
    entry = data["mcpServers"]["ollama"]  # type: ignore[index]
    assert entry["type"] == "stdio"
    assert Path(entry["command"]).is_absolute()
    assert entry["args"] == list(ServerLaunch.current().args)
    assert {k: v for k, v in data.items() if k != "mcpServers"} == EXISTING_CLAUDE_JSON
    wait_for(lambda: not desk.popup_windows(), 5, "the menu to close")


def choose_from_menu(running: RunningTray, *texts: str) -> None:
    """Open the menu with a right click and choose the item at `texts` with the keyboard, as a person would."""
    desk = running.desk
    shape = TrayState("http://x", OllamaSnapshot("http://x", "1", (_model(),)))
    steps = mm.selectable_path(mm.build_menu(shape, mm.dt.datetime.now(mm.dt.timezone.utc)), *texts)
    wait_for(lambda: not desk.popup_windows(), 5, "no menu to be open")
    # Off the icon first: the last choice left the pointer on it, and `mousemove --sync` waits for a motion.
    desk.xdotool("mousemove", "--sync", "333", "277")
    desk.click(running.icon.center, button=3)
    wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the menu to open")
    for level, index in enumerate(steps):
        for _ in range(index + (1 if level == 0 else 0)):  # the top menu opens with nothing selected
            desk.xdotool("key", "Down")
        if level < len(steps) - 1:
            desk.xdotool("key", "Right")
            wait_for(lambda n=level + 2: len(desk.popup_windows()) == n, 5, f"the {texts[level]} submenu to open")
    desk.xdotool("key", "Return")
    wait_for(lambda: not desk.popup_windows(), 5, "the menu to close")


USER_SETTINGS = (
    '{\n  "model": "opus",\n  "hooks": {\n    "PostToolUse": [\n      {"matcher": "Edit", "hooks": []}\n    ]\n  }\n}\n'
)


def test_the_kit_items_of_the_claude_code_menu_install_and_remove_each_piece(tray: RunningTray) -> None:
    wait_for_icon(tray.desk, tray.icon, IconState.UP, timeout=5)
    claude = tray.home / ".claude"
    claude.mkdir(mode=0o700)
    (claude / "settings.json").write_text(USER_SETTINGS, encoding="utf-8")
    files = {
        "Add local-model rule to CLAUDE.md": claude / "CLAUDE.md",
        "Add delegation skill": claude / "skills" / "ollama-local" / "SKILL.md",
        "Add local-work subagent": claude / "agents" / "ollama-local.md",
    }
    hooks = {"Hook: hint on delegable prompts": "hook_prompt", "Hook: digest very long Bash output": "hook_bash"}

    def settings() -> str:
        return (claude / "settings.json").read_text(encoding="utf-8")

    for text, path in files.items():
        choose_from_menu(tray, "Claude Code", text)
        wait_for(lambda path=path: path.is_file() and "ollama" in path.read_text(encoding="utf-8"), 10, text)
    for text, module in hooks.items():
        choose_from_menu(tray, "Claude Code", text)
        wait_for(lambda module=module: module in settings(), 10, text)
    document = json.loads(settings())
    assert document["model"] == "opus"
    assert [g.get("matcher") for g in document["hooks"]["PostToolUse"]] == ["Edit", "Bash"]
    assert "hook_prompt" in document["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]

    for text, path in files.items():  # a second click takes each piece away again
        choose_from_menu(tray, "Claude Code", text)
        wait_for(lambda path=path: not path.exists() or "ollama" not in path.read_text(encoding="utf-8"), 10, text)
    for text, module in hooks.items():
        choose_from_menu(tray, "Claude Code", text)
        wait_for(lambda module=module: module not in settings(), 10, text)
    assert settings() == USER_SETTINGS  # the user's own hook and layout, byte for byte


def tooltips(desk: DesktopSession) -> list[Rect]:
    """Mapped tooltip windows (GTK marks them _NET_WM_WINDOW_TYPE_TOOLTIP)."""
    x = desk.x
    tooltip_type = x.intern_atom("_NET_WM_WINDOW_TYPE_TOOLTIP")
    found = []
    for window in x.screen().root.query_tree().children:
        try:
            attrs = window.get_attributes()
            kind = window.get_full_property(x.intern_atom("_NET_WM_WINDOW_TYPE"), 0)
        except XError:  # a window vanished while we looked
            continue
        if attrs.map_state == 2 and kind is not None and tooltip_type in kind.value:
            found.append(desk.geometry(window))
    return found


def hover_tooltip(desk: DesktopSession, icon: Rect, attempts: int = 3) -> Rect:
    """Rest the pointer on the icon until its tooltip shows; then move away so the next hover starts fresh.

    GTK sometimes lets an entering pointer pass without arming the tooltip (seen about once in four runs right
    after the icon's image changed), so a hover that shows nothing is repeated, as a person would, a few times.
    """
    for attempt in range(attempts):
        # Off the icon first, to a spot the pointer is not on (`--sync` waits for a motion that must happen).
        desk.xdotool("mousemove", "--sync", str(380 - 10 * attempt), "420")
        desk.xdotool("mousemove", "--sync", str(icon.center[0]), str(icon.center[1]))
        try:
            tip = wait_for(lambda: (tooltips(desk) or [None])[0], 3, "the icon's tooltip to show")
        except TimeoutError:
            if attempt == attempts - 1:
                raise
            continue
        desk.xdotool("mousemove", "--sync", "400", "400")
        wait_for(lambda: not tooltips(desk), 5, "the tooltip to hide")
        return tip
    raise AssertionError("unreachable")


def test_hovering_over_the_icon_shows_the_state_as_a_tooltip_that_follows_it(
    tray: RunningTray, ollama: OllamaEmulator
) -> None:
    desk = tray.desk
    wait_for_icon(desk, tray.icon, IconState.UP, timeout=5)
    up_tip = hover_tooltip(desk, tray.icon)
    # "Ollama 0.32 · 4 models", then "Ollama is not running (http://127.0.0.1:PORT)": a longer line.
    ollama.stop()
    wait_for_icon(desk, tray.icon, IconState.DOWN, timeout=5)
    down_tip = hover_tooltip(desk, tray.icon)
    assert down_tip.width > up_tip.width + 60


def _model() -> ModelInfo:
    return ModelInfo("m:latest", 1, "", None, None, None, None, (), None)


def test_with_only_the_xorg_backend_the_app_opens_its_window_says_what_to_install_and_exits(tmp_path: Path) -> None:
    layout = tmp_path / "layout.json"
    with desktop_session(tmp_path / "desktop", notifications=False) as desk:
        env = {"HOME": str(tmp_path), "PYSTRAY_BACKEND": "xorg", "OLLAMA_MCP_TRAY_WINDOW_LAYOUT": str(layout)}
        proc = desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=env, log_name="tray")

        def banner() -> str | None:
            try:
                return str(json.loads(layout.read_text(encoding="utf-8"))["no_tray"]["text"])
            except (OSError, ValueError, KeyError):
                return None

        # Nothing is registered yet: the welcome window, topped by why there is no icon.
        text = wait_for(banner, 20, "the welcome window with the no-tray banner")
        assert "'xorg' backend" in text
        assert "next" in json.loads(layout.read_text(encoding="utf-8"))  # the welcome window's own button
        assert proc.poll() is None  # the app waits for its window
        # Closing the window (as its window manager's close button would) ends the app.
        desk.xdotool("search", "--name", "Welcome to Ollama MCP Tray", "windowclose")
        assert proc.wait(30) == 2
    output = (tmp_path / "desktop" / "tray.log").read_text(encoding="utf-8")
    assert "'xorg' backend" in output and "cannot be clicked" in output
    assert "PyGObject" in output
    assert "Traceback" not in output
