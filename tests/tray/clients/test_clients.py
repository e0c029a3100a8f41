"""The clients seam: each JSON client's file per OS and scope, our entry in it, its states, foreign entries left
alone, repair, and enable-then-disable leaving every other byte as it was."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray.clients.base import Applies, Client, Machine
from ollama_mcp_tray.tray.clients.catalog import (
    CLIENT_NAMES,
    CLIENTS,
    ClientState,
    UnknownClient,
    client_named,
    client_status,
)
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.clients.claude_desktop import FOLDER_OVERRIDE, ClaudeDesktop
from ollama_mcp_tray.tray.clients.cursor import Cursor
from ollama_mcp_tray.tray.clients.engine import ClientRegistrar, ClientUnavailable
from ollama_mcp_tray.tray.clients.records import RECORD_NAME, RecordBook, Scope, State, Target
from ollama_mcp_tray.tray.clients.registrar import Registrar, RepairKind
from ollama_mcp_tray.tray.clients.windsurf import Windsurf
from ollama_mcp_tray.tray.configfile.errors import ConfigFileRefused, ForeignEntryError
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.tray.configfile.test_claude_config import json_values, objects, styles

LAUNCH = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))
JSON_CLIENTS = ["claude-desktop", "cursor", "windsurf"]


def paths_in(root: Path) -> AppPaths:
    return AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")


def machine_for(root: Path, name: str) -> Machine:
    """A Linux machine whose home is `root`; Claude Desktop's folder comes from its override there."""
    environ = {"PATH": ""}
    if name == "claude-desktop":
        environ[FOLDER_OVERRIDE] = str(root / "desktop")
    return Machine(root, environ, "linux")


def registrar_for(root: Path, name: str, env: dict[str, str] | None = None) -> ClientRegistrar:
    return ClientRegistrar(client_named(name), paths_in(root), machine_for(root, name), LAUNCH, env=env or {})


def user(name: str) -> Target:
    return Target(Scope.USER, "ollama", None, name)


def test_every_client_has_one_name_and_the_cli_takes_each_in_the_catalogs_order():
    assert len(set(CLIENT_NAMES)) == len(CLIENTS)
    assert [client_named(name) for name in CLIENT_NAMES] == list(CLIENTS)
    assert CLIENT_NAMES[0] == "claude-code"  # the default client comes first
    with pytest.raises(UnknownClient, match="Known clients: claude-code"):
        client_named("notepad")


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_enable_writes_our_stdio_entry_privately_and_says_when_it_applies(tmp_path, name):
    reg = registrar_for(tmp_path, name, env={"OLLAMA_URL": "http://10.0.0.2:11434"})
    status = reg.enable(user(name))
    assert status.state is State.CURRENT and status.up_to_date
    file = reg.file_for(user(name))
    assert json.loads(file.read_text()) == {
        "mcpServers": {
            "ollama": {
                "command": sys.executable,
                "args": list(LAUNCH.args),
                "env": {"OLLAMA_URL": "http://10.0.0.2:11434"},
            }
        }
    }
    assert file.stat().st_mode & 0o777 == 0o600
    assert reg.status(user(name)).state is State.CURRENT


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_enable_then_disable_of_a_missing_file_leaves_no_file(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    reg.enable(user(name))
    assert file.exists()
    reg.disable(user(name))
    assert not file.exists()
    assert reg.records() == []


@pytest.mark.parametrize(("name", "top"), [("cursor", ".cursor"), ("windsurf", ".codeium")])
def test_disable_removes_the_folders_enable_created_for_the_file(tmp_path, name, top):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    reg.enable(user(name))
    assert file.exists() and (tmp_path / top).is_dir()
    if sys.platform != "win32":
        assert all(
            (folder.stat().st_mode & 0o777) == 0o700
            for folder in (file.parent, *file.parent.parents)
            if folder.is_relative_to(tmp_path / top)
        )
    reg.disable(user(name))
    assert not (tmp_path / top).exists()
    assert tmp_path.is_dir()


def test_a_folder_that_was_there_before_stays_even_when_empty(tmp_path):
    (tmp_path / ".codeium").mkdir()  # the user's, or Windsurf's: not ours to take away
    reg = registrar_for(tmp_path, "windsurf")
    reg.enable(user("windsurf"))
    reg.disable(user("windsurf"))
    assert not (tmp_path / ".codeium" / "windsurf").exists()  # this one we made
    assert (tmp_path / ".codeium").is_dir()


def test_a_folder_we_created_stays_once_it_holds_anything_else(tmp_path):
    reg = registrar_for(tmp_path, "windsurf")
    reg.enable(user("windsurf"))
    (tmp_path / ".codeium" / "windsurf" / "installation_id").write_text("theirs")  # Windsurf ran since
    reg.disable(user("windsurf"))
    assert not reg.file_for(user("windsurf")).exists()
    assert (tmp_path / ".codeium" / "windsurf" / "installation_id").read_text() == "theirs"


def test_enabling_again_keeps_the_record_of_the_folders_the_first_enable_made(tmp_path):
    reg = registrar_for(tmp_path, "cursor")
    reg.enable(user("cursor"))
    reg.enable(user("cursor"), force=True)  # nothing to create the second time
    [record] = reg.book.of("cursor")
    assert record.folders == (tmp_path / ".cursor",)
    reg.disable(user("cursor"))
    assert not (tmp_path / ".cursor").exists()


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_a_file_we_created_keeps_what_the_user_added_meanwhile(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    reg.enable(user(name))
    document = json.loads(file.read_text())
    document["mcpServers"]["theirs"] = {"command": "theirs"}
    file.write_text(json.dumps(document))
    reg.disable(user(name))
    assert json.loads(file.read_text()) == {"mcpServers": {"theirs": {"command": "theirs"}}}


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_a_foreign_server_under_our_name_is_never_clobbered_without_force(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True, exist_ok=True)
    original = b'{\n    "mcpServers": {"ollama": {"command": "npx", "args": ["ollama-other"]}},\n    "x": 1\n}\n'
    file.write_bytes(original)
    assert reg.status(user(name)).state is State.FOREIGN
    with pytest.raises(ForeignEntryError, match="not ours"):
        reg.enable(user(name))
    with pytest.raises(ForeignEntryError, match="--force"):
        reg.disable(user(name))
    assert file.read_bytes() == original
    assert reg.enable(user(name), force=True).state is State.CURRENT
    assert json.loads(file.read_text())["x"] == 1


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_states_not_installed_off_on_stale_and_foreign(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    client, machine = reg.client, reg.machine
    summary = client_status(client, machine, reg, "ollama")
    assert summary.state is ClientState.NOT_INSTALLED
    reg.file_for(user(name)).parent.mkdir(parents=True)
    assert client_status(client, machine, reg, "ollama").state is ClientState.OFF
    reg.enable(user(name))
    on = client_status(client, machine, reg, "ollama")
    assert on.state is ClientState.ON and on.enabled
    assert on.to_json()["restart_needed"] is (client.applies is Applies.RESTART)
    file = reg.file_for(user(name))
    stale = json.loads(file.read_text())
    stale["mcpServers"]["ollama"]["command"] = str(tmp_path / "gone" / "python")
    file.write_text(json.dumps(stale))
    assert client_status(client, machine, reg, "ollama").state is ClientState.STALE
    file.write_text('{"mcpServers": {"ollama": {"command": "node", "args": ["other.js"]}}}')
    assert client_status(client, machine, reg, "ollama").state is ClientState.FOREIGN
    file.write_text('{"mcpServers": {"ollama": ')
    broken = client_status(client, machine, reg, "ollama")
    assert broken.problem is not None and str(file) in broken.problem


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_repair_restores_repoints_and_leaves_a_foreign_entry_alone(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    reg.enable(user(name))
    file.write_text('{"other": true}')
    [restored] = reg.repair()
    assert restored.kind is RepairKind.RESTORED and restored.wrote
    assert json.loads(file.read_text())["other"] is True
    document = json.loads(file.read_text())
    document["mcpServers"]["ollama"]["command"] = str(tmp_path / "gone")
    file.write_text(json.dumps(document))
    assert reg.repair()[0].kind is RepairKind.REPOINTED
    assert reg.repair()[0].kind is RepairKind.UNCHANGED
    file.write_text('{"mcpServers": {"ollama": {"command": "node"}}}')
    assert reg.repair()[0].kind is RepairKind.LEFT_ALONE
    assert json.loads(file.read_text()) == {"mcpServers": {"ollama": {"command": "node"}}}


@pytest.mark.parametrize("name", JSON_CLIENTS)
def test_a_file_that_does_not_parse_is_refused_and_left_byte_identical(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    broken = b'{"mcpServers": {}, // a comment is not JSON\n}'
    file.write_bytes(broken)
    with pytest.raises(ConfigFileRefused, match=r"line 1, column 20"):
        reg.enable(user(name))
    assert file.read_bytes() == broken


@st.composite
def client_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Arbitrary config documents, maybe with a table of servers (other servers, never ours)."""
    doc: dict[str, Any] = draw(objects)
    doc.pop("mcpServers", None)
    if draw(st.booleans()):
        doc["mcpServers"] = draw(
            st.dictionaries(st.text(max_size=8).filter(lambda k: k != "ollama"), json_values, max_size=3)
        )
    return doc


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(document=client_documents(), style=styles, name=st.sampled_from(JSON_CLIENTS))
def test_enable_then_disable_leaves_any_document_byte_identical(tmp_path_factory, document, style, name):
    root = tmp_path_factory.mktemp("home")
    reg = registrar_for(root, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    original = style(document).encode("utf-8")
    file.write_bytes(original)
    reg.enable(user(name))
    assert json.loads(file.read_text(encoding="utf-8"))["mcpServers"]["ollama"] == reg.desired_entry(user(name))
    reg.disable(user(name))
    assert file.read_bytes() == original


def test_cursor_has_a_project_scope_and_windsurf_does_not(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    cursor = registrar_for(tmp_path, "cursor")
    target = Target(Scope.PROJECT, "ollama", project, "cursor")
    cursor.enable(target)
    file = project / ".cursor" / "mcp.json"
    assert json.loads(file.read_text())["mcpServers"]["ollama"]["command"] == sys.executable
    assert file.stat().st_mode & 0o777 == 0o644
    assert [s.target for s in cursor.status_all("ollama")] == [user("cursor"), target]
    cursor.disable(target)
    assert not file.exists()
    windsurf = registrar_for(tmp_path, "windsurf")
    with pytest.raises(ClientUnavailable, match="Windsurf keeps no MCP configuration in the project scope"):
        windsurf.enable(Target(Scope.PROJECT, "ollama", project, "windsurf"))


def test_each_client_reads_its_own_file_per_os(tmp_path):
    mac = Machine(tmp_path, {}, "darwin")
    win = Machine(tmp_path, {"APPDATA": str(tmp_path / "Roaming"), "LOCALAPPDATA": str(tmp_path / "Local")}, "win32")
    linux = Machine(tmp_path, {}, "linux")
    desktop: Client = ClaudeDesktop()
    support = tmp_path / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    assert desktop.user_file(mac) == support
    assert desktop.user_file(win) == tmp_path / "Roaming" / "Claude" / "claude_desktop_config.json"
    assert desktop.user_file(linux) is None and not desktop.installed(linux)
    assert Cursor().user_file(win) == tmp_path / ".cursor" / "mcp.json"
    assert Windsurf().user_file(mac) == tmp_path / ".codeium" / "windsurf" / "mcp_config.json"


def test_claude_desktop_from_the_microsoft_store_uses_its_packaged_folder(tmp_path):
    local, roaming = tmp_path / "Local", tmp_path / "Roaming"
    win = Machine(tmp_path, {"APPDATA": str(roaming), "LOCALAPPDATA": str(local)}, "win32")
    packaged = local / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / "Roaming" / "Claude"
    packaged.parent.mkdir(parents=True)
    desktop = ClaudeDesktop()
    assert desktop.user_file(win) == packaged / "claude_desktop_config.json"
    assert desktop.installed(win)
    # A real file outside the package is what the app reads, when there is one.
    (roaming / "Claude").mkdir(parents=True)
    (roaming / "Claude" / "claude_desktop_config.json").write_text("{}")
    assert desktop.user_file(win) == roaming / "Claude" / "claude_desktop_config.json"


def test_newer_store_builds_of_claude_desktop_use_their_own_data_folder(tmp_path):
    local = tmp_path / "Local"
    win = Machine(tmp_path, {"APPDATA": str(tmp_path / "Roaming"), "LOCALAPPDATA": str(local)}, "win32")
    (local / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / "Roaming").mkdir(parents=True)
    data = local / "Claude-Data" / "claude_1"
    data.mkdir(parents=True)
    assert ClaudeDesktop().user_file(win) == data / "claude_desktop_config.json"
    # The one that already holds a config wins.
    packaged = local / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / "Roaming" / "Claude"
    packaged.mkdir()
    (packaged / "claude_desktop_config.json").write_text("{}")
    assert ClaudeDesktop().user_file(win) == packaged / "claude_desktop_config.json"


def test_on_linux_claude_desktop_is_not_installed_and_has_nothing_to_enable(tmp_path):
    reg = ClientRegistrar(ClaudeDesktop(), paths_in(tmp_path), Machine(tmp_path, {}, "linux"), LAUNCH)
    summary = client_status(reg.client, reg.machine, reg, "ollama")
    assert summary.state is ClientState.NOT_INSTALLED and summary.registrations == ()
    with pytest.raises(ClientUnavailable, match="Claude Desktop keeps no MCP configuration here"):
        reg.enable(user("claude-desktop"))


def test_records_name_their_client_and_an_old_record_without_one_is_claude_codes(tmp_path):
    paths = paths_in(tmp_path)
    paths.config_dir.mkdir(parents=True)
    old = {"registrations": [{"scope": "user", "name": "ollama", "project": None, "approve": False, "created": []}]}
    (paths.config_dir / RECORD_NAME).write_text(json.dumps(old))
    claude = Registrar(paths, ClaudeHome(tmp_path / ".claude", tmp_path / ".claude.json"), LAUNCH)
    assert claude.records() == [Target(Scope.USER, "ollama")]
    cursor = registrar_for(tmp_path, "cursor")
    cursor.enable(user("cursor"))
    assert claude.records() == [Target(Scope.USER, "ollama")]
    assert cursor.records() == [user("cursor")]
    # Claude Code's repair restores its own record only; the cursor record survives Claude Code's edits.
    [outcome] = claude.repair()
    assert outcome.kind is RepairKind.RESTORED and outcome.before.target.client == "claude-code"
    claude.disable(Target(Scope.USER, "ollama"))
    book = RecordBook(paths, SafeEditor(paths.backups_dir, paths.data_dir / "locks"))
    assert [r.target for r in book.read()] == [user("cursor")]


class RepairsBetween(SafeEditor):
    """An editor after whose every write to `watched` the tray's guard gets its turn (`between`)."""

    def __init__(self, root: Path) -> None:
        super().__init__(backups_dir=root / "data" / "backups", lock_dir=root / "data" / "locks")
        object.__setattr__(self, "between", [])

    def edit(self, path, edit, **options):  # type: ignore[no-untyped-def]
        outcome = super().edit(path, edit, **options)
        for check in self.between:  # type: ignore[attr-defined]
            check(path)
        return outcome


@pytest.mark.parametrize("name", ["claude-code", "cursor"])
def test_a_guard_repairing_while_disable_runs_does_not_bring_the_entry_back(tmp_path, name):
    editor = RepairsBetween(tmp_path)
    if name == "claude-code":
        reg: Any = Registrar(paths_in(tmp_path), ClaudeHome(tmp_path / ".claude", tmp_path / ".claude.json"), LAUNCH)
        target = Target(Scope.USER, "ollama")
    else:
        reg = registrar_for(tmp_path, name)
        target = user(name)
    reg.editor = editor
    reg.enable(target)
    file = reg.file_for(target)
    repaired: list[Any] = []

    def guard(path: Path) -> None:
        if path == file.resolve() and not repaired:  # right after the entry left the file
            repaired.extend(reg.repair())

    editor.between.append(guard)  # type: ignore[attr-defined]
    reg.disable(target)
    assert repaired == []
    assert reg.status(target).state is State.ABSENT
    assert reg.records() == []
