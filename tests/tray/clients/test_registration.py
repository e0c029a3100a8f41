"""Registration: our entry in each scope, its states, foreign entries left alone, repair, and the rest kept."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import Settings
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome, choose_project_key, project_key
from ollama_mcp_tray.tray.clients.registrar import (
    Change,
    Registrar,
    RepairKind,
    Scope,
    State,
    Target,
    build_entry,
    classify,
    entry_env,
    expand_variables,
    is_ours,
)
from ollama_mcp_tray.tray.configfile.errors import ConfigFileRefused, ForeignEntryError
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.tray.configfile.test_claude_config import claude_documents

LAUNCH = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))
USER = Target(Scope.USER, "ollama")


def make_registrar(root: Path, env: dict[str, str] | None = None) -> Registrar:
    paths = AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")
    return Registrar(paths, ClaudeHome(root / ".claude", root / ".claude.json"), LAUNCH, env=env or {})


@pytest.fixture
def registrar(tmp_path: Path) -> Registrar:
    return make_registrar(tmp_path)


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_enable_writes_an_absolute_stdio_entry_into_a_new_private_claude_json(tmp_path, registrar):
    status = registrar.enable(USER)
    assert status.state is State.CURRENT
    assert status.up_to_date
    assert read(tmp_path / ".claude.json") == {
        "mcpServers": {
            "ollama": {
                "type": "stdio",
                "command": sys.executable,
                "args": ["-I", "-m", "ollama_mcp_tray.server"],
                "env": {},
            }
        }
    }
    if os.name == "posix":
        assert (tmp_path / ".claude.json").stat().st_mode & 0o777 == 0o600


def test_enable_twice_leaves_the_file_alone_the_second_time(tmp_path, registrar):
    registrar.enable(USER)
    before = (tmp_path / ".claude.json").stat()
    registrar.enable(USER)
    after = (tmp_path / ".claude.json").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_a_server_under_our_name_that_is_not_ours_is_reported_and_only_replaced_with_force(tmp_path, registrar):
    original = (
        '{\n  "mcpServers": {\n    "ollama": {\n      "command": "npx",\n      "args": ["ollama-mcp"]\n    }\n  }\n}'
    )
    (tmp_path / ".claude.json").write_text(original, encoding="utf-8")
    assert registrar.status(USER).state is State.FOREIGN
    with pytest.raises(ForeignEntryError, match="--force"):
        registrar.enable(USER)
    with pytest.raises(ForeignEntryError):
        registrar.disable(USER)
    assert (tmp_path / ".claude.json").read_text(encoding="utf-8") == original
    assert registrar.enable(USER, force=True).state is State.CURRENT


def test_an_entry_whose_interpreter_was_deleted_is_stale_and_repair_points_it_here(tmp_path, registrar):
    registrar.enable(USER)
    gone_venv = {
        "type": "stdio",
        "command": str(tmp_path / "old-venv" / "bin" / "python"),
        "args": ["-m", "ollama_mcp_tray.server"],
    }
    document = read(tmp_path / ".claude.json")
    document["mcpServers"]["ollama"] = gone_venv
    (tmp_path / ".claude.json").write_text(json.dumps(document), encoding="utf-8")
    assert registrar.status(USER).state is State.STALE
    [outcome] = registrar.repair()
    assert outcome.kind is RepairKind.REPOINTED
    assert outcome.after.state is State.CURRENT
    assert read(tmp_path / ".claude.json")["mcpServers"]["ollama"]["command"] == sys.executable


def test_repair_brings_back_a_vanished_registration_but_not_a_disabled_one(tmp_path, registrar):
    registrar.enable(USER)
    # Claude Code rewrote the file without our entry.
    (tmp_path / ".claude.json").write_text('{"numStartups": 9}', encoding="utf-8")
    [outcome] = registrar.repair()
    assert outcome.kind is RepairKind.RESTORED
    assert read(tmp_path / ".claude.json")["numStartups"] == 9
    registrar.disable(USER)
    assert registrar.repair() == []
    assert registrar.status(USER).state is State.ABSENT


def test_a_changed_ollama_url_makes_the_entry_drift_and_repair_refreshes_it(tmp_path):
    make_registrar(tmp_path).enable(USER)
    moved = make_registrar(tmp_path, env=entry_env(Settings(ollama_url="http://gpu-box:11434")))
    assert not moved.status(USER).up_to_date
    moved.repair()
    assert read(tmp_path / ".claude.json")["mcpServers"]["ollama"]["env"] == {"OLLAMA_URL": "http://gpu-box:11434"}


def test_local_scope_keys_the_project_by_its_real_path_and_git_root(tmp_path, registrar):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "pkg").mkdir()
    link = tmp_path / "link-to-pkg"
    link.symlink_to(repo / "pkg")
    registrar.enable(Target(Scope.LOCAL, "ollama", link))
    projects = read(tmp_path / ".claude.json")["projects"]
    assert list(projects) == [str(repo.resolve())]
    assert registrar.status(Target(Scope.LOCAL, "ollama", repo)).state is State.CURRENT


def test_on_windows_local_keys_use_forward_slashes_and_match_any_case():
    assert choose_project_key(["C:/Users/Ann/Proj", "D:/x"], "c:/users/ann/proj", windows=True) == "C:/Users/Ann/Proj"
    assert choose_project_key(["C:\\Users\\Ann\\Proj\\"], "C:/Users/Ann/Proj", windows=True) == "C:\\Users\\Ann\\Proj\\"
    assert choose_project_key(["/Home/a"], "/home/a", windows=False) == "/home/a"
    assert "\\" not in project_key(Path("C:\\Users\\Ann"), windows=True)


def test_project_scope_writes_mcp_json_with_defaulted_variables_and_never_the_key(tmp_path):
    registrar = make_registrar(tmp_path, env=entry_env(Settings(ollama_url="http://gpu-box:11434")))
    project = tmp_path / "proj"
    project.mkdir()
    registrar.enable(Target(Scope.PROJECT, "ollama", project), approve=True)
    entry = read(project / ".mcp.json")["mcpServers"]["ollama"]
    assert entry["env"] == {"OLLAMA_URL": "${OLLAMA_URL:-http://gpu-box:11434}"}
    assert "KEY" not in json.dumps(entry).upper()
    assert read(project / ".claude" / "settings.local.json") == {"enabledMcpjsonServers": ["ollama"]}


def test_approving_a_project_server_never_marks_the_folder_trusted(tmp_path, registrar):
    project = tmp_path / "proj"
    project.mkdir()
    (tmp_path / ".claude.json").write_text('{"projects": {}}', encoding="utf-8")
    status = registrar.enable(Target(Scope.PROJECT, "ollama", project), approve=True)
    assert status.approved is True
    assert status.trusted is False
    assert "hasTrustDialogAccepted" not in (tmp_path / ".claude.json").read_text(encoding="utf-8")


def test_disabling_a_project_server_withdraws_its_approval_and_keeps_other_approvals(tmp_path, registrar):
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.local.json").write_text(
        '{"enabledMcpjsonServers": ["github"], "permissions": {"allow": []}}', encoding="utf-8"
    )
    target = Target(Scope.PROJECT, "ollama", project)
    registrar.enable(target, approve=True)
    registrar.disable(target)
    assert read(project / ".claude" / "settings.local.json") == {
        "enabledMcpjsonServers": ["github"],
        "permissions": {"allow": []},
    }


def test_claude_config_dir_moves_both_the_file_and_claude_md():
    home = ClaudeHome.from_env({"CLAUDE_CONFIG_DIR": "/srv/claude"}, home=Path("/home/ann"))
    assert home.config_file == Path("/srv/claude/.claude.json")
    assert home.claude_md == Path("/srv/claude/CLAUDE.md")
    default = ClaudeHome.from_env({}, home=Path("/home/ann"))
    assert (default.config_file, default.claude_md) == (
        Path("/home/ann/.claude.json"),
        Path("/home/ann/.claude/CLAUDE.md"),
    )


@pytest.mark.parametrize(
    ("entry", "ours"),
    [
        ({"command": "/old/venv/bin/python", "args": ["-m", "ollama_mcp_tray.server"]}, True),
        ({"command": "/Applications/Ollama MCP Tray.app/Contents/MacOS/ollama-mcp-tray", "args": ["serve"]}, True),
        ({"command": "C:\\Program Files\\Ollama MCP Tray\\ollama-mcp-tray.exe", "args": ["serve"]}, True),
        ({"command": "/home/a/.local/bin/ollama-mcp-server", "args": []}, True),
        ({"command": "npx", "args": ["-y", "ollama-mcp"]}, False),
        ({"command": "/usr/bin/python3", "args": ["-m", "some_other.server"]}, False),
        ({"type": "http", "url": "http://localhost:1234/mcp"}, False),
        ("not an object", False),
    ],
)
def test_ours_means_the_command_starts_our_server(entry, ours):
    assert is_ours(entry, LAUNCH) is ours


def test_classify_tells_all_four_states(tmp_path):
    assert classify(None, LAUNCH) is State.ABSENT
    assert classify(build_entry(LAUNCH, {}, Scope.USER), LAUNCH) is State.CURRENT
    assert (
        classify({"command": str(tmp_path / "nope"), "args": ["-m", "ollama_mcp_tray.server"]}, LAUNCH) is State.STALE
    )
    assert classify({"command": "npx", "args": []}, LAUNCH) is State.FOREIGN


def test_a_claude_json_that_does_not_parse_is_refused_and_stays_byte_identical(tmp_path, registrar):
    broken = b'{"numStartups": 3, "projects": {"/a": {]}}'
    (tmp_path / ".claude.json").write_bytes(broken)
    with pytest.raises(ConfigFileRefused, match=r"line 1, column 40"):
        registrar.enable(USER)
    assert (tmp_path / ".claude.json").read_bytes() == broken


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(document=claude_documents(), scope=st.sampled_from([Scope.USER, Scope.LOCAL]))
def test_enable_then_disable_on_a_real_file_keeps_every_other_key_order_and_value(tmp_path_factory, document, scope):
    root = tmp_path_factory.mktemp("home")
    project = root / "proj"
    project.mkdir()
    registrar = make_registrar(root)
    original = json.dumps(document, indent=2, ensure_ascii=False)
    (root / ".claude.json").write_text(original, encoding="utf-8")
    target = Target(scope, "ollama", project if scope is Scope.LOCAL else None)
    registrar.enable(target)
    once = (root / ".claude.json").read_bytes()
    registrar.enable(target)
    assert (root / ".claude.json").read_bytes() == once
    registrar.disable(target)
    after = read(root / ".claude.json")
    expected = json.loads(original)
    if scope is Scope.USER:
        expected.setdefault("mcpServers", {})
    else:
        expected.setdefault("projects", {}).setdefault(str(project.resolve()), {}).setdefault("mcpServers", {})
    assert json.dumps(after, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


def test_an_entry_another_program_swaps_after_our_enable_is_judged_afresh_by_disable(tmp_path, registrar):
    claude_json = tmp_path / ".claude.json"
    claude_json.write_text(json.dumps({"numStartups": 3, "projects": {"/p": {}}}, indent=2), encoding="utf-8")
    registrar.enable(USER)
    ours = claude_json.read_text(encoding="utf-8")
    # Same length, same positions: only the content tells that the entry is someone else's now.
    foreign = "/" + "f" * (len(sys.executable) - 1)
    swapped = ours.replace(json.dumps(sys.executable), json.dumps(foreign)).replace(
        '"ollama_mcp_tray.server"', '"someone_elses_mcp.serv"'
    )
    assert len(swapped) == len(ours) and swapped != ours
    claude_json.write_text(swapped, encoding="utf-8")
    with pytest.raises(ForeignEntryError):
        registrar.disable(USER)
    assert claude_json.read_text(encoding="utf-8") == swapped
    registrar.disable(USER, force=True)
    assert read(claude_json) == {"numStartups": 3, "projects": {"/p": {}}, "mcpServers": {}}


# ---- issue 8: the isolated launch, the portable project command, what enable created ----------------------
OLD_ENTRY = {"type": "stdio", "command": sys.executable, "args": ["-m", "ollama_mcp_tray.server"], "env": {}}


def test_an_entry_written_before_isolated_mode_is_ours_but_out_of_date_and_repair_upgrades_it(tmp_path, registrar):
    registrar.enable(USER)
    (tmp_path / ".claude.json").write_text(json.dumps({"mcpServers": {"ollama": OLD_ENTRY}}), encoding="utf-8")
    before = registrar.status(USER)
    assert (before.state, before.up_to_date) == (State.CURRENT, False)
    [outcome] = registrar.repair()
    assert outcome.kind is RepairKind.UPDATED
    assert outcome.changes == {Change.LAUNCH}
    assert read(tmp_path / ".claude.json")["mcpServers"]["ollama"]["args"] == ["-I", "-m", "ollama_mcp_tray.server"]
    assert registrar.repair()[0].kind is RepairKind.UNCHANGED


def test_a_project_entry_uses_the_portable_command_while_user_and_local_stay_absolute():
    assert build_entry(LAUNCH, {}, Scope.PROJECT)["command"] == "${OLLAMA_MCP_SERVER:-ollama-mcp-server}"
    assert build_entry(LAUNCH, {}, Scope.PROJECT)["args"] == []
    for scope in (Scope.USER, Scope.LOCAL):
        assert build_entry(LAUNCH, {}, scope)["command"] == sys.executable


def test_variables_expand_as_claude_code_expands_them():
    env = {"SET": "/opt/x", "EMPTY": ""}
    assert expand_variables("${SET:-y}", env) == "/opt/x"
    assert expand_variables("${UNSET:-ollama-mcp-server}", env) == "ollama-mcp-server"
    assert expand_variables("${EMPTY:-y}", env) == ""  # Claude Code 2.1.330: a set variable wins, even empty
    assert expand_variables("${UNSET}", env) == "${UNSET}"


def test_the_portable_command_is_current_where_it_resolves_and_repair_leaves_it_alone_where_not(
    tmp_path, registrar, monkeypatch
):
    project = tmp_path / "proj"
    project.mkdir()
    target = Target(Scope.PROJECT, "ollama", project)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("OLLAMA_MCP_SERVER", raising=False)
    assert registrar.enable(target).state is State.STALE
    text = (project / ".mcp.json").read_bytes()
    [outcome] = registrar.repair()
    assert outcome.kind is RepairKind.UNRESOLVED
    assert (project / ".mcp.json").read_bytes() == text
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ollama-mcp-server").symlink_to(Path(sys.executable).parent / "ollama-mcp-server")
    monkeypatch.setenv("PATH", str(bin_dir))
    status = registrar.status(target)
    assert (status.state, status.up_to_date) == (State.CURRENT, True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("OLLAMA_MCP_SERVER", str(bin_dir / "ollama-mcp-server"))
    assert registrar.status(target).state is State.CURRENT


def test_disable_removes_the_mcp_json_approval_file_and_folder_that_enable_created(tmp_path, registrar):
    project = tmp_path / "proj"
    project.mkdir()
    target = Target(Scope.PROJECT, "ollama", project)
    registrar.enable(target, approve=True)
    assert (project / ".mcp.json").is_file() and (project / ".claude" / "settings.local.json").is_file()
    registrar.disable(target)
    assert list(project.iterdir()) == []


def test_disable_keeps_an_empty_mcp_json_approval_list_and_folder_the_user_had(tmp_path, registrar):
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    (project / ".mcp.json").write_text('{"mcpServers": {}}', encoding="utf-8")
    (project / ".claude" / "settings.local.json").write_text('{"enabledMcpjsonServers": []}', encoding="utf-8")
    target = Target(Scope.PROJECT, "ollama", project)
    registrar.enable(target, approve=True)
    registrar.disable(target)
    assert read(project / ".mcp.json") == {"mcpServers": {}}
    assert read(project / ".claude" / "settings.local.json") == {"enabledMcpjsonServers": []}


def test_disable_drops_the_approval_list_it_added_to_the_users_file_and_keeps_the_file(tmp_path, registrar):
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.local.json").write_text('{"permissions": {"allow": []}}', encoding="utf-8")
    target = Target(Scope.PROJECT, "ollama", project)
    registrar.enable(target, approve=True)
    registrar.disable(target)
    assert read(project / ".claude" / "settings.local.json") == {"permissions": {"allow": []}}
    assert not (project / ".mcp.json").exists()


def test_a_created_mcp_json_the_user_added_to_stays(tmp_path, registrar):
    project = tmp_path / "proj"
    project.mkdir()
    target = Target(Scope.PROJECT, "ollama", project)
    registrar.enable(target, approve=True)
    document = read(project / ".mcp.json")
    document["mcpServers"]["github"] = {"command": "gh-mcp"}
    (project / ".mcp.json").write_text(json.dumps(document), encoding="utf-8")
    (project / ".claude" / "notes.txt").write_text("mine", encoding="utf-8")
    registrar.disable(target)
    assert read(project / ".mcp.json") == {"mcpServers": {"github": {"command": "gh-mcp"}}}
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["notes.txt"]  # the folder stays for it


# ---- issue 11: one parse of Claude Code's file for a status of every scope --------------------------------
def counting_reads(monkeypatch: pytest.MonkeyPatch, file: Path) -> list[Path]:
    """Every read of `file` by the registrar from now on."""
    from ollama_mcp_tray.tray.clients import registrar as registrar_module

    reads: list[Path] = []
    real = registrar_module.read_document

    def counted(path: Path) -> dict | None:
        if path == file:
            reads.append(path)
        return real(path)

    monkeypatch.setattr(registrar_module, "read_document", counted)
    return reads


def test_status_all_reads_claude_codes_file_once_for_every_scope(tmp_path, registrar, monkeypatch):
    project, local = tmp_path / "proj", tmp_path / "local"
    project.mkdir()
    local.mkdir()
    targets = [USER, Target(Scope.LOCAL, "ollama", local), Target(Scope.PROJECT, "ollama", project)]
    for target in targets:
        registrar.enable(target, approve=target.scope is Scope.PROJECT)
    # The project entry names the portable `ollama-mcp-server`; with it off PATH (a venv's bin is on PATH in CI)
    # that entry is ours but stale, so the three scopes do not all read alike.
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-folder"))
    one_by_one = [registrar.status(target) for target in targets]
    reads = counting_reads(monkeypatch, tmp_path / ".claude.json")

    statuses = registrar.status_all("ollama")

    assert len(reads) == 1
    assert statuses == one_by_one
    assert [s.state for s in statuses] == [State.CURRENT, State.CURRENT, State.STALE]
    assert statuses[2].approved is True and statuses[2].trusted is False


def test_the_status_command_reads_claude_codes_file_once(tmp_path, monkeypatch, ollama):
    from ollama_mcp_tray.tray import cli
    from ollama_mcp_tray.tray.app_context import AppContext
    from ollama_mcp_tray.tray.doctor import status_report

    paths = AppPaths(config_dir=tmp_path / "cfg", data_dir=tmp_path / "data", log_dir=tmp_path / "log")
    ctx = AppContext(
        paths, ClaudeHome(tmp_path / ".claude", tmp_path / ".claude.json"), LAUNCH, {"HOME": str(tmp_path)}
    )
    assert cli.main(["config", "set", "ollama_url", ollama.url], ctx) == 0
    ctx = AppContext(paths, ctx.claude, LAUNCH, ctx.env)
    ctx.registrar().enable(USER)
    reads = counting_reads(monkeypatch, tmp_path / ".claude.json")

    report = status_report(ctx, "ollama")

    assert len(reads) == 1
    claude_code = next(c for c in report["clients"] if c["client"] == "claude-code")
    assert claude_code["state"] == "on"
    assert claude_code["registrations"] == report["registrations"]
