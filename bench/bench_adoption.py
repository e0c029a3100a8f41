"""What our setup adds to every Claude Code session before any tool call, measured inside the real Claude Code.

    python bench/bench_adoption.py [--claude PATH] [--budget 600]

In one temporary HOME, with the Ollama emulator and the scripted Messages API stand-in on loopback: runs
`claude -p hello` before our setup, then `ollama-mcp-tray setup --claude-md --kit` (the CLAUDE.md section,
the skill and the subagent), then `claude -p hello` again, and
compares the first request Claude Code sends in each. Prints the characters and estimated tokens (chars / 4)
of our server's instructions, our tool names in the deferred-tool list, the CLAUDE.md section as it arrives,
and the whole difference between the two requests (which also holds Claude Code's own framing of them).
Exits 1 when the whole difference is over the budget (goal: 600 tokens).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.descriptions import read_model_cache  # noqa: E402
from ollama_mcp_tray.server.settings import load_settings  # noqa: E402
from ollama_mcp_tray.tray.clients.adoption_kit import NAME as KIT_NAME  # noqa: E402
from ollama_mcp_tray.tray.clients.claude_md import section  # noqa: E402
from tests.claude_session.measure import addition, as_claude_code_reads_it  # noqa: E402
from tests.claude_session.messages_api import MessagesStandIn  # noqa: E402
from tests.claude_session.received import ReceivedRequest, estimate_tokens  # noqa: E402
from tests.claude_session.session import ClaudeUser, pinned_claude  # noqa: E402
from tests.claude_session.turns import say  # noqa: E402
from tests.ollama_emulator import OllamaEmulator  # noqa: E402

SERVER = "ollama"


def first_request(user: ClaudeUser) -> ReceivedRequest:
    with MessagesStandIn([say("Hello.")]) as api:
        user.run("hello", api.url)
    conversation = api.conversation()
    if not conversation:
        raise SystemExit("Claude Code sent no request to the stand-in")
    return conversation[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claude", type=Path, default=pinned_claude())
    parser.add_argument("--budget", type=int, default=600, help="tokens (estimated)")
    args = parser.parse_args()
    if args.claude is None or not args.claude.is_file():
        raise SystemExit("Claude Code CLI not found: run tests/setup/20-claude-cli.sh or pass --claude")

    with OllamaEmulator() as ollama, tempfile.TemporaryDirectory() as tmp:
        user = ClaudeUser.create(Path(tmp), args.claude)
        without = first_request(user)
        user.setup(ollama.url, "--claude-md", "--kit")
        with_us = first_request(user)
        data = user.home / ".local" / "share" / "ollama-mcp-tray"
        models = read_model_cache(data / "models.json")
        settings = load_settings(user.home / ".config" / "ollama-mcp-tray" / "settings.json")
        instructions = user.server_instructions(SERVER)
        claude_md = as_claude_code_reads_it(section(SERVER, settings.default_model or None))
        added = addition(without, with_us, server=SERVER, instructions=instructions, claude_md=claude_md)

    version = subprocess.run([str(args.claude), "--version"], capture_output=True, text=True, timeout=60).stdout
    print(f"Claude Code {version.strip()} ({args.claude})")
    print(f"Installed models (emulator): {len(models)}; tokens estimated as characters / 4")
    print(f"{'part':<46} {'chars':>7} {'tokens':>7}")
    for name, chars, tokens in added.rows():
        print(f"{name:<46} {chars:>7} {tokens:>7}")
    listed = [line for line in with_us.all_text().splitlines() if line.startswith(f"- {KIT_NAME}:")]
    for line in listed:  # the skill's and the subagent's one line each (inside "framing" above)
        kind = "subagent" if "(Tools:" in line else "skill"
        print(f"  of which the {kind} listing{'':<{27 - len(kind)}} {len(line):>7} {estimate_tokens(line):>7}")
    verdict = "within" if added.total_tokens <= args.budget else "OVER"
    print(f"budget: {added.total_tokens} of {args.budget} tokens ({verdict})")
    return 0 if added.total_tokens <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
