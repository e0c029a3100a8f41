"""The hook commands the kit writes, run as Claude Code runs them: a shell command line, the hook's JSON on
stdin. Each form (source, console script, the frozen app's `_hook` argument) must answer the same way."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.server.hook_prompt import HINT
from ollama_mcp_tray.tray.launch import HOOK_ARGUMENT, SERVER_MODULE, ServerLaunch, hook_command

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "packaging" / "pyinstaller" / "entry.py"
DELEGABLE = {"hook_event_name": "UserPromptSubmit", "prompt": "Summarise the files in src/ for me"}
ORDINARY = {"hook_event_name": "UserPromptSubmit", "prompt": "What is a monad?"}


def run_as_claude_code(command: list[str], event: dict[str, object], tmp_path: Path) -> str:
    """Run `command` the way Claude Code runs a hook: through the shell, in a project folder, JSON on stdin."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "json.py").write_text("raise SystemExit('the project folder was imported')\n", encoding="utf-8")
    done = subprocess.run(
        ["/bin/sh", "-c", shlex.join(command)],
        input=json.dumps(event),
        cwd=project,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def frozen_stand_in(tmp_path: Path) -> Path:
    """An executable that is what the frozen binary is to the hook: the frozen entry script, run by this Python
    (the real binary is tested in tests/packaging/test_frozen_build.py)."""
    binary = tmp_path / "Ollama MCP Tray" / "ollama-mcp-tray"
    binary.parent.mkdir()
    binary.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(ENTRY))} "$@"\n', encoding="utf-8"
    )
    binary.chmod(0o755)
    return binary


def forms(tmp_path: Path) -> dict[str, ServerLaunch]:
    scripts = Path(sys.executable).parent
    return {
        "source": ServerLaunch(sys.executable, ("-I", "-m", SERVER_MODULE)),
        "console-script": ServerLaunch(str(scripts / "ollama-mcp-server"), ()),
        "frozen": ServerLaunch(str(frozen_stand_in(tmp_path)), ("serve",)),
    }


@pytest.mark.parametrize("form", ["source", "console-script", "frozen"])
def test_each_form_of_the_prompt_hook_hints_on_delegable_work_and_stays_quiet_otherwise(tmp_path, form):
    command = hook_command(forms(tmp_path)[form], "prompt")
    said = json.loads(run_as_claude_code(command, DELEGABLE, tmp_path))
    assert said == {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": HINT}}
    assert run_as_claude_code(command, ORDINARY, tmp_path) == ""


@pytest.mark.parametrize("form", ["source", "console-script", "frozen"])
def test_each_form_of_the_bash_hook_lets_a_short_output_through(tmp_path, form):
    command = hook_command(forms(tmp_path)[form], "bash")
    event = {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "echo hi"}}
    assert run_as_claude_code(command, {**event, "tool_response": {"stdout": "hi", "stderr": ""}}, tmp_path) == ""


def test_the_frozen_form_uses_the_hidden_argument_the_entry_script_dispatches():
    assert hook_command(ServerLaunch("/app/ollama-mcp-tray", ("serve",)), "bash") == [
        "/app/ollama-mcp-tray",
        "_hook",
        "bash",
    ]
    # The entry script spells the argument out (so a hook imports nothing of the tray); it must stay the same.
    assert f'args[:1] == ["{HOOK_ARGUMENT}"]' in ENTRY.read_text(encoding="utf-8")


def test_the_tray_module_takes_the_hidden_argument_too(tmp_path):
    command = [sys.executable, "-I", "-m", "ollama_mcp_tray.tray", HOOK_ARGUMENT, "prompt"]
    assert HINT in run_as_claude_code(command, DELEGABLE, tmp_path)
