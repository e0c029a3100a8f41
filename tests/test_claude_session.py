"""Inside the real Claude Code: `claude -p` (pinned 2.1.330, and the newest one when installed) driven by a
scripted model on loopback, with our server set up by our own CLI in a temporary HOME and pointed at the Ollama
emulator.

The assertions are on what Claude Code sent the stand-in and what the emulator received (print mode exits 0
even when a call was refused or a server failed, so its exit code proves nothing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server.descriptions import read_model_cache
from ollama_mcp_tray.server.instructions import server_instructions
from ollama_mcp_tray.server.material_tools import MATERIAL_TOOLS as MATERIAL
from ollama_mcp_tray.tray.clients.adoption_kit import NAME as KIT_NAME
from ollama_mcp_tray.tray.clients.claude_md import section
from tests.claude_session.measure import addition, as_claude_code_reads_it, our_tool_names
from tests.claude_session.messages_api import MessagesStandIn
from tests.claude_session.received import ReceivedRequest
from tests.claude_session.session import ClaudeUser, latest_claude, pinned_claude
from tests.claude_session.turns import Step, ToolUse, Turn, call, say, search_until_loaded
from tests.ollama_emulator import OllamaEmulator

pytestmark = pytest.mark.claude

SERVER = "ollama"
GENERATE = f"mcp__{SERVER}__ollama_generate"
CODER = "qwen2.5-coder:3b"
BUDGET_TOKENS = 600  # everything we add to a session before any call (issue 10)
BASE_TOOLS = ["ollama_generate", "ollama_chat", "ollama_embed", "ollama_list_models", "ollama_show", "ollama_ps"]
MATERIAL_TOOLS = [f"ollama_{t}" for t in MATERIAL]
ALL_TOOLS = BASE_TOOLS + MATERIAL_TOOLS


@pytest.fixture(scope="session", params=["pinned", "latest"])
def claude_bin(request: pytest.FixtureRequest) -> Path:
    """The pinned CLI (required in CI), then the newest one when tests/setup/21-claude-cli-latest.sh got it."""
    if request.param == "latest":
        latest = latest_claude()
        if latest is None:
            pytest.skip("the newest Claude Code is not installed (tests/setup/21-claude-cli-latest.sh)")
        return latest
    found = pinned_claude()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("The Claude Code CLI is not installed; run tests/setup/20-claude-cli.sh")
        pytest.skip("Claude Code CLI not installed (tests/setup/20-claude-cli.sh installs it)")
    return found


@pytest.fixture
def user(tmp_path: Path, claude_bin: Path) -> ClaudeUser:
    return ClaudeUser.create(tmp_path, claude_bin)


@pytest.fixture
def set_up(user: ClaudeUser, ollama: OllamaEmulator) -> Iterator[ClaudeUser]:
    """A user who ran `config set ollama_url` and `setup --claude-md` against the emulator."""
    user.setup(ollama.url, "--claude-md")
    yield user


def expected_instructions(user: ClaudeUser) -> str:
    """The instructions our server sends in this HOME: the cached model names and the default setup picked."""
    data = user.home / ".local" / "share" / "ollama-mcp-tray"
    settings = json.loads((user.home / ".config" / "ollama-mcp-tray" / "settings.json").read_text(encoding="utf-8"))
    return server_instructions(ALL_TOOLS, read_model_cache(data / "models.json"), settings["default_model"])


def test_instructions_and_the_claude_md_section_reach_the_first_request_within_the_budget(user, ollama):
    with MessagesStandIn([say("Hello.")]) as api:
        user.run("hello", api.url)
    [without] = api.conversation()

    user.setup(ollama.url, "--claude-md", "--kit")
    with MessagesStandIn([say("Hello.")]) as api:
        user.run("hello", api.url)
    [first] = api.conversation()
    # The skill and the subagent are listed, one line each, with their descriptions.
    listed = [line for line in first.all_text().splitlines() if line.startswith(f"- {KIT_NAME}:")]
    assert len(listed) == 2, listed
    assert any("Delegate mechanical work on local files" in line for line in listed)
    assert any("All tools except Read, Edit, Write, Bash" in line for line in listed)

    instructions = expected_instructions(user)
    assert user.server_instructions(SERVER) == instructions  # what the registered server sends over stdio
    assert f"Installed models: {CODER} (default), llama3.2:latest, qwen3:4b" in instructions
    assert f"## {SERVER}\n{instructions}" in first.system_messages()
    claude_md = as_claude_code_reads_it(section(SERVER, CODER))
    assert claude_md.startswith("## Local model usage")
    assert claude_md in first.first_user_text()
    assert "ollama-mcp-tray:begin" not in first.first_user_text()  # Claude Code dropped our markers
    assert sorted(our_tool_names(first, SERVER)) == sorted(f"mcp__{SERVER}__{t}" for t in ALL_TOOLS)
    assert not our_tool_names(without, SERVER) and "MCP Server Instructions" not in without.system_messages()
    # Before any call only names are loaded: no schema of ours is in the tools offered.
    assert not [name for name in first.tool_names if name.startswith(f"mcp__{SERVER}__")]

    added = addition(without, first, server=SERVER, instructions=instructions, claude_md=claude_md)
    assert added.total >= added.instructions + added.tool_names + added.claude_md
    assert added.total_tokens <= BUDGET_TOKENS, added.rows()


def generate_then_report(prompt: str) -> list[Step]:
    """Load the generate tool through tool search, call it, then answer with what came back."""

    def report(request: ReceivedRequest) -> Turn:
        results = list(request.tool_results())
        return say(f"The local model said: {results[-1].text}" if results else "No result came back.")

    return [search_until_loaded(GENERATE), call(GENERATE, {"prompt": prompt}, text="Asking the local model."), report]


def the_call(api: MessagesStandIn) -> tuple[ReceivedRequest, ToolUse]:
    """The request the scripted model answered with its one call of the generate tool, and that call."""
    [found] = [(r, u) for r, t in api.answered for u in t.tool_uses if u.name == GENERATE]
    return found


def test_a_scripted_generate_call_reaches_ollama_and_its_result_returns_to_the_model(set_up, ollama):
    prompt = "Summarise: the quick brown fox jumps over the lazy dog"
    with MessagesStandIn(generate_then_report(prompt)) as api:
        # Not waiting for the servers at start: the tool search then waits for ours, as for a user in print mode.
        run = set_up.run(
            "Summarise this with the local model.", api.url, allowed_tools=[GENERATE], wait_for_servers=False
        )
    assert api.errors == [] and api.exhausted == 0
    calling, sent_call = the_call(api)
    reporting = api.conversation()[-1]

    # The tool search loaded our schema: only then is the tool offered in full, and the model called it.
    first = api.conversation()[0]
    assert GENERATE not in first.tool_names
    schema = calling.tool(GENERATE)
    assert schema is not None and "prompt" in schema["input_schema"]["properties"]

    [generated] = [r for r in ollama.requests if r.path == "/api/generate"]
    assert generated.body["prompt"] == prompt
    assert generated.body["model"] == CODER  # the default model setup chose

    result = reporting.tool_result(sent_call.id)
    assert result is not None and not result.is_error
    answer = json.loads(result.text)  # Claude Code hands the model the structured content when there is one
    assert answer["model"] == CODER
    assert answer["response"].startswith("Summarise: the quick brown fox")
    assert answer["response"] in run.stdout  # the scripted model's last turn quoted it back to the user


def test_with_ollama_down_the_session_goes_on_and_the_model_reads_the_clear_error(set_up, ollama):
    ollama.stop()
    with MessagesStandIn(generate_then_report("Summarise: nothing")) as api:
        run = set_up.run("Summarise this with the local model.", api.url, allowed_tools=[GENERATE])
    assert api.errors == [] and api.exhausted == 0
    _, sent_call = the_call(api)
    result = api.conversation()[-1].tool_result(sent_call.id)  # the session carried on past the failed call
    assert result is not None and result.is_error
    assert f"Cannot reach Ollama at {ollama.url}" in result.text
    assert "Traceback" not in result.text
    assert "Cannot reach Ollama" in run.stdout


def test_a_long_bash_output_reaches_the_model_as_claude_codes_own_preview_and_file(user):
    """The baseline a PostToolUse digest hook improves on: without one, Claude Code itself keeps a very long
    Bash output in a file and hands the model a 2 KB preview with the file's path."""
    with MessagesStandIn([call("Bash", {"command": "seq 1 10000", "description": "Count to ten thousand"})]) as api:
        user.run("Count to ten thousand.", api.url, allowed_tools=["Bash"], wait_for_servers=False)
    conversation = api.conversation()
    assert len(conversation) == 2
    [(_, turn)] = api.answered[:1]
    result = conversation[1].tool_result(turn.tool_uses[0].id)
    assert result is not None and not result.is_error
    assert result.text.startswith("<persisted-output>") and len(result.text) < 4000
    saved = Path(result.text.split("Full output saved to: ", 1)[1].split("\n", 1)[0].strip())
    assert saved.is_relative_to(user.home / ".claude")
    assert saved.read_text(encoding="utf-8").splitlines() == [str(n) for n in range(1, 10001)]
