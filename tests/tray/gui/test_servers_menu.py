"""The "Ollama server" submenu and the icon's remote mark: the menu as data, then clicked in a running tray
(our TrayIcon over pystray's dummy backend, real files, two emulators)."""

from __future__ import annotations

import datetime as dt

from PIL import ImageChops

from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.tray import servers
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.gui import menu_model as mm
from ollama_mcp_tray.tray.gui.icon import status_image, with_remote_mark
from ollama_mcp_tray.tray.gui.state import IconState, ServerChoice, TrayState
from tests.desktop_session import wait_for
from tests.ollama_emulator import OllamaEmulator
from tests.tray.gui.headless_pystray import click, texts
from tests.tray.gui.test_controller import TrayFactory, read_json, start_tray

__all__ = ["start_tray"]  # the fixture, used by name below

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LOCAL = ServerChoice("this-machine", "This machine", "http://127.0.0.1:11434", True)
GPU = ServerChoice("gpu-box", "GPU box", "https://gpu.lan:8443")
OFFICE = "http://198.51.100.7:11434"  # TEST-NET-2 (RFC 5737): never a real host


def server_menu(state: TrayState) -> mm.Item:
    item = next(e for e in mm.build_menu(state, NOW) if isinstance(e, mm.Item) and e.text.startswith("Ollama server"))
    assert item.submenu is not None
    return item


def test_the_submenu_names_the_active_server_and_offers_each_one_as_a_radio_item() -> None:
    state = TrayState(LOCAL.url, OllamaSnapshot(LOCAL.url, "0.12.3"), servers=(LOCAL, GPU))
    item = server_menu(state)
    assert item.text == "Ollama server: This machine"
    choices = [e for e in item.submenu or () if isinstance(e, mm.Item)]
    assert [(c.text, c.checked, c.radio, c.action) for c in choices[:2]] == [
        ("This machine · http://127.0.0.1:11434", True, True, mm.UseServer("this-machine")),
        ("GPU box · https://gpu.lan:8443", False, True, mm.UseServer("gpu-box")),
    ]
    assert choices[-1].action == mm.OpenWindow("servers")
    header = mm.build_menu(state, NOW)[1]
    assert isinstance(header, mm.Item) and header.text == "Ollama 0.12.3 · This machine · http://127.0.0.1:11434"
    assert not mm.remote_active(state)


def test_a_remote_active_server_is_named_in_the_header_and_tooltip_and_marks_the_icon() -> None:
    gpu, local = ServerChoice(GPU.id, GPU.name, GPU.url, True), ServerChoice(LOCAL.id, LOCAL.name, LOCAL.url)
    state = TrayState(GPU.url, OllamaSnapshot(GPU.url, "0.12.3"), servers=(local, gpu))
    assert server_menu(state).text == "Ollama server: GPU box"
    assert mm.tooltip(state).startswith("Ollama 0.12 · GPU box · 0 models")
    assert mm.remote_active(state)


def test_an_address_from_the_environment_is_said_to_be_in_effect() -> None:
    state = TrayState("http://10.1.1.1:11434", servers=(LOCAL, GPU))
    item = server_menu(state)
    assert item.text == "Ollama server: http://10.1.1.1:11434"
    first = (item.submenu or ())[0]
    assert isinstance(first, mm.Item) and "set by the environment" in first.text and first.action is None
    assert mm.remote_active(state)


def test_with_no_list_the_submenu_still_opens_the_servers_window() -> None:
    item = server_menu(TrayState("http://127.0.0.1:11434"))
    assert [e.text for e in item.submenu or () if isinstance(e, mm.Item)] == ["Add or edit servers…"]


def test_the_remote_mark_sits_top_right_and_leaves_the_rest_of_the_icon_alone() -> None:
    for size in (16, 22, 24):
        plain = status_image(IconState.LOADED, size).convert("RGBA")
        marked = with_remote_mark(plain)
        box = ImageChops.difference(plain, marked).getbbox()
        assert box is not None
        left, _top, right, bottom = box
        assert left >= size // 2 and bottom <= size // 2 + 1, (size, box)  # the top right quarter only
        assert (right - left) >= size * 0.3  # big enough to read at tray size
        # The "loaded" dot (bottom right) is untouched.
        assert plain.getpixel((size - 3, size - 3)) == marked.getpixel((size - 3, size - 3))


def test_choosing_a_server_in_the_running_tray_switches_the_files_the_monitor_and_the_icon(
    start_tray: TrayFactory,
) -> None:
    with OllamaEmulator() as local, OllamaEmulator() as gpu:
        gpu.faults.update(require_key="gpu-key")

        def add_servers(ctx: AppContext) -> None:
            servers.add_server(ctx.paths, "GPU box", gpu.url, key="gpu-key")
            servers.add_server(ctx.paths, "Office", OFFICE)

        tray = start_tray(local.url, before=add_servers)
        tray.wait_menu(lambda: tray.has("Ollama server: This machine", "GPU box"), "the saved servers in the menu")
        tray.wait_menu(lambda: texts(tray.icon)[0].startswith("Ollama "), "the first poll")
        assert texts(tray.icon)[0].endswith(f"This machine · {local.url}")
        local_image = tray.icon.icon

        click(tray.icon, "Ollama server", "GPU box")

        tray.wait_menu(lambda: tray.checked("Ollama server: GPU box", "GPU box"), "GPU box to be the checked one")
        tray.wait_menu(lambda: texts(tray.icon)[0].startswith("Ollama "), "the tray to reach the GPU box")
        assert texts(tray.icon)[0].endswith(f"GPU box · {gpu.url}")
        assert read_json(tray.ctx.paths.settings_file)["ollama_url"] == gpu.url
        assert tray.ctx.paths.key_file.read_text(encoding="utf-8").strip() == "gpu-key"
        wait_for(lambda: any(r.header("x-ollama-key") == "gpu-key" for r in gpu.requests), 5, "the tray's poll")
        assert not tray.checked("Ollama server: GPU box", "This machine")
        assert tray.icon.icon is local_image  # both on loopback here: no remote mark
        tray.icon.wait_for_notification(lambda m: m.startswith("Ollama server: GPU box"))

        # A server off this machine (a documentation address: nothing answers) marks the icon at once.
        click(tray.icon, "Ollama server", "Office")
        tray.wait_menu(lambda: tray.checked("Ollama server: Office", "Office"), "Office to be the checked one")
        tray.wait_menu(lambda: tray.icon.icon is not local_image, "the icon to change")
        image = tray.icon.icon.convert("RGBA")
        size = image.width
        assert image.getpixel((size - round(size * 0.23), round(size * 0.23)))[:3] == (255, 255, 255)
        assert tray.ctx.paths.key_file.exists() is False  # the GPU box's key went back to its own file
        assert servers.stash_file(tray.ctx.paths, "gpu-box").read_text(encoding="utf-8").strip() == "gpu-key"
