"""What repair and `config set ollama_url` say: what changed, in words, from typed outcomes (issue 8, item 16)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.launch import ServerLaunch

LAUNCH = ServerLaunch(sys.executable, ("-I", "-m", "ollama_mcp_tray.server"))


def run(root: Path, *argv: str) -> int:
    paths = AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")
    env = {"HOME": str(root), "PATH": str(root / "no-bin")}
    ctx = AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), LAUNCH, env)
    return cli.main(list(argv), ctx)


def test_config_set_ollama_url_says_which_registration_now_uses_the_new_url(tmp_path, capsys):
    assert run(tmp_path, "enable") == 0
    capsys.readouterr()
    assert run(tmp_path, "config", "set", "ollama_url", "http://gpu-box:11434") == 0
    out = capsys.readouterr().out
    assert "Updated the Claude Code registration (user scope) to use http://gpu-box:11434." in out
    assert "restored" not in out and "was ours" not in out


def test_repair_says_what_it_restored_and_what_was_already_fine(tmp_path, capsys):
    assert run(tmp_path, "enable") == 0
    assert run(tmp_path, "repair") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("Up to date (user scope): user")
    (tmp_path / ".claude.json").write_text('{"numStartups": 2}', encoding="utf-8")
    assert run(tmp_path, "repair") == 0
    assert "Restored the Claude Code registration (user scope): it had vanished." in capsys.readouterr().out


def test_repair_of_an_old_launch_command_says_it_now_starts_isolated(tmp_path, capsys):
    assert run(tmp_path, "enable") == 0
    old = {"type": "stdio", "command": sys.executable, "args": ["-m", "ollama_mcp_tray.server"], "env": {}}
    (tmp_path / ".claude.json").write_text(json.dumps({"mcpServers": {"ollama": old}}), encoding="utf-8")
    capsys.readouterr()
    assert run(tmp_path, "repair") == 0
    out = capsys.readouterr().out
    assert out.strip() == (
        "Updated the Claude Code registration (user scope) to start the server isolated from the project folder."
    )


def test_repair_leaves_a_foreign_server_alone_and_exits_1(tmp_path, capsys):
    assert run(tmp_path, "enable") == 0
    foreign = {"mcpServers": {"ollama": {"command": "npx", "args": ["other-mcp"]}}}
    (tmp_path / ".claude.json").write_text(json.dumps(foreign), encoding="utf-8")
    capsys.readouterr()
    assert run(tmp_path, "repair") == cli.EXIT_PROBLEM
    assert "Left alone (user scope): another MCP server uses the name 'ollama'." in capsys.readouterr().out


def test_repair_makes_an_old_shared_entry_portable_and_says_so(tmp_path, capsys, monkeypatch):
    project = tmp_path / "repo"
    project.mkdir()
    assert run(tmp_path, "enable", "--scope", "project", "--project", str(project)) == 0
    old = {"type": "stdio", "command": sys.executable, "args": ["-m", "ollama_mcp_tray.server"], "env": {}}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"ollama": old}}), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ollama-mcp-server").symlink_to(Path(sys.executable).parent / "ollama-mcp-server")
    monkeypatch.setenv("PATH", str(bin_dir))
    capsys.readouterr()
    assert run(tmp_path, "repair") == 0
    out = capsys.readouterr().out
    assert f"Updated the Claude Code registration (project scope, {project}) to start `ollama-mcp-server`" in out
    assert "not on PATH" not in out
    entry = json.loads((project / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["ollama"]
    assert (entry["command"], entry["args"]) == ("${OLLAMA_MCP_SERVER:-ollama-mcp-server}", [])
    assert sys.executable not in (project / ".mcp.json").read_text(encoding="utf-8")
