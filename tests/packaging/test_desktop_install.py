"""The application-menu entry: written into a temporary data home, valid, idempotent and removable."""

from __future__ import annotations

import doctest
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.tray.desktop import menu_entry
from ollama_mcp_tray.tray.desktop.menu_entry import (
    ICON_SIZES,
    data_home,
    install_desktop,
    is_desktop_installed,
    render_desktop_entry,
    uninstall_desktop,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packaging" / "linux" / "ollama-mcp-tray.desktop.in"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def entry_keys(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


def test_quoting_examples_hold() -> None:
    assert doctest.testmod(menu_entry).failed == 0


def test_install_writes_the_entry_and_every_icon_under_xdg_data_home(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "PATH": ""}
    result = install_desktop(["/opt/app/bin/python", "-m", "ollama_mcp_tray.tray"], home=tmp_path, env=env)

    entry = tmp_path / "data" / "applications" / "ollama-mcp-tray.desktop"
    keys = entry_keys(entry.read_text(encoding="utf-8"))
    assert keys["Exec"] == "/opt/app/bin/python -m ollama_mcp_tray.tray"
    assert keys["Icon"] == "ollama-mcp-tray"
    for size in ICON_SIZES:
        icon = tmp_path / "data" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "ollama-mcp-tray.png"
        assert icon.read_bytes().startswith(PNG_MAGIC)
    assert len(result.changed) == len(ICON_SIZES) + 1
    assert is_desktop_installed(home=tmp_path, env=env)


def test_install_defaults_to_local_share_and_to_the_running_interpreter(tmp_path: Path) -> None:
    install_desktop(home=tmp_path, env={"PATH": ""})
    entry = tmp_path / ".local" / "share" / "applications" / "ollama-mcp-tray.desktop"
    exec_line = entry_keys(entry.read_text(encoding="utf-8"))["Exec"]
    assert exec_line.endswith(" -m ollama_mcp_tray.tray")
    assert Path(exec_line.split(" ")[0]).is_absolute()


def test_relative_xdg_data_home_is_ignored_as_the_spec_says(tmp_path: Path) -> None:
    assert data_home(tmp_path, {"XDG_DATA_HOME": "relative/dir"}) == tmp_path / ".local" / "share"


def test_installing_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    env = {"PATH": ""}
    install_desktop(["/x/app"], home=tmp_path, env=env)
    assert install_desktop(["/x/app"], home=tmp_path, env=env).changed == []


def test_reinstalling_with_a_new_command_rewrites_only_the_entry(tmp_path: Path) -> None:
    env = {"PATH": ""}
    install_desktop(["/old/app"], home=tmp_path, env=env)
    result = install_desktop(["/new/app"], home=tmp_path, env=env)
    assert [p.name for p in result.changed] == ["ollama-mcp-tray.desktop"]


def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path) -> None:
    env = {"PATH": ""}
    neighbour = tmp_path / ".local" / "share" / "applications" / "other.desktop"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_text("[Desktop Entry]\n", encoding="utf-8")
    installed = install_desktop(["/x/app"], home=tmp_path, env=env).changed

    removed = uninstall_desktop(home=tmp_path, env=env).changed

    assert sorted(removed) == sorted(installed)
    assert neighbour.exists()
    assert not is_desktop_installed(home=tmp_path, env=env)
    assert uninstall_desktop(home=tmp_path, env=env).changed == []


def test_exec_quotes_spaces_dollars_and_percent_signs() -> None:
    keys = entry_keys(render_desktop_entry(["/home/a b/py$", "50%"]))
    assert keys["Exec"] == '"/home/a b/py\\$" 50%%'


def test_extra_keys_are_added_and_can_replace_defaults() -> None:
    keys = entry_keys(render_desktop_entry(["/x"], extra={"X-GNOME-Autostart-enabled": "true", "Terminal": "true"}))
    assert keys["X-GNOME-Autostart-enabled"] == "true"
    assert keys["Terminal"] == "true"


def test_a_newline_in_a_value_cannot_inject_a_key() -> None:
    keys = entry_keys(render_desktop_entry(["/x"], comment="one\nExec=/bin/evil"))
    assert keys["Exec"] == "/x"


def test_packagers_template_renders_to_the_same_entry() -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    command = ["/usr/bin/ollama-mcp-tray"]
    rendered = template.replace("@EXEC@", "/usr/bin/ollama-mcp-tray").replace("@ICON@", "ollama-mcp-tray")
    assert rendered == render_desktop_entry(command)


@pytest.mark.skipif(sys.platform != "linux", reason="freedesktop tools")
def test_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    assert validator, "desktop-file-validate missing: run tests/setup/40-freeze.sh"
    install_desktop(["/opt/my app/python", "-m", "ollama_mcp_tray.tray"], home=tmp_path, env={"PATH": ""})
    entry = tmp_path / ".local" / "share" / "applications" / "ollama-mcp-tray.desktop"
    done = subprocess.run([validator, str(entry)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.skipif(sys.platform != "linux", reason="freedesktop tools")
def test_cache_tools_run_when_present_and_leave_a_cache(tmp_path: Path) -> None:
    if not shutil.which("gtk-update-icon-cache"):
        pytest.skip("gtk-update-icon-cache not installed")
    result = install_desktop(["/x/app"], home=tmp_path, env={"PATH": os.environ["PATH"]})
    assert (tmp_path / ".local" / "share" / "icons" / "hicolor" / "icon-theme.cache").is_file(), result.cache_notes
