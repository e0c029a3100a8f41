"""The hook scripts as Claude Code runs them (`python -I -m ...`, the event JSON on stdin)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ollama_mcp_tray.server.hook_prompt import HINT, is_delegable
from tests.ollama_emulator import OllamaEmulator
from tests.server.test_stdio import server_env

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.bench_hooks import DELEGABLE, ORDINARY


def run_hook(module: str, event: dict[str, object], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-m", module], input=json.dumps(event), capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def test_the_prompt_classifier_has_no_false_alarm_on_the_ordinary_set_and_finds_the_delegable_set():
    assert len(ORDINARY) >= 50 and len(DELEGABLE) >= 20
    assert [p for p in ORDINARY if is_delegable(p)] == []
    assert [p for p in DELEGABLE if not is_delegable(p)] == []


def test_the_prompt_hook_answers_a_hint_in_json_and_stays_silent_otherwise(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    said = run_hook("ollama_mcp_tray.server.hook_prompt", {"prompt": "Summarise the files in src/"}, env)
    assert json.loads(said.stdout)["hookSpecificOutput"] == {
        "hookEventName": "UserPromptSubmit",
        "additionalContext": HINT,
    }
    for event in ({"prompt": "What is a monad?"}, {"prompt": "/mcp__ollama__ask_files x"}, {}):
        done = run_hook("ollama_mcp_tray.server.hook_prompt", event, env)
        assert done.returncode == 0 and done.stdout == ""
    broken = subprocess.run(
        [sys.executable, "-I", "-m", "ollama_mcp_tray.server.hook_prompt"], input="{not json", capture_output=True,
        text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert broken.returncode == 0 and broken.stdout == "" and broken.stderr == ""


def test_the_bash_hook_digests_a_long_output_keeps_it_in_a_private_file_and_steps_aside_when_ollama_is_down(
    tmp_path: Path, ollama: OllamaEmulator
):
    env = server_env(tmp_path, ollama.url)
    output = "\n".join(["ok"] * 500 + ["src/app.py:2: error: boom"] + ["ok"] * 500)
    event = {
        "tool_name": "Bash",
        "tool_input": {"command": "make"},
        "tool_response": {"stdout": output, "stderr": "", "interrupted": False, "isImage": False},
    }
    done = run_hook("ollama_mcp_tray.server.hook_bash", event, env)
    updated = json.loads(done.stdout)["hookSpecificOutput"]["updatedToolOutput"]
    assert set(updated) == {"stdout", "stderr", "interrupted", "isImage"} and updated["interrupted"] is False
    saved = Path(updated["stdout"].split("the full output is in ", 1)[1].split(" - read it", 1)[0])
    assert saved.read_text(encoding="utf-8") == output and saved.stat().st_mode & 0o777 == 0o600
    [chat] = [r for r in ollama.requests if r.path == "/api/chat"]
    assert "501: src/app.py:2: error: boom" in chat.body["messages"][1]["content"]

    short = {**event, "tool_response": {"stdout": "fine\n", "stderr": ""}}
    assert run_hook("ollama_mcp_tray.server.hook_bash", short, env).stdout == ""
    ollama.stop()
    down = run_hook("ollama_mcp_tray.server.hook_bash", event, env)
    assert down.returncode == 0 and down.stdout == ""
