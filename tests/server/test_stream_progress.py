"""Token progress over real stdio (the registered command, the SDK's client, the emulator over loopback HTTP).

The first token is reported as soon as it arrives; after that, progress is rate-limited, so a long fast answer
sends a handful of notifications, not one per token.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.server.tools import TOKEN_REPORT_S
from tests.ollama_emulator import OllamaEmulator
from tests.server.test_stdio import server_env

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"


def params(tmp_path: Path, ollama: OllamaEmulator) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=server_env(tmp_path, ollama.url)
    )


async def test_the_first_token_is_reported_as_soon_as_it_arrives(tmp_path: Path, ollama: OllamaEmulator) -> None:
    # Tokens 0.15 s apart: the first one arrives well inside the rate limit's 0.2 s after the request starts,
    # where progress used to wait for the limit to pass.
    ollama.token_delay = 0.15
    ollama.response_tokens = 4
    stamps: list[tuple[float, str]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        stamps.append((anyio.current_time(), message or ""))

    with anyio.fail_after(60):
        async with Client(params(tmp_path, ollama)) as client:
            await client.call_tool("ollama_generate", {"model": CODER, "prompt": "warm"})  # model loaded
            stamps.clear()
            result = await client.call_tool(
                "ollama_generate", {"model": CODER, "prompt": "hello there"}, progress_callback=on_progress
            )
    assert not result.is_error
    first_token_sent = ollama.first_lines[-1]
    tokens = [(t, m) for t, m in stamps if "tokens" in m]
    assert tokens, stamps
    arrived, message = tokens[0]
    assert message.endswith(": generating, 1 tokens"), message  # reported before the second token came
    delay = arrived - first_token_sent
    assert 0 <= delay < 0.1, f"first progress {delay * 1000:.1f} ms after the first token"


async def test_a_long_fast_answer_sends_a_bounded_number_of_notifications(
    tmp_path: Path, ollama: OllamaEmulator
) -> None:
    ollama.token_delay = 0.0
    ollama.response_tokens = 20_000
    ollama.record = False
    messages: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    with anyio.fail_after(120):
        async with Client(params(tmp_path, ollama)) as client:
            started = anyio.current_time()
            result = await client.call_tool(
                "ollama_generate",
                {"model": CODER, "prompt": "many words", "num_predict": 20_000},
                progress_callback=on_progress,
            )
            elapsed = anyio.current_time() - started
    assert not result.is_error and result.structured_content["output_tokens"] == 20_000
    tokens = [m for m in messages if "tokens" in m]
    assert tokens and tokens[0].endswith(" 1 tokens"), tokens[:3]
    # One for the first token, then at most one per TOKEN_REPORT_S for as long as the call took.
    assert len(tokens) <= 2 + elapsed / TOKEN_REPORT_S, (len(tokens), elapsed)
    if elapsed > 3 * TOKEN_REPORT_S:
        assert len(tokens) >= 2, "progress goes on after the first token"
    counts = [int(m.rsplit(" ", 2)[-2]) for m in tokens]
    assert counts == sorted(counts) and counts[-1] <= 20_000
