"""The adoption kit inside the real Claude Code (`claude -p`, pinned and newest), driven by the scripted model:
the prompts as slash commands, the skill and the subagent in the request, the hooks run by Claude Code itself,
and the plugin installed from the repository's own marketplace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claude_session.messages_api import MessagesStandIn
from tests.claude_session.session import ClaudeUser
from tests.claude_session.turns import call
from tests.ollama_emulator import OllamaEmulator
from tests.test_claude_session import claude_bin  # noqa: F401 - the fixture: pinned and newest CLI

pytestmark = pytest.mark.claude


@pytest.fixture
def person(tmp_path: Path, claude_bin: Path) -> ClaudeUser:  # noqa: F811 - the imported fixture
    return ClaudeUser.create(tmp_path, claude_bin)


def bash_result(person: ClaudeUser, command: str) -> str:
    """What the model received for one scripted Bash call of `command`."""
    with MessagesStandIn([call("Bash", {"command": command, "description": "Run it"})]) as api:
        person.run("Run it.", api.url, allowed_tools=["Bash"], wait_for_servers=False)
    conversation = api.conversation()
    assert len(conversation) == 2
    [(_, turn)] = api.answered[:1]
    result = conversation[1].tool_result(turn.tool_uses[0].id)
    assert result is not None and not result.is_error
    return result.text


def test_the_bash_hook_replaces_a_10000_line_output_with_the_local_digest_and_the_raw_file_stays(
    person: ClaudeUser, ollama: OllamaEmulator
):
    person.setup(ollama.url, "--hooks")
    text = bash_result(person, "seq 1 10000")
    assert "<persisted-output>" not in text
    assert text.startswith("[Output of 10000 lines") and "digested by the local model" in text
    assert "[digested by qwen2.5-coder:3b]" in text
    saved = Path(text.split("the full output is in ", 1)[1].split(" - read it", 1)[0])
    assert saved.read_text(encoding="utf-8").splitlines() == [str(n) for n in range(1, 10001)]
    [chat] = [r for r in ollama.requests if r.path == "/api/chat"]
    assert chat.body["model"] == "qwen2.5-coder:3b"
    assert "10000: 10000" in chat.body["messages"][1]["content"]  # the tail, numbered, from the whole output
    assert len(text) < 4000


def test_with_ollama_down_the_bash_hook_steps_aside_and_a_short_output_is_left_alone(
    person: ClaudeUser, ollama: OllamaEmulator
):
    person.setup(ollama.url, "--hooks")
    assert bash_result(person, "echo hello") == "hello"
    ollama.stop()
    text = bash_result(person, "seq 1 10000")
    assert text.startswith("<persisted-output>")  # Claude Code's own handling, as without the hook
    assert "digested" not in text
