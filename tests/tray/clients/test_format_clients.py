"""The clients whose files are JSON with comments (VS Code, Gemini CLI, Qwen Code, opencode) or TOML (Codex):
their file per OS and override, our entry in each one's own shape, states, foreign entries left alone, and
enable-then-disable leaving every byte (comments, formatting) as it was, on real files in a temporary home."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray.clients.base import Machine
from ollama_mcp_tray.tray.clients.catalog import ClientState, client_named, client_status
from ollama_mcp_tray.tray.clients.codex import PASSED_FROM_PARENT, CodexCli
from ollama_mcp_tray.tray.clients.engine import ClientRegistrar
from ollama_mcp_tray.tray.clients.gemini import GeminiCli, allowed_env
from ollama_mcp_tray.tray.clients.opencode import OpenCode
from ollama_mcp_tray.tray.clients.qwen import QwenCode
from ollama_mcp_tray.tray.clients.records import Scope, State, Target
from ollama_mcp_tray.tray.clients.registrar import RepairKind
from ollama_mcp_tray.tray.clients.vscode import VSCode
from ollama_mcp_tray.tray.configfile.errors import ConfigFileRefused, ForeignEntryError
from ollama_mcp_tray.tray.configfile.jsonc_document import Document as JsoncDocument
from ollama_mcp_tray.tray.configfile.toml_document import Document as TomlDocument
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.tray.configfile import test_jsonc_document as jsonc_docs
from tests.tray.configfile import test_toml_document as toml_docs

tomllib = pytest.importorskip("tomllib")

LAUNCH = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))
JSONC_CLIENTS = ["vscode", "gemini", "qwen", "opencode"]
ALL = [*JSONC_CLIENTS, "codex"]


def paths_in(root: Path) -> AppPaths:
    return AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")


def registrar_for(root: Path, name: str, env: dict[str, str] | None = None) -> ClientRegistrar:
    machine = Machine(root, {"PATH": ""}, "linux")
    return ClientRegistrar(client_named(name), paths_in(root), machine, LAUNCH, env=env or {})


def user(name: str) -> Target:
    return Target(Scope.USER, "ollama", None, name)


def read(name: str, file: Path) -> dict[str, Any]:
    text = file.read_text(encoding="utf-8")
    return tomllib.loads(text) if name == "codex" else JsoncDocument(text).value


def entry_in(name: str, file: Path) -> Any:
    client = client_named(name)
    node: Any = read(name, file)
    for key in (*client.servers_path, "ollama"):
        node = node[key]
    return node


# Where each client keeps its file ------------------------------------------------------------------------------
def test_each_client_reads_its_own_file_per_os_and_override(tmp_path):
    mac = Machine(tmp_path, {}, "darwin")
    win = Machine(tmp_path, {"APPDATA": str(tmp_path / "Roaming")}, "win32")
    linux = Machine(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, "linux")
    code = VSCode()
    assert code.user_file(mac) == tmp_path / "Library" / "Application Support" / "Code" / "User" / "mcp.json"
    assert code.user_file(win) == tmp_path / "Roaming" / "Code" / "User" / "mcp.json"
    assert code.user_file(linux) == tmp_path / "xdg" / "Code" / "User" / "mcp.json"
    assert code.project_file(tmp_path) == tmp_path / ".vscode" / "mcp.json"

    assert GeminiCli().user_file(mac) == tmp_path / ".gemini" / "settings.json"
    assert GeminiCli().user_file(Machine(tmp_path, {"GEMINI_CLI_HOME": "/g"})) == Path("/g/.gemini/settings.json")
    assert GeminiCli().project_file(tmp_path) == tmp_path / ".gemini" / "settings.json"

    assert QwenCode().user_file(win) == tmp_path / ".qwen" / "settings.json"
    assert QwenCode().user_file(Machine(tmp_path, {"QWEN_HOME": "/q"})) == Path("/q/settings.json")
    assert QwenCode().project_file(tmp_path) == tmp_path / ".qwen" / "settings.json"

    assert CodexCli().user_file(mac) == tmp_path / ".codex" / "config.toml"
    assert CodexCli().user_file(Machine(tmp_path, {"CODEX_HOME": "/c"})) == Path("/c/config.toml")
    assert CodexCli().project_file(tmp_path) == tmp_path / ".codex" / "config.toml"

    opencode = OpenCode()
    assert opencode.user_file(linux) == tmp_path / "xdg" / "opencode" / "opencode.json"
    assert opencode.user_file(Machine(tmp_path, {"OPENCODE_CONFIG_DIR": "/o"})) == Path("/o/opencode.json")


def test_opencode_edits_the_jsonc_file_when_there_is_one_since_it_is_read_last(tmp_path):
    folder = tmp_path / ".config" / "opencode"
    folder.mkdir(parents=True)
    machine = Machine(tmp_path, {}, "linux")
    (folder / "opencode.json").write_text("{}")
    assert OpenCode().user_file(machine) == folder / "opencode.json"
    (folder / "opencode.jsonc").write_text("{}")
    assert OpenCode().user_file(machine) == folder / "opencode.jsonc"
    (tmp_path / "p").mkdir()
    assert OpenCode().project_file(tmp_path / "p") == tmp_path / "p" / "opencode.json"


# Our entry, in each client's own shape -------------------------------------------------------------------------
ENV = {"OLLAMA_URL": "http://10.0.0.2:11434"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vscode", {"type": "stdio", "command": sys.executable, "args": list(LAUNCH.args), "env": ENV}),
        ("gemini", {"command": sys.executable, "args": list(LAUNCH.args), "env": ENV, "timeout": 600_000}),
        ("qwen", {"command": sys.executable, "args": list(LAUNCH.args), "env": ENV}),
        (
            "opencode",
            {"type": "local", "command": [sys.executable, *LAUNCH.args], "environment": ENV, "enabled": True},
        ),
        (
            "codex",
            {
                "command": sys.executable,
                "args": list(LAUNCH.args),
                "env": ENV,
                "env_vars": list(PASSED_FROM_PARENT),
                "startup_timeout_sec": 30,
                "enabled": True,
            },
        ),
    ],
)
def test_enable_writes_the_clients_own_entry_shape_privately(tmp_path, name, expected):
    reg = registrar_for(tmp_path, name, env=ENV)
    status = reg.enable(user(name))
    assert status.state is State.CURRENT and status.up_to_date
    file = reg.file_for(user(name))
    assert entry_in(name, file) == expected
    assert file.stat().st_mode & 0o777 == 0o600
    assert reg.status(user(name)).state is State.CURRENT


def test_gemini_and_qwen_entries_never_carry_names_those_clients_refuse():
    env = {"OLLAMA_URL": "u", "PYTHONPATH": "/x", "LD_PRELOAD": "y", "NODE_OPTIONS": "z", "DYLD_X": "w"}
    assert allowed_env(env) == {"OLLAMA_URL": "u"}
    for client in (GeminiCli(), QwenCode()):
        assert client.build_entry(LAUNCH, env, Scope.USER)["env"] == {"OLLAMA_URL": "u"}


def test_codex_passes_the_folders_the_server_finds_its_settings_in_and_never_a_key():
    entry = CodexCli().build_entry(LAUNCH, {}, Scope.USER)
    assert {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "APPDATA"} <= set(entry["env_vars"])
    assert not any("KEY" in name or "TOKEN" in name for name in entry["env_vars"])


@pytest.mark.parametrize("name", ALL)
def test_enable_then_disable_of_a_missing_file_leaves_no_file(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    reg.enable(user(name))
    assert file.exists()
    reg.disable(user(name))
    assert not file.exists()
    assert reg.records() == []


# Users' files, kept byte for byte ------------------------------------------------------------------------------
REAL_FILES = {
    "vscode": (
        '{\n\t// Servers for every workspace\n\t"servers": {\n\t\t"github": {\n\t\t\t"type": "http",\n'
        '\t\t\t"url": "https://example.invalid/mcp/", // hosted\n\t\t},\n\t},\n\t"inputs": [],\n}\n'
    ),
    "gemini": (
        '{\n  // Gemini settings\n  "theme": "GitHub",\n  "mcpServers": {\n    /* docs server */\n'
        '    "docs": { "command": "npx", "args": ["-y", "docs"] }\n  }\n}\n'
    ),
    "qwen": '{\r\n  "model": { "name": "qwen3-coder" } // the default\r\n}\r\n',
    "opencode": (
        '{\n  "$schema": "https://opencode.ai/config.json",\n  // my servers\n  "mcp": {\n'
        '    "fs": {"type": "local", "command": ["npx", "fs"], "enabled": true,},\n  },\n}\n'
    ),
    "codex": (
        '# Codex\nmodel = "gpt-5"  # default\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs"]\n\n'
        '# trusted\n[projects."/home/u/code"]\ntrust_level = "trusted"\n'
    ),
}


@pytest.mark.parametrize("name", ALL)
def test_enable_then_disable_leaves_a_users_commented_file_byte_identical(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    original = REAL_FILES[name].encode("utf-8")
    file.write_bytes(original)
    reg.enable(user(name))
    enabled = file.read_bytes().decode("utf-8")
    assert entry_in(name, file) == reg.desired_entry(user(name))
    if name == "codex":
        assert [line for line in enabled.splitlines() if "#" in line] == [
            line for line in REAL_FILES[name].splitlines() if "#" in line
        ]
    else:
        assert jsonc_docs.tokens(enabled)[0] == jsonc_docs.tokens(REAL_FILES[name])[0]  # every comment, in order
        assert ("\r\n" in enabled) is ("\r\n" in REAL_FILES[name])
    reg.disable(user(name))
    assert file.read_bytes() == original


@pytest.mark.parametrize("name", ALL)
def test_a_foreign_server_under_our_name_is_never_clobbered_without_force(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    original = {
        "codex": b'# mine\n[mcp_servers.ollama]\ncommand = "npx"\nargs = ["ollama-other"]\n',
        "opencode": b'{\n  // mine\n  "mcp": {"ollama": {"type": "local", "command": ["npx", "ollama-other"]}}\n}\n',
        "vscode": b'{\n  // mine\n  "servers": {"ollama": {"type": "stdio", "command": "npx", "args": ["o"]}}\n}\n',
    }.get(name, b'{\n  // mine\n  "mcpServers": {"ollama": {"command": "npx", "args": ["ollama-other"]}}\n}\n')
    file.write_bytes(original)
    assert reg.status(user(name)).state is State.FOREIGN
    with pytest.raises(ForeignEntryError, match="not ours"):
        reg.enable(user(name))
    with pytest.raises(ForeignEntryError, match="--force"):
        reg.disable(user(name))
    assert file.read_bytes() == original
    assert reg.enable(user(name), force=True).state is State.CURRENT
    assert b"// mine" in file.read_bytes() or b"# mine" in file.read_bytes()


@pytest.mark.parametrize("name", ALL)
def test_states_not_installed_off_on_stale_and_foreign(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    client, machine = reg.client, reg.machine
    assert client_status(client, machine, reg, "ollama").state is ClientState.NOT_INSTALLED
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    assert client_status(client, machine, reg, "ollama").state is ClientState.OFF
    reg.enable(user(name))
    assert client_status(client, machine, reg, "ollama").state is ClientState.ON
    gone = str(tmp_path / "gone" / "python")
    text = file.read_text(encoding="utf-8").replace(json.dumps(sys.executable), json.dumps(gone))
    file.write_text(text, encoding="utf-8")
    assert client_status(client, machine, reg, "ollama").state is ClientState.STALE
    [repointed] = reg.repair()
    assert repointed.kind is RepairKind.REPOINTED and entry_in(name, file) == reg.desired_entry(user(name))
    foreign = client.build_entry(ServerLaunch("/usr/bin/node", ("other.js",)), {}, Scope.USER)
    core = TomlDocument if name == "codex" else JsoncDocument
    file.write_text(core(file.read_text()).set(client.servers_path, "ollama", foreign))
    assert client_status(client, machine, reg, "ollama").state is ClientState.FOREIGN
    file.write_text("{ broken" if name != "codex" else "[broken\n")
    broken = client_status(client, machine, reg, "ollama")
    assert broken.problem is not None and str(file) in broken.problem and "line 1" in broken.problem


@pytest.mark.parametrize("name", ALL)
def test_a_file_that_does_not_parse_is_refused_and_left_byte_identical(tmp_path, name):
    reg = registrar_for(tmp_path, name)
    file = reg.file_for(user(name))
    file.parent.mkdir(parents=True)
    broken = b"{'single': 'quotes'}\n" if name != "codex" else b'a = 1\nb = "x" y\n'
    file.write_bytes(broken)
    with pytest.raises(ConfigFileRefused, match=r"line \d+, column \d+"):
        reg.enable(user(name))
    assert file.read_bytes() == broken


@pytest.mark.parametrize("name", ALL)
def test_the_project_scope_writes_the_projects_own_file_shared_readable(tmp_path, name):
    project = tmp_path / "proj"
    project.mkdir()
    reg = registrar_for(tmp_path, name)
    target = Target(Scope.PROJECT, "ollama", project, name)
    reg.enable(target)
    file = reg.file_for(target)
    assert file.is_relative_to(project) and file.stat().st_mode & 0o777 == 0o644
    assert entry_in(name, file) == reg.desired_entry(target)
    reg.disable(target)
    assert not file.exists()


# Any document, per format ---------------------------------------------------------------------------------------
def _round_trip(name: str, original: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        reg = registrar_for(Path(folder), name)
        file = reg.file_for(user(name))
        file.parent.mkdir(parents=True)
        file.write_bytes(original.encode("utf-8"))
        reg.enable(user(name))
        assert entry_in(name, file) == reg.desired_entry(user(name))
        reg.disable(user(name))
        assert file.read_bytes() == original.encode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=jsonc_docs.documents(), name=st.sampled_from(JSONC_CLIENTS))
def test_enable_then_disable_leaves_any_jsonc_document_byte_identical(doc, name):
    text, value = doc
    table = client_named(name).servers_path[0]
    if (table in value and not isinstance(value[table], dict)) or "ollama" in value.get(table, {}):
        return  # a servers key of another type is refused (tested above); our name taken is foreign
    _round_trip(name, text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=toml_docs.documents())
def test_enable_then_disable_leaves_any_toml_document_byte_identical(doc):
    text, _, _ = doc
    if "ollama" in TomlDocument(text).value.get("mcp_servers", {}) or not text.endswith("\n"):
        return
    _round_trip("codex", text)


def test_codex_reads_a_projects_file_only_when_the_user_trusted_the_project_or_its_repository(tmp_path):
    machine = Machine(tmp_path, {}, "linux")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    codex = CodexCli()
    assert not codex.project_trusted(machine, repo)  # no user file at all
    (tmp_path / ".codex").mkdir()
    config = tmp_path / ".codex" / "config.toml"
    config.write_text(f'# mine\n[projects."{repo}"]\ntrust_level = "untrusted"\n')
    assert not codex.project_trusted(machine, repo)
    config.write_text(f'[projects."{repo}"]\ntrust_level = "trusted"\n')
    assert codex.project_trusted(machine, repo)
    assert codex.project_trusted(machine, repo / "sub")  # keyed by its repository
    assert not codex.project_trusted(machine, tmp_path)
    config.write_text("[broken\n")
    assert not codex.project_trusted(machine, repo)


def test_qwen_tells_an_approved_project_server_from_a_pending_one(tmp_path):
    # Hash and layout as a real `qwen mcp approve ollama` (Qwen Code 0.24.4) wrote them for this entry.
    entry = {"command": "/work/wt/fmt/.venv/bin/python", "args": ["-I", "-m", "ollama_mcp_tray.server"], "env": {}}
    real_hash = "2bf81a0c8c766fde3186349c27636df32fdc40d43fb4c5bbba67a6d239a0ab6c"
    from ollama_mcp_tray.tray.clients.qwen import approval_hash

    assert approval_hash(entry) == real_hash
    project = tmp_path / "proj"
    machine = Machine(tmp_path, {}, "linux")
    qwen = QwenCode()
    assert not qwen.project_approved(machine, project, "ollama", entry)
    (tmp_path / ".qwen").mkdir()
    approvals = {str(project): {"ollama": {"hash": real_hash, "status": "approved"}}}
    qwen.approvals_file(machine).write_text("// kept by qwen\n" + json.dumps(approvals))
    assert qwen.project_approved(machine, project, "ollama", entry)
    assert not qwen.project_approved(machine, project, "ollama", {**entry, "env": {"OLLAMA_URL": "x"}})
    assert not qwen.project_approved(machine, project, "other", entry)
    elsewhere = Machine(tmp_path, {"QWEN_CODE_MCP_APPROVALS_PATH": str(tmp_path / "none.json")}, "linux")
    assert not qwen.project_approved(elsewhere, project, "ollama", entry)


def test_status_of_a_codex_project_entry_says_whether_the_project_is_trusted(tmp_path):
    reg = registrar_for(tmp_path, "codex")
    project = tmp_path / "proj"
    project.mkdir()
    target = Target(Scope.PROJECT, "ollama", project, "codex")
    status = reg.enable(target)
    assert (status.trusted, status.approved) == (False, None)  # Codex would not even read the file
    assert reg.status(user("codex")).trusted is None  # the user scope has no such gate
    (tmp_path / ".codex").mkdir(exist_ok=True)
    (tmp_path / ".codex" / "config.toml").write_text(f'[projects."{project}"]\ntrust_level = "trusted"\n')
    status = reg.status(target)
    assert status.state is State.CURRENT and status.trusted is True
    assert status.to_json()["trusted"] is True


def test_status_of_a_qwen_project_entry_says_whether_it_is_approved_as_it_is_now(tmp_path):
    from ollama_mcp_tray.tray.clients.qwen import approval_hash

    reg = registrar_for(tmp_path, "qwen")
    project = tmp_path / "proj"
    project.mkdir()
    target = Target(Scope.PROJECT, "ollama", project, "qwen")
    entry = reg.enable(target).entry
    assert (reg.status(target).approved, reg.status(target).trusted) == (False, None)
    (tmp_path / ".qwen").mkdir(exist_ok=True)
    approvals = {str(project): {"ollama": {"hash": approval_hash(entry), "status": "approved"}}}
    (tmp_path / ".qwen" / "mcpApprovals.json").write_text(json.dumps(approvals))
    assert reg.status(target).to_json()["approved"] is True
    # An entry rewritten since (another Ollama URL) is pending again: the approval was of the old one.
    ClientRegistrar(client_named("qwen"), paths_in(tmp_path), reg.machine, LAUNCH, env={"OLLAMA_URL": "x"}).enable(
        target
    )
    assert reg.status(target).approved is False


def test_the_status_command_says_what_keeps_a_project_entry_from_running(tmp_path, capsys, ollama):
    from ollama_mcp_tray.tray import cli
    from tests.tray.test_cli import context

    project = tmp_path / "proj"
    project.mkdir()
    assert cli.main(["config", "set", "ollama_url", ollama.url], context(tmp_path)) == cli.EXIT_OK
    for client in ("codex", "qwen"):
        argv = ["enable", "--client", client, "--scope", "project", "--project", str(project)]
        assert cli.main(argv, context(tmp_path)) == cli.EXIT_OK
    capsys.readouterr()

    assert cli.main(["status"], context(tmp_path)) == cli.EXIT_OK
    text = capsys.readouterr().out
    codex_line = next(line for line in text.splitlines() if line.strip().startswith("Codex CLI"))
    qwen_line = next(line for line in text.splitlines() if line.strip().startswith("Qwen Code"))
    assert "project not trusted: Codex CLI ignores it until you start `codex` in the project" in codex_line
    assert "pending approval: run `qwen mcp approve ollama` in the project" in qwen_line

    assert cli.main(["status", "--json"], context(tmp_path)) == cli.EXIT_OK
    report = json.loads(capsys.readouterr().out)
    gates = {
        c["client"]: [(r["scope"], r["trusted"], r["approved"]) for r in c["registrations"]]
        for c in report["clients"]
        if c["client"] in ("codex", "qwen")
    }
    assert gates == {
        "codex": [("user", None, None), ("project", False, None)],
        "qwen": [("user", None, None), ("project", None, False)],
    }
