"""The adoption kit inside the real Claude Code (`claude -p`, pinned and newest), driven by the scripted model:
the prompts as slash commands, the skill and the subagent in the request, the hooks run by Claude Code itself,
and the plugin installed from the repository's own marketplace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ollama_mcp_tray.server.hook_prompt import HINT
from ollama_mcp_tray.server.prompts import PROMPTS
from ollama_mcp_tray.tray.clients.adoption_kit import MARK, NAME, agent_text, skill_text
from ollama_mcp_tray.tray.clients.claude_cli import claude_version
from ollama_mcp_tray.tray.kit_actions import DIGEST_MIN_VERSION
from tests.claude_session.messages_api import MessagesStandIn
from tests.claude_session.received import ReceivedRequest
from tests.claude_session.session import REPO, ClaudeUser
from tests.claude_session.turns import Turn, call, say, search_until_loaded
from tests.ollama_emulator import OllamaEmulator
from tests.test_claude_session import claude_bin  # noqa: F401 - the fixture: pinned and newest CLI

pytestmark = pytest.mark.claude


@pytest.fixture
def person(tmp_path: Path, claude_bin: Path) -> ClaudeUser:  # noqa: F811 - the imported fixture
    return ClaudeUser.create(tmp_path, claude_bin)


def bash_result(person: ClaudeUser, command: str, path: str | None = None) -> str:
    """What the model received for one scripted Bash call of `command`."""
    with MessagesStandIn([call("Bash", {"command": command, "description": "Run it"})]) as api:
        person.run("Run it.", api.url, allowed_tools=["Bash"], wait_for_servers=False, path=path)
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


def claude_before_digest() -> Path | None:
    """Claude Code 2.1.120 (tests/setup/22-claude-cli-before-digest.sh), or $CLAUDE_BEFORE_DIGEST_BIN."""
    explicit = os.environ.get("CLAUDE_BEFORE_DIGEST_BIN", "").strip()
    found = Path(explicit) if explicit else Path(tempfile.gettempdir()) / "claude-code-2.1.120/node_modules/.bin/claude"
    return found if found.is_file() else None


def test_claude_code_before_the_minimum_runs_the_digest_hook_and_ignores_its_answer(tmp_path, ollama):
    """Why the kit warns below DIGEST_MIN_VERSION: 2.1.120 runs our hook (the digest is asked of Ollama) but
    hands the model its own preview, as without the hook; from 2.1.121 (the pinned and newest CLIs, in the
    test above) the model gets the digest."""
    old = claude_before_digest()
    if old is None:
        pytest.skip("Claude Code 2.1.120 is not installed (tests/setup/22-claude-cli-before-digest.sh)")
    version = claude_version(old)
    assert version is not None and version < DIGEST_MIN_VERSION
    person = ClaudeUser.create(tmp_path, old)
    person.tray("config", "set", "ollama_url", ollama.url)
    done = person.tray("setup", "--hooks")
    assert "ignores the Bash digest hook's output: it needs 2.1.121 or newer" in done.stderr
    text = bash_result(person, "seq 1 10000")
    assert text.startswith("<persisted-output>") and "digested" not in text
    assert [r.body["model"] for r in ollama.requests if r.path == "/api/chat"] == ["qwen2.5-coder:3b"]


def test_no_warning_under_the_pinned_and_newest_claude_code(person: ClaudeUser, ollama: OllamaEmulator):
    version = claude_version(person.claude)
    assert version is not None and version >= DIGEST_MIN_VERSION
    person.tray("config", "set", "ollama_url", ollama.url)
    assert "warning" not in person.tray("setup", "--hooks").stderr


SUMMARIZE = "mcp__ollama__ollama_summarize_files"


def init_event(stdout: str) -> dict[str, Any]:
    """The `system/init` event of `--output-format stream-json`: what Claude Code loaded for the session."""
    for line in stdout.splitlines():
        event = json.loads(line)
        if event.get("type") == "system" and event.get("subtype") == "init":
            return dict(event)
    raise AssertionError(f"no init event in {stdout[:500]}")


def test_the_prompts_are_slash_commands_and_the_skill_and_subagent_are_loaded(person, ollama):
    person.setup(ollama.url, "--kit")
    with MessagesStandIn([say("Hi.")]) as api:
        run = person.run("hello", api.url, extra_args=["--output-format", "stream-json", "--verbose"])
    init = init_event(run.stdout)
    assert {"name": "ollama", "status": "connected", "source": "user"} in init["mcp_servers"]
    prompts = {f"mcp__ollama__{p}" for p in PROMPTS}
    assert prompts <= set(init["slash_commands"]) and len(prompts) >= 4
    assert NAME in init["skills"] and NAME in init["agents"]


def test_a_slash_command_runs_and_its_material_tool_reads_the_files_here_and_answers_the_model(person, ollama):
    person.setup(ollama.url)
    (person.project / "notes.md").write_text("# Notes\nThe launch is on Friday.\n", encoding="utf-8")

    def report(request: ReceivedRequest) -> Turn:
        results = list(request.tool_results())
        return say("Result: " + (results[-1].text if results else "none"))

    script = [search_until_loaded(SUMMARIZE), call(SUMMARIZE, {"paths": ["."]}), report]
    with MessagesStandIn(script) as api:
        run = person.run("/mcp__ollama__summarise_folder .", api.url, allowed_tools=[SUMMARIZE])
    assert api.errors == [] and api.exhausted == 0
    first = api.conversation()[0]
    asked = first.message_texts("user")[-1]
    assert "<command-name>/mcp__ollama__summarise_folder</command-name>" in asked
    assert 'Call the `ollama_summarize_files` tool with these arguments: {"paths": ["."]}' in asked
    [chat] = [r for r in ollama.requests if r.path == "/api/chat"]
    assert "The launch is on Friday." in json.dumps(chat.body)  # the server read the file, not Claude
    [(_, turn)] = [(r, t) for r, t in api.answered if any(u.name == SUMMARIZE for u in t.tool_uses)]
    result = api.conversation()[-1].tool_result(turn.tool_uses[0].id)
    assert result is not None and not result.is_error
    answer = json.loads(result.text)
    assert answer["read"] == [{"path": "notes.md", "bytes": 33}] and answer["material_went_to"] == "this machine"
    assert "notes.md" in run.stdout


def test_the_prompt_hook_hints_on_delegable_work_only(person, ollama):
    person.setup(ollama.url, "--hooks")
    with MessagesStandIn([say("Fine.")]) as api:
        person.run("Summarise the files in src/ for me", api.url)
    assert HINT in api.conversation()[0].all_text()
    with MessagesStandIn([say("Fine.")]) as api:
        person.run("What is a monad?", api.url)
    assert HINT not in api.conversation()[0].all_text()


WITH_OUR_SCRIPTS = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # where an install puts our console scripts


def install_plugin(person: ClaudeUser, ollama: OllamaEmulator) -> Callable[..., str]:
    """Point our settings at the emulator, then `claude plugin marketplace add <repo>` and `claude plugin
    install`, offline; returns a runner of further `claude` commands in that environment."""
    person.tray("config", "set", "ollama_url", ollama.url)
    env = {**person.claude_env("http://127.0.0.1:9"), "PATH": WITH_OUR_SCRIPTS}

    def claude(*args: str) -> str:
        done = subprocess.run(
            [str(person.claude), *args], cwd=person.project, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    claude("plugin", "marketplace", "add", str(REPO))
    claude("plugin", "install", "ollama-local@ollama-mcp-tray")
    return claude


def test_the_plugin_installs_offline_from_the_repositorys_marketplace_and_its_server_connects(person, ollama):
    """The second install path: `claude plugin marketplace add <repo>`, `claude plugin install`, then
    `claude mcp list` shows plugin:ollama-local:ollama Connected. The plugin starts `ollama-mcp-server` from
    PATH, as an install of the package puts it there (here: this venv's scripts folder)."""
    claude = install_plugin(person, ollama)
    listed = claude("mcp", "list")
    assert "plugin:ollama-local:ollama" in listed and "Connected" in listed.split("plugin:ollama-local:ollama", 1)[1]


def test_the_plugins_hooks_hint_on_a_delegable_prompt_and_digest_a_long_bash_output(person, ollama):
    """The plugin's own hooks.json (`ollama-mcp-hook prompt|bash` from PATH), run by Claude Code itself: nothing
    of ours is in settings.json, so what fires comes from the installed plugin."""
    install_plugin(person, ollama)
    person.tray("config", "set", "default_model", "qwen2.5-coder:3b")
    settings = json.loads((person.home / ".claude" / "settings.json").read_text(encoding="utf-8"))
    assert "hooks" not in settings and settings["enabledPlugins"] == {"ollama-local@ollama-mcp-tray": True}

    with MessagesStandIn([say("Fine.")]) as api:
        person.run("Summarise the files in src/ for me", api.url, path=WITH_OUR_SCRIPTS)
    assert HINT in api.conversation()[0].all_text()
    with MessagesStandIn([say("Fine.")]) as api:
        person.run("What is a monad?", api.url, path=WITH_OUR_SCRIPTS)
    assert HINT not in api.conversation()[0].all_text()

    text = bash_result(person, "seq 1 10000", path=WITH_OUR_SCRIPTS)
    assert "<persisted-output>" not in text and "digested by the local model" in text
    assert "[digested by qwen2.5-coder:3b]" in text
    saved = Path(text.split("the full output is in ", 1)[1].split(" - read it", 1)[0])
    assert saved.read_text(encoding="utf-8").splitlines() == [str(n) for n in range(1, 10001)]
    assert [r.body["model"] for r in ollama.requests if r.path == "/api/chat"] == ["qwen2.5-coder:3b"]


def test_the_plugins_skill_and_subagent_are_the_kits_and_its_manifest_keeps_the_key_sensitive():
    plugin = REPO / "plugin"
    assert (plugin / "skills" / NAME / "SKILL.md").read_text(encoding="utf-8") == skill_text("ollama").replace(
        MARK + "\n", ""
    )
    assert (plugin / "agents" / f"{NAME}.md").read_text(encoding="utf-8") == agent_text("ollama").replace(
        MARK + "\n", ""
    )
    manifest = json.loads((plugin / ".claude-plugin" / "plugin.json").read_text(encoding="utf-8"))
    assert manifest["userConfig"]["ollama_key"]["sensitive"] is True
    assert manifest["mcpServers"]["ollama"]["env"]["OLLAMA_KEY"] == "${user_config.ollama_key}"
    hooks = json.loads((plugin / "hooks" / "hooks.json").read_text(encoding="utf-8"))["hooks"]
    assert hooks["PostToolUse"][0]["matcher"] == "Bash"
    market = json.loads((REPO / ".claude-plugin" / "marketplace.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in market["plugins"]] == [manifest["name"]]
