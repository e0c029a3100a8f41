"""The tray's actions, clicked through its real menu: real files in a temporary HOME, the Ollama emulator on
loopback (in process, or as the `ollama serve` process the tray starts), and real child processes.

The icon is our `TrayIcon` over pystray's own dummy backend (`headless_pystray`), so a click goes from a pystray
menu item through `TrayIcon` to the controller, as on a desktop. The only stand-ins are the dialogs, which the
controller takes as parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.usage import UsageRecord, append_usage
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients import claude_md
from ollama_mcp_tray.tray.clients.adoption_kit import Piece
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.clients.registrar import Scope, Target
from ollama_mcp_tray.tray.desktop import dialogs
from ollama_mcp_tray.tray.desktop.autostart import Autostart
from ollama_mcp_tray.tray.gui.controller import Controller
from ollama_mcp_tray.tray.gui.icon import TrayIcon
from ollama_mcp_tray.tray.gui.menu_model import KIT_ITEMS
from ollama_mcp_tray.tray.gui.monitor import PollPolicy
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.desktop_session import wait_for
from tests.ollama_emulator import OLLAMA_VERSION, OllamaEmulator
from tests.tray.gui.headless_pystray import HeadlessIcon, click, find_item, headless_pystray, texts

ROOT = Path(__file__).resolve().parents[3]
EMULATOR = ROOT / "tests" / "ollama_emulator.py"
FAST = PollPolicy(interval=5.0, probe=0.2, fast=0.1, fast_rounds=3, down_max=0.4)
USER_SETTINGS = (  # a user's own hook, in their layout: the kit's items must leave it byte for byte
    '{\n  "hooks": {\n    "PostToolUse": [\n'
    '      {"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt"}]}\n    ]\n  }\n}\n'
)
OTHER = {"numStartups": 3, "theme": "dark", "projects": {"/p": {"allowedTools": ["Bash"]}}}
LOADED = "qwen2.5-coder:3b"


@dataclass
class Tray:
    """A running tray: the controller, the pystray icon it draws on, and where its files are."""

    controller: Controller
    icon: HeadlessIcon
    tray_icon: TrayIcon
    runner: threading.Thread
    home: Path
    xdg_config: Path

    @property
    def ctx(self) -> AppContext:
        return self.controller.ctx

    def wait_menu(self, predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        self.icon.wait_until(predicate, timeout, what)

    def has(self, *path: str) -> bool:
        try:
            find_item(self.icon, *path)
        except KeyError:
            return False
        return True

    def checked(self, *path: str) -> bool:
        """Whether the item is there and checked (False while the menu is not drawn yet)."""
        return self.has(*path) and bool(find_item(self.icon, *path).checked)

    def quit(self) -> None:
        click(self.icon, "Quit")
        self.runner.join(5)
        assert not self.runner.is_alive(), "Quit did not end the icon's loop"
        assert self.controller.wait_stopped(5), "Quit did not stop the controller"


TrayFactory = Callable[..., Tray]


def make_context(tmp_path: Path, settings: dict[str, Any], env: dict[str, str]) -> AppContext:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # The resident is off unless a test turns it on: each tray would keep one of its own running.
    environment = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OLLAMA_MCP_RESIDENT": "0",
        **env,
    }
    paths = AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")
    paths.config_dir.mkdir(exist_ok=True)
    paths.settings_file.write_text(json.dumps(settings), encoding="utf-8")
    return AppContext(paths, ClaudeHome.from_env(environment, home=home), ServerLaunch.current(), environment)


@pytest.fixture
def start_tray(tmp_path: Path) -> Iterator[TrayFactory]:
    """Start trays the way `app.main` does (icon loop on its own thread here); stop them all afterwards."""
    started: list[Tray] = []

    def start(
        url: str,
        *,
        env: dict[str, str] | None = None,
        choose_folder: Callable[[], Path | None] = lambda: None,
        before: Callable[[AppContext], None] | None = None,
        now: Callable[[], dt.datetime] = dt.datetime.now,
    ) -> Tray:
        ctx = make_context(tmp_path, {"ollama_url": url}, env or {})
        (ctx.home / ".claude.json").write_text(json.dumps(OTHER, indent=2), encoding="utf-8")
        if before is not None:
            before(ctx)
        xdg_config = tmp_path / "xdg-config"
        autostart = Autostart(home=ctx.home, env={"XDG_CONFIG_HOME": str(xdg_config)}, platform="linux")
        controller = Controller(
            ctx, autostart, policy=FAST, guard_interval=0.1, now=now, tick=0.1, choose_folder=choose_folder
        )
        pystray = headless_pystray()
        tray_icon = TrayIcon(pystray, controller.on_action)
        icon = pystray.Icon.last
        runner = threading.Thread(target=tray_icon.run, args=(lambda: controller.start(tray_icon),), daemon=True)
        runner.start()
        tray = Tray(controller, icon, tray_icon, runner, ctx.home, xdg_config)
        started.append(tray)
        return tray

    yield start
    for tray in started:
        tray.tray_icon.stop()
        tray.runner.join(5)
        tray.controller.shutdown()


def up_and_listed(tray: Tray) -> None:
    tray.wait_menu(lambda: tray.has("Models (4)"), "the first poll to list the models")


def load_model(url: str, model: str) -> None:
    body = json.dumps({"model": model, "keep_alive": "1h"}).encode("utf-8")
    request = urllib.request.Request(f"{url}/api/generate", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=2) as response:
            return bool(json.loads(response.read())["version"])
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ---- Ollama: models, starting, watching --------------------------------------------------------------


def test_unloading_a_loaded_model_frees_it_in_ollama_and_drops_it_from_the_menu(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    load_model(ollama.url, LOADED)
    tray = start_tray(ollama.url)
    tray.wait_menu(lambda: tray.has("Models", f"Unload {LOADED}"), "the loaded model in the menu")
    assert f"{LOADED} loaded" in tray.icon.title

    click(tray.icon, "Models", f"Unload {LOADED}")

    wait_for(lambda: not ollama.loaded_names(), 5, "Ollama to unload the model")
    tray.wait_menu(lambda: not tray.has("Models", f"Unload {LOADED}"), "the unload item to go")
    assert "loaded" not in tray.icon.title


def test_choosing_a_model_saves_it_as_the_default_and_checks_only_its_radio_item(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)
    assert texts(tray.icon, "Models")[0] == "Default model for Claude Code: none chosen yet"

    click(tray.icon, "Models", "llama3.2:latest")

    tray.wait_menu(lambda: tray.checked("Models", "llama3.2:latest"), "the chosen model to be checked")
    assert read_json(tray.ctx.paths.settings_file)["default_model"] == "llama3.2:latest"
    assert read_json(tray.ctx.paths.settings_file)["ollama_url"] == ollama.url  # the rest of the file is kept
    assert not tray.checked("Models", LOADED)
    assert texts(tray.icon, "Models")[0] == "Default model for Claude Code:"


def test_an_embedding_model_cannot_be_chosen_as_the_default(ollama: OllamaEmulator, start_tray: TrayFactory) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)
    item = find_item(tray.icon, "Models", "nomic-embed-text")
    assert not item.enabled and item.text.endswith("embeddings only")


def fake_ollama(folder: Path, body: str) -> Path:
    """An `ollama` executable (a shell script) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ollama"
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def serving_script(pidfile: Path) -> str:
    """`ollama serve` as the emulator, listening where OLLAMA_HOST says, its pid written down for cleanup."""
    return (
        '[ "$1" = serve ] || exit 2\n'
        f'echo $$ > "{pidfile}"\n'
        f'exec "{sys.executable}" "{EMULATOR}" --port "${{OLLAMA_HOST##*:}}"\n'
    )


def stop_pid(pidfile: Path) -> None:
    """Stop a process we started through the fake `ollama`, and wait until it is gone (reaped)."""
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text(encoding="utf-8"))

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    if not gone():
        os.kill(pid, signal.SIGTERM)
    wait_for(gone, 5, f"process {pid} to exit")


def test_start_ollama_runs_ollama_serve_on_the_tray_address_which_outlives_the_tray(
    tmp_path: Path, start_tray: TrayFactory
) -> None:
    pidfile = tmp_path / "serve.pid"
    fake_ollama(tmp_path / "bin", serving_script(pidfile))
    url = f"http://127.0.0.1:{free_port()}"
    tray = start_tray(url, env={"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"})
    try:
        tray.wait_menu(lambda: tray.has("Start Ollama"), "the menu to offer Start Ollama")
        assert tray.icon.title == f"Ollama is not running ({url})"

        click(tray.icon, "Start Ollama")

        started = tray.icon.wait_for_notification(lambda m: m.startswith("Ollama started"), timeout=5)
        assert OLLAMA_VERSION in started
        up_and_listed(tray)
        assert not tray.has("Start Ollama")
        assert url in (tray.ctx.paths.log_dir / "ollama-serve.log").read_text(encoding="utf-8")
        tray.quit()
        assert answers(url), "the Ollama the tray started must keep running after Quit"
    finally:
        stop_pid(pidfile)


def test_an_ollama_that_exits_at_start_is_reported_and_start_is_offered_again(
    tmp_path: Path, start_tray: TrayFactory
) -> None:
    fake_ollama(tmp_path / "bin", 'echo "Error: listen tcp: address already in use" >&2\nexit 3\n')
    tray = start_tray(f"http://127.0.0.1:{free_port()}", env={"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"})
    tray.wait_menu(lambda: tray.has("Start Ollama"), "the menu to offer Start Ollama")

    click(tray.icon, "Start Ollama")

    message = tray.icon.wait_for_notification(lambda m: "exited at start" in m)
    assert "code 3" in message and "ollama-serve.log" in message
    assert "address already in use" in (tray.ctx.paths.log_dir / "ollama-serve.log").read_text(encoding="utf-8")
    tray.wait_menu(lambda: tray.has("Start Ollama"), "Start Ollama to be offered again")


def test_quitting_the_tray_leaves_an_ollama_it_did_not_start_running(tmp_path: Path, start_tray: TrayFactory) -> None:
    log = (tmp_path / "ollama.log").open("wb")
    ollama = subprocess.Popen(
        [sys.executable, str(EMULATOR), "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True
    )
    log.close()
    try:
        assert ollama.stdout is not None
        url = ollama.stdout.readline().strip()
        tray = start_tray(url)
        up_and_listed(tray)

        tray.quit()

        assert ollama.poll() is None, "the tray stopped an Ollama it did not start"
        assert answers(url)
    finally:
        ollama.terminate()
        ollama.wait(5)
        if ollama.stdout is not None:
            ollama.stdout.close()


def test_ollama_going_down_and_coming_back_is_told_in_notifications(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)

    ollama.stop()
    down = tray.icon.wait_for_notification(lambda m: "stopped answering" in m)
    assert ollama.url in down
    tray.wait_menu(lambda: tray.has("Ollama is not running"), "the menu to say Ollama is down")

    ollama.start()
    back = tray.icon.wait_for_notification(lambda m: m.startswith("Ollama is back"))
    assert OLLAMA_VERSION in back
    up_and_listed(tray)


# ---- the desktop: start at login ---------------------------------------------------------------------


def test_start_at_login_writes_and_removes_the_xdg_autostart_entry(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    entry = tray.xdg_config / "autostart" / "ollama-mcp-tray.desktop"
    tray.wait_menu(lambda: tray.has("Start at login"), "the menu")
    assert not tray.checked("Start at login")

    click(tray.icon, "Start at login")

    tray.wait_menu(lambda: tray.checked("Start at login"), "Start at login to be checked")
    text = entry.read_text(encoding="utf-8")
    assert "[Desktop Entry]" in text and "X-GNOME-Autostart-enabled=true" in text
    assert f"\nExec={sys.executable} -m ollama_mcp_tray.tray\n" in text

    click(tray.icon, "Start at login")

    tray.wait_menu(lambda: not tray.checked("Start at login"), "Start at login to be unchecked")
    assert not entry.exists()


# ---- Claude Code: registrations, CLAUDE.md, connection test ------------------------------------------


def test_enabled_for_all_projects_registers_and_unregisters_in_claude_json_keeping_the_rest(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    config = tray.home / ".claude.json"
    up_and_listed(tray)
    assert not tray.checked("Claude Code", "Enabled for all projects")

    click(tray.icon, "Claude Code", "Enabled for all projects")

    tray.wait_menu(lambda: tray.checked("Claude Code", "Enabled for all projects"), "the item to be checked")
    # No default model was set: the one click chose one, as `setup` would, and said which.
    message = tray.icon.wait_for_notification(lambda m: m.startswith("Default model for Claude Code"), 10)
    assert "qwen2.5-coder:3b" in message
    assert read_json(tray.ctx.paths.settings_file)["default_model"] == "qwen2.5-coder:3b"
    tray.wait_menu(lambda: tray.checked("Models", "qwen2.5-coder:3b"), "the chosen default to be checked")
    data = read_json(config)
    entry = data["mcpServers"]["ollama"]
    assert entry["command"] == tray.ctx.launch.command
    assert entry["args"] == list(tray.ctx.launch.args)
    assert entry["env"] == {"OLLAMA_URL": ollama.url}
    assert {k: v for k, v in data.items() if k != "mcpServers"} == OTHER

    click(tray.icon, "Claude Code", "Enabled for all projects")

    tray.wait_menu(lambda: not tray.checked("Claude Code", "Enabled for all projects"), "the item to be unchecked")
    assert "ollama" not in read_json(config).get("mcpServers", {})
    assert {k: v for k, v in read_json(config).items() if k != "mcpServers"} == OTHER


def test_enable_for_a_project_registers_the_chosen_folder_and_its_menu_item_removes_it(
    ollama: OllamaEmulator, start_tray: TrayFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "home" / "src" / "app"
    project.mkdir(parents=True)
    # The shared .mcp.json starts `ollama-mcp-server` from PATH, where the installer puts it.
    bin_dir = tmp_path / "home" / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "ollama-mcp-server").symlink_to(Path(sys.executable).parent / "ollama-mcp-server")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    tray = start_tray(ollama.url, choose_folder=lambda: project)
    up_and_listed(tray)

    click(tray.icon, "Claude Code", "Enable for a project")

    told = tray.icon.wait_for_notification(lambda m: m.startswith("Enabled for"))
    assert str(project) in told and "trust" in told
    tray.wait_menu(lambda: tray.has("Claude Code", "~/src/app (project)"), "the project in the menu")
    entry = read_json(project / ".mcp.json")["mcpServers"]["ollama"]
    assert entry["env"] == {"OLLAMA_URL": "${OLLAMA_URL:-" + ollama.url + "}"}
    assert read_json(project / ".claude" / "settings.local.json")["enabledMcpjsonServers"] == ["ollama"]

    click(tray.icon, "Claude Code", "~/src/app (project)")

    tray.wait_menu(lambda: not tray.has("Claude Code", "~/src/app"), "the project to leave the menu")
    # Enable created both files and the .claude folder; empty again, they go (issue 8, item 19).
    assert not (project / ".mcp.json").exists()
    assert not (project / ".claude").exists()


def test_without_a_folder_dialog_the_user_is_told_what_to_install(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def no_dialog() -> Path | None:
        raise dialogs.DialogUnavailable("No dialog tool found: install zenity (or kdialog).")

    tray = start_tray(ollama.url, choose_folder=no_dialog)
    up_and_listed(tray)

    click(tray.icon, "Claude Code", "Enable for a project")

    message = tray.icon.wait_for_notification(lambda m: "failed" in m)
    assert message == "Enabling for a project failed: No dialog tool found: install zenity (or kdialog)."


def test_the_claude_md_rule_is_added_and_removed_leaving_the_users_text(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def own_rules(ctx: AppContext) -> None:
        ctx.claude.claude_md.parent.mkdir(parents=True)
        ctx.claude.claude_md.write_text("# My rules\n\nBe brief.\n", encoding="utf-8")

    tray = start_tray(ollama.url, before=own_rules)
    path = tray.ctx.claude.claude_md
    up_and_listed(tray)
    assert not tray.checked("Claude Code", "Add local-model rule")

    click(tray.icon, "Claude Code", "Add local-model rule")

    tray.wait_menu(lambda: tray.checked("Claude Code", "Add local-model rule"), "the rule item to be checked")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# My rules\n\nBe brief.\n") and claude_md.is_installed(path)
    assert "mcp__ollama__ollama_summarize_files" in text

    click(tray.icon, "Claude Code", "Add local-model rule")

    tray.wait_menu(lambda: not tray.checked("Claude Code", "Add local-model rule"), "the rule item to be unchecked")
    assert path.read_text(encoding="utf-8") == "# My rules\n\nBe brief.\n"


def test_each_kit_piece_is_installed_and_removed_from_the_claude_code_menu_as_the_cli_does(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def own_hooks(ctx: AppContext) -> None:
        settings = ctx.kit().paths.settings
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(USER_SETTINGS, encoding="utf-8")

    tray = start_tray(ollama.url, before=own_hooks)
    kit = tray.ctx.kit()
    up_and_listed(tray)
    for piece, text in KIT_ITEMS:
        assert not tray.checked("Claude Code", text)
        click(tray.icon, "Claude Code", text)
        tray.wait_menu(lambda text=text: tray.checked("Claude Code", text), f"{text} to be checked")
        assert kit.is_installed(Piece(piece))
    assert kit.status() == {p.value: True for p in Piece}
    hooks = json.loads(kit.paths.settings.read_text(encoding="utf-8"))["hooks"]
    assert [g.get("matcher") for g in hooks["PostToolUse"]] == ["Edit", "Bash"]
    for piece, text in KIT_ITEMS:
        click(tray.icon, "Claude Code", text)
        tray.wait_menu(lambda text=text: not tray.checked("Claude Code", text), f"{text} to be unchecked")
        assert not kit.is_installed(Piece(piece))
    assert kit.paths.settings.read_text(encoding="utf-8") == USER_SETTINGS
    assert not kit.paths.skill.exists() and not kit.paths.agent.exists()


def test_the_digest_hook_item_warns_when_claude_code_is_too_old_to_use_it(
    ollama: OllamaEmulator, start_tray: TrayFactory, tmp_path: Path
) -> None:
    claude = tmp_path / "bin" / "claude"  # answers --version as Claude Code 2.1.120 does
    claude.parent.mkdir()
    claude.write_text('#!/bin/sh\necho "2.1.120 (Claude Code)"\n', encoding="utf-8")
    claude.chmod(0o755)
    tray = start_tray(ollama.url, env={"CLAUDE_BIN": str(claude)})
    up_and_listed(tray)
    click(tray.icon, "Claude Code", "Hook: digest very long Bash output")
    message = tray.icon.wait_for_notification(lambda m: "ignores the Bash digest hook" in m)
    assert "2.1.121 or newer" in message
    tray.wait_menu(lambda: tray.checked("Claude Code", "Hook: digest"), "the hook item to be checked (installed)")


def test_a_kit_piece_added_by_the_cli_shows_checked_in_the_menu(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)
    assert not tray.checked("Claude Code", "Add delegation skill")
    tray.ctx.kit().install(Piece.SKILL)
    tray.controller.guard.refresh()
    tray.wait_menu(lambda: tray.checked("Claude Code", "Add delegation skill"), "the skill item to be checked")


def test_changing_the_default_model_updates_the_claude_md_rule_that_names_it(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    path = tray.ctx.claude.claude_md
    up_and_listed(tray)
    click(tray.icon, "Claude Code", "Add local-model rule")
    tray.wait_menu(lambda: tray.checked("Claude Code", "Add local-model rule"), "the rule to be added")

    click(tray.icon, "Models", "qwen3:4b")

    wait_for(lambda: "local model `qwen3:4b`" in path.read_text(encoding="utf-8"), 5, "the rule to name qwen3:4b")


def test_test_connection_shakes_hands_with_the_registered_server_and_reports_the_models(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def registered(ctx: AppContext) -> None:
        ctx.registrar().enable(Target(Scope.USER, "ollama"))

    tray = start_tray(ollama.url, before=registered)
    up_and_listed(tray)
    tray.wait_menu(lambda: tray.checked("Claude Code", "Enabled for all projects"), "the registration to be seen")

    click(tray.icon, "Claude Code", "Test connection")

    tray.wait_menu(lambda: tray.has("Claude Code", "Testing connection…"), "the item to say a test runs")
    assert not find_item(tray.icon, "Claude Code", "Testing connection…").enabled
    message = tray.icon.wait_for_notification(lambda m: "Claude Code can use Ollama" in m or "fail" in m, 30)
    assert message.startswith("Claude Code can use Ollama:"), message
    assert "4 models" in message
    tray.wait_menu(lambda: find_item(tray.icon, "Claude Code", "Test connection").enabled, "the item to be enabled")


def test_a_failing_connection_test_is_reported_with_what_went_wrong(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)
    ollama.stop()
    tray.wait_menu(lambda: tray.has("Ollama is not running"), "the tray to see Ollama down")

    click(tray.icon, "Claude Code", "Test connection")

    message = tray.icon.wait_for_notification(lambda m: m.startswith("Not registered yet"), 30)
    assert "Cannot reach Ollama" in message
    assert "Claude Code can use Ollama" not in message


def test_a_registration_restored_by_the_guard_is_told_in_a_notification(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def registered(ctx: AppContext) -> None:
        ctx.registrar().enable(Target(Scope.USER, "ollama"))

    tray = start_tray(ollama.url, before=registered)
    config = tray.home / ".claude.json"
    tray.wait_menu(lambda: tray.checked("Claude Code", "Enabled for all projects"), "the registration to be seen")
    data = read_json(config)
    del data["mcpServers"]["ollama"]
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")

    message = tray.icon.wait_for_notification(lambda m: "restored" in m)

    assert message == (
        "The Ollama server's registration in Claude Code for all projects was missing; it has been restored."
    )
    assert "ollama" in read_json(config)["mcpServers"]


# ---- what Claude Code asked of Ollama today ----------------------------------------------------------


def test_calls_recorded_by_the_server_today_show_in_the_usage_line(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)
    up_and_listed(tray)
    assert tray.has("Today: no calls from Claude Code yet")
    now = dt.datetime.now().timestamp()

    append_usage(tray.ctx.paths.usage_file, UsageRecord(now, "generate", LOADED, "ok", 1200, 300, 8.0, 7.5))
    append_usage(tray.ctx.paths.usage_file, UsageRecord(now, "chat", LOADED, "OllamaTimeout", 50, 0, 1.0, 0.0))

    tray.wait_menu(lambda: tray.has("Today: 2 calls"), "the usage line to count the calls")
    assert (
        next(t for t in texts(tray.icon) if t.startswith("Today"))
        == "Today: 2 calls from Claude Code · 1.2k tokens in, 300 out · 40 tok/s · 1 failed"
    )


class Clock:
    """A wall clock the test moves."""

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    def __call__(self) -> dt.datetime:
        return self.value


def test_the_usage_line_starts_afresh_at_each_midnight(ollama: OllamaEmulator, start_tray: TrayFactory) -> None:
    clock = Clock(dt.datetime(2026, 3, 1, 23, 59, 30))

    def used_now(ctx: AppContext) -> None:
        record = UsageRecord(clock.value.timestamp(), "generate", LOADED, "ok", 10, 20, 1.0, 0.5)
        append_usage(ctx.paths.usage_file, record)

    tray = start_tray(ollama.url, now=clock, before=used_now)
    for day in (2, 3):
        tray.wait_menu(lambda: tray.has("Today: 1 call from Claude Code"), "the call to count before midnight")
        clock.value = dt.datetime(2026, 3, day, 0, 0, 30)
        tray.wait_menu(lambda: tray.has("Today: no calls from Claude Code yet"), "the count to restart at midnight")
        used_now(tray.ctx)


# ---- Connect to: the other MCP clients ---------------------------------------------------------------


def test_connect_to_a_detected_client_registers_it_and_unchecking_removes_it_keeping_the_rest(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    def cursor_installed(ctx: AppContext) -> None:
        (ctx.home / ".cursor").mkdir()
        (ctx.home / ".cursor" / "mcp.json").write_text('{\n  "mcpServers": {"git": {"command": "x"}}\n}\n')

    tray = start_tray(ollama.url, before=cursor_installed)
    config = tray.home / ".cursor" / "mcp.json"
    original = config.read_bytes()
    tray.wait_menu(lambda: tray.has("Connect to", "Cursor"), "Cursor to be listed")
    assert not tray.has("Connect to", "Windsurf")  # not installed: not offered
    assert not tray.checked("Connect to", "Cursor")

    click(tray.icon, "Connect to", "Cursor")

    tray.wait_menu(lambda: tray.checked("Connect to", "Cursor"), "Cursor to be checked")
    entry = read_json(config)["mcpServers"]["ollama"]
    assert entry["command"] == tray.ctx.launch.command and entry["env"] == {"OLLAMA_URL": ollama.url}
    assert read_json(config)["mcpServers"]["git"] == {"command": "x"}

    click(tray.icon, "Connect to", "Cursor")

    tray.wait_menu(lambda: not tray.checked("Connect to", "Cursor"), "Cursor to be unchecked")
    assert config.read_bytes() == original


def test_the_guard_restores_a_vanished_client_entry_and_claude_desktop_asks_for_a_restart(
    ollama: OllamaEmulator, start_tray: TrayFactory, tmp_path: Path
) -> None:
    from ollama_mcp_tray.tray.clients.claude_desktop import FOLDER_OVERRIDE

    desktop = tmp_path / "Claude"
    desktop.mkdir()
    tray = start_tray(ollama.url, env={FOLDER_OVERRIDE: str(desktop)})
    tray.wait_menu(lambda: tray.has("Connect to", "Claude Desktop"), "Claude Desktop to be listed")

    click(tray.icon, "Connect to", "Claude Desktop")

    message = tray.icon.wait_for_notification(lambda m: "restart" in m)
    assert message == "Ollama is connected to Claude Desktop: restart Claude Desktop to apply it."
    config = desktop / "claude_desktop_config.json"
    config.write_text('{"mcpServers": {}, "theirs": 1}')

    restored = tray.icon.wait_for_notification(lambda m: "was missing" in m)

    assert restored == (
        "The Ollama server's registration in Claude Desktop for its user settings was missing; it has been restored."
    )
    assert read_json(config)["theirs"] == 1 and "ollama" in read_json(config)["mcpServers"]


def test_the_local_server_switch_saves_the_setting_and_says_when_the_environment_decides(
    ollama: OllamaEmulator, start_tray: TrayFactory
) -> None:
    tray = start_tray(ollama.url)  # OLLAMA_MCP_RESIDENT=0 in its environment (make_context)
    tray.wait_menu(lambda: tray.has("Local server: starts with each session"), "the resident's state")
    assert not tray.checked("Local server", "Keep one server running for all sessions")
    click(tray.icon, "Local server", "Keep one server running for all sessions")
    tray.wait_menu(lambda: any("decides here" in n for _t, n in tray.icon.notifications), "the notification")
    assert read_json(tray.ctx.paths.settings_file)["resident"] is True
    assert tray.has("Local server: starts with each session")  # the environment still says off
    assert tray.controller.resident.starts == 0
