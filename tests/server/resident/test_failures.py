"""A resident that dies or hangs fails only the calls in flight, each with a clear tool error; the session
keeps answering on a fallback server, and the next session finds a working resident again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import anyio
import pytest
from mcp.client import Client

from tests.ollama_emulator import OllamaEmulator
from tests.server.resident.kit import REGISTERED, ResidentKit, handshake_lines

pytestmark = pytest.mark.anyio
SLOW = {"prompt": "a slow answer", "model": "qwen2.5-coder:3b"}


async def _call_while(client: Client, action, delay: float):
    """Start a slow generation, run `action` after `delay`, return the call's result."""
    result = {}

    async def call() -> None:
        result["answer"] = await client.call_tool("ollama_generate", SLOW)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.sleep(delay)
        action()
    return result["answer"]


async def test_a_killed_resident_fails_the_call_in_flight_clearly_and_the_session_keeps_answering(
    kit: ResidentKit, ollama: OllamaEmulator
):
    pid = kit.start_resident()
    ollama.token_delay, ollama.response_tokens = 0.2, 40  # about 8 s
    with anyio.fail_after(90):
        async with Client(kit.params()) as client:
            assert (await client.list_tools()).tools
            answer = await _call_while(client, lambda: os.kill(pid, signal.SIGKILL), 1.0)
            assert answer.is_error
            text = answer.content[0].text
            assert "stopped while this call was running" in text and "retry" in text
            ollama.token_delay, ollama.response_tokens = 0.0, 5
            again = await client.call_tool("ollama_generate", SLOW)  # served by the fallback child
            assert not again.is_error and again.structured_content["output_tokens"] == 5
            assert "ollama_generate" in {t.name for t in (await client.list_tools()).tools}
    # The relay started a new resident for the next sessions.
    status = kit.wait_status(timeout=60)
    assert status.pid != pid


async def test_a_hung_resident_fails_the_call_within_the_hang_bounds_and_the_session_goes_on(
    kit: ResidentKit, ollama: OllamaEmulator
):
    pid = kit.start_resident()
    ollama.token_delay, ollama.response_tokens = 0.2, 100
    params = kit.params(OLLAMA_MCP_RELAY_PING_AFTER_S="1.5", OLLAMA_MCP_RELAY_PING_WAIT_S="1.5")
    with anyio.fail_after(90):
        async with Client(params) as client:
            assert (await client.list_tools()).tools
            started = time.monotonic()
            answer = await _call_while(client, lambda: os.kill(pid, signal.SIGSTOP), 0.5)
            waited = time.monotonic() - started
            assert answer.is_error and "did not answer" in answer.content[0].text
            assert waited < 15, waited  # 1.5 s without a byte, then 1.5 s without a pong (plus start-up)
            ollama.token_delay, ollama.response_tokens = 0.0, 3
            again = await client.call_tool("ollama_generate", SLOW)
            assert not again.is_error
    kit.wait_gone(pid)  # the relay stopped the hung resident so that a new one could take its place


async def test_a_long_call_with_a_quiet_server_is_not_taken_for_a_hang(kit: ResidentKit, ollama: OllamaEmulator):
    """The relay's ping is answered by the SDK while a tool call runs, so only a real hang ends a call."""
    kit.start_resident()
    ollama.token_delay, ollama.response_tokens = 0.25, 16  # 4 s, no progress token asked for: a quiet server
    params = kit.params(OLLAMA_MCP_RELAY_PING_AFTER_S="0.5", OLLAMA_MCP_RELAY_PING_WAIT_S="1.0")
    with anyio.fail_after(60):
        async with Client(params) as client:
            answer = await client.call_tool("ollama_generate", SLOW)
    assert not answer.is_error and answer.structured_content["output_tokens"] == 16


def test_on_the_handshake_era_the_fallback_is_initialized_again_and_the_client_sees_no_second_answer(
    kit: ResidentKit, ollama: OllamaEmulator
):
    """Claude Code opens with `initialize` (the 2025 handshake): after the resident dies, the relay replays
    it to the fallback server, keeps that server's answer from the client, and the session goes on."""
    pid = kit.start_resident()
    ollama.token_delay, ollama.response_tokens = 0.2, 50
    child = subprocess.Popen(
        REGISTERED, env=kit.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=kit.env["HOME"]
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        lines = handshake_lines().splitlines(keepends=True)
        child.stdin.write(lines[0])
        child.stdin.flush()
        assert json.loads(child.stdout.readline())["id"] == 0
        child.stdin.write(lines[1])
        call = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "ollama_generate", "arguments": SLOW},
        }
        child.stdin.write(json.dumps(call).encode() + b"\n")
        child.stdin.flush()
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        failed = json.loads(child.stdout.readline())
        assert failed["id"] == 7 and failed["result"]["isError"] is True and "resultType" not in failed["result"]
        assert "retry" in failed["result"]["content"][0]["text"]
        child.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}).encode() + b"\n")
        child.stdin.flush()
        listed = json.loads(child.stdout.readline())
        assert listed["id"] == 8 and listed["result"]["tools"], listed  # not the replayed initialize's answer
        child.stdin.close()
        assert child.wait(timeout=30) == 0
        assert child.stdout.read() == b""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
