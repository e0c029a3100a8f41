"""The kit's one warning: a Claude Code older than DIGEST_MIN_VERSION ignores the Bash digest hook's answer.

The version comes from the `claude` found for the user ($CLAUDE_BIN here): an executable that answers
`--version` as Claude Code does, since which version ignores the answer is established against the real CLIs
(tests/test_claude_kit.py::test_claude_code_before_the_minimum_runs_the_digest_hook_and_ignores_its_answer).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.adoption_kit import Piece
from ollama_mcp_tray.tray.clients.claude_cli import claude_version, parse_version
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.doctor import _kit_check
from ollama_mcp_tray.tray.kit_actions import DIGEST_MIN_VERSION, apply_piece
from ollama_mcp_tray.tray.launch import SERVER_MODULE, ServerLaunch


def claude_answering(root: Path, version: str) -> Path:
    """An executable that answers `--version` with `version` the way Claude Code prints it."""
    path = root / "bin" / "claude"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "{version} (Claude Code)"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def context(root: Path, claude: Path | None) -> AppContext:
    paths = AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")
    env = {"HOME": str(root), "PATH": str(root / "no-bin")}
    if claude is not None:
        env["CLAUDE_BIN"] = str(claude)
    launch = ServerLaunch(sys.executable, ("-I", "-m", SERVER_MODULE))
    return AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), launch, env)


def test_the_minimum_is_the_first_version_that_replaces_a_built_in_tools_output():
    assert DIGEST_MIN_VERSION == (2, 1, 121)
    assert parse_version("2.1.330 (Claude Code)") == (2, 1, 330) and parse_version("") is None


@pytest.mark.parametrize(("version", "warned"), [("2.1.120", True), ("2.1.121", False), ("2.2.0", False)])
def test_installing_the_bash_hook_warns_only_under_an_older_claude_code(tmp_path, version, warned):
    ctx = context(tmp_path, claude_answering(tmp_path, version))
    change = apply_piece(ctx, Piece.BASH_HOOK, True)
    assert change.changed and ctx.kit().is_installed(Piece.BASH_HOOK)  # installed all the same
    if warned:
        assert change.warning is not None
        assert f"Claude Code {version} ignores the Bash digest hook's output" in change.warning
        assert "2.1.121 or newer" in change.warning and "claude update" in change.warning
    else:
        assert change.warning is None
    assert apply_piece(ctx, Piece.PROMPT_HOOK, True).warning is None  # the prompt hook works in any version
    assert apply_piece(ctx, Piece.BASH_HOOK, False).warning is None


def test_without_a_claude_cli_there_is_nothing_to_warn_about(tmp_path):
    ctx = context(tmp_path, None)
    assert apply_piece(ctx, Piece.BASH_HOOK, True).warning is None
    assert claude_version(tmp_path / "missing") is None


def test_doctor_fails_the_kit_check_while_the_hook_is_installed_under_an_older_claude_code(tmp_path):
    ctx = context(tmp_path, claude_answering(tmp_path, "2.1.120"))
    assert _kit_check(ctx).ok  # nothing installed: nothing to warn about
    apply_piece(ctx, Piece.BASH_HOOK, True)
    check = _kit_check(ctx)
    assert not check.ok and "bash-hook" in check.detail and "2.1.121 or newer" in check.detail
    assert check.fix == "Update Claude Code: `claude update`."
    claude_answering(tmp_path, "2.1.330")
    assert _kit_check(ctx).ok


def test_the_kit_command_prints_the_warning_on_stderr_and_still_succeeds(tmp_path, capsys):
    ctx = context(tmp_path, claude_answering(tmp_path, "2.1.120"))
    assert cli.main(["kit", "--bash-hook"], ctx) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("bash-hook installed: ")
    assert "warning: Claude Code 2.1.120 ignores the Bash digest hook's output" in captured.err
    assert cli.main(["kit", "--remove", "--bash-hook"], ctx) == 0
    assert capsys.readouterr().out.startswith("bash-hook removed: ")
