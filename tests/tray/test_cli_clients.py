"""The command line over every client: --client and --scope, status listing each client's state, disable --all
across clients, repair, doctor reading each enabled client's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.clients.catalog import CLIENTS
from ollama_mcp_tray.tray.clients.claude_desktop import FOLDER_OVERRIDE
from tests.tray.test_cli import context


def run(root: Path, *argv: str, env: dict[str, str] | None = None) -> int:
    ctx = context(root)
    ctx.env.update(env or {})
    return cli.main(list(argv), ctx)


def cursor_file(root: Path) -> Path:
    return root / ".cursor" / "mcp.json"


def test_enable_and_disable_a_client_by_name_keep_the_rest_of_its_file(tmp_path, capsys):
    cursor_file(tmp_path).parent.mkdir()
    original = '{\n  "mcpServers": {\n    "theirs": {"command": "npx"}\n  },\n  "other": [1, 2]\n}\n'
    cursor_file(tmp_path).write_text(original)
    assert run(tmp_path, "enable", "--client", "cursor") == cli.EXIT_OK
    assert "Enabled in Cursor: user     ours-current" in capsys.readouterr().out
    assert json.loads(cursor_file(tmp_path).read_text())["mcpServers"]["ollama"]["args"][-1] == "ollama_mcp_tray.server"
    assert not (tmp_path / ".claude.json").exists()  # Claude Code untouched
    assert run(tmp_path, "disable", "--client", "cursor") == cli.EXIT_OK
    assert cursor_file(tmp_path).read_text() == original


def test_scope_must_be_one_the_client_has(tmp_path, capsys):
    assert run(tmp_path, "enable", "--client", "windsurf", "--scope", "project") == cli.EXIT_USAGE
    assert "Windsurf has no project scope; its scopes: user." in capsys.readouterr().err
    assert run(tmp_path, "enable", "--client", "cursor", "--scope", "local") == cli.EXIT_USAGE
    assert run(tmp_path, "enable", "--client", "cursor", "--scope", "project", "--approve") == cli.EXIT_USAGE
    with pytest.raises(SystemExit) as refused:  # argparse's own refusal
        run(tmp_path, "enable", "--client", "notepad")
    assert refused.value.code == cli.EXIT_USAGE


def test_a_client_with_no_config_on_this_machine_is_a_problem_not_a_traceback(tmp_path, capsys):
    assert run(tmp_path, "enable", "--client", "claude-desktop") == cli.EXIT_PROBLEM
    assert "Claude Desktop keeps no MCP configuration here" in capsys.readouterr().err


def test_claude_desktop_says_it_must_be_restarted(tmp_path, capsys):
    env = {FOLDER_OVERRIDE: str(tmp_path / "Claude")}
    assert run(tmp_path, "enable", "--client", "claude-desktop", env=env) == cli.EXIT_OK
    assert "Restart Claude Desktop to apply the change" in capsys.readouterr().out
    assert "ollama" in json.loads((tmp_path / "Claude" / "claude_desktop_config.json").read_text())["mcpServers"]


def test_windsurf_says_to_refresh_its_mcp_panel(tmp_path, capsys):
    assert run(tmp_path, "enable", "--client", "windsurf") == cli.EXIT_OK
    assert "Press refresh in Windsurf's MCP panel (or restart Windsurf)" in capsys.readouterr().out


def test_status_lists_every_client_with_its_state_and_when_it_applies(tmp_path, capsys):
    (tmp_path / ".codeium" / "windsurf").mkdir(parents=True)
    env = {FOLDER_OVERRIDE: str(tmp_path / "Claude")}
    assert run(tmp_path, "enable", "--client", "cursor") == 0
    assert run(tmp_path, "enable", "--client", "claude-desktop", env=env) == 0
    capsys.readouterr()
    run(tmp_path, "status", "--json", env=env)
    report = json.loads(capsys.readouterr().out)
    states = {c["client"]: c["state"] for c in report["clients"]}
    assert states == {"claude-code": "not-installed", "claude-desktop": "on", "cursor": "on", "windsurf": "off"}
    assert [c["client"] for c in report["clients"]] == [c.name for c in CLIENTS]
    desktop = next(c for c in report["clients"] if c["client"] == "claude-desktop")
    assert desktop["restart_needed"] is True and desktop["applies"] == "restart"
    run(tmp_path, "status", env=env)
    text = capsys.readouterr().out
    assert "Cursor          on            user" in text
    assert "(restart Claude Desktop after a change)" in text
    assert "Windsurf        off" in text


def test_disable_all_covers_every_client_and_leaves_a_foreign_entry_alone(tmp_path, capsys):
    project = tmp_path / "proj"
    project.mkdir()
    assert run(tmp_path, "enable") == 0
    assert run(tmp_path, "enable", "--client", "cursor") == 0
    assert run(tmp_path, "enable", "--client", "cursor", "--scope", "project", "--project", str(project)) == 0
    windsurf = tmp_path / ".codeium" / "windsurf" / "mcp_config.json"
    windsurf.parent.mkdir(parents=True)
    windsurf.write_text('{"mcpServers": {"ollama": {"command": "node", "args": ["x.js"]}}}')
    capsys.readouterr()
    assert run(tmp_path, "disable", "--all") == cli.EXIT_PROBLEM
    out = capsys.readouterr().out
    assert out.count("Disabled") == 3
    assert "Left alone in Windsurf (not ours)" in out
    assert not cursor_file(tmp_path).exists() and not (project / ".cursor" / "mcp.json").exists()
    assert json.loads((tmp_path / ".claude.json").read_text())["mcpServers"] == {}
    assert "node" in windsurf.read_text()
    # --client narrows --all to that client's scopes.
    assert run(tmp_path, "enable", "--client", "cursor") == 0
    assert run(tmp_path, "enable") == 0
    assert run(tmp_path, "disable", "--all", "--client", "cursor") == 0
    assert "ollama" in json.loads((tmp_path / ".claude.json").read_text())["mcpServers"]


def test_repair_restores_every_clients_vanished_entry_or_only_the_one_named(tmp_path, capsys):
    assert run(tmp_path, "enable", "--client", "cursor") == 0
    assert run(tmp_path, "enable") == 0
    cursor_file(tmp_path).write_text('{"mcpServers": {}}')
    (tmp_path / ".claude.json").write_text("{}")
    capsys.readouterr()
    assert run(tmp_path, "repair", "--client", "cursor") == 0
    assert "Restored the Cursor registration (user scope): it had vanished." in capsys.readouterr().out
    assert json.loads((tmp_path / ".claude.json").read_text()) == {}
    assert run(tmp_path, "repair") == 0
    out = capsys.readouterr().out
    assert "Restored the Claude Code registration (user scope)" in out
    assert "Up to date (user scope) in Cursor" in out


def test_doctor_checks_that_each_enabled_clients_file_parses(tmp_path, capsys):
    assert run(tmp_path, "enable") == 0
    assert run(tmp_path, "enable", "--client", "cursor") == 0
    cursor_file(tmp_path).write_text('{"mcpServers": {"ollama": ')
    capsys.readouterr()
    assert run(tmp_path, "doctor", "--json") == cli.EXIT_PROBLEM
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["Cursor config parses"]["ok"] is False
    assert str(cursor_file(tmp_path)) in checks["Cursor config parses"]["detail"]
    assert "Windsurf config parses" not in checks  # never enabled, nothing of ours in it
