"""A session through the relay: with a warm resident it is served there; with none it is served at once
in-process and a resident is running afterwards (the cold path)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client

from tests.server.resident.kit import REGISTERED, ResidentKit

pytestmark = pytest.mark.anyio
TAP = Path(__file__).resolve().parents[2] / "stdio_tap.py"


async def test_a_session_is_served_by_the_running_resident_and_stdout_carries_only_json_rpc(kit: ResidentKit, tmp_path):
    pid = kit.start_resident()
    record = tmp_path / "stdout.jsonl"
    params = kit.params([sys.executable, str(TAP), str(record), "--", *REGISTERED])
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"ollama_generate", "ollama_list_models"} <= names
            listed = await client.call_tool("ollama_list_models", {})
            assert not listed.is_error and "qwen2.5-coder:3b" in listed.content[0].text
            during = kit.wait_status(pid=pid)
            assert during.sessions == 1
            answer = await client.call_tool("ollama_generate", {"prompt": "hello there", "model": "qwen2.5-coder:3b"})
            assert not answer.is_error and answer.structured_content["output_tokens"] > 0
    with anyio.fail_after(10):
        while kit.wait_status(pid=pid).sessions:
            await anyio.sleep(0.05)
    assert f"Resident (pid {pid})" in kit.log_text() or "session for relay pid" in kit.log_text()
    lines = record.read_bytes().splitlines()
    assert len(lines) >= 4
    assert all(json.loads(line).get("jsonrpc") == "2.0" for line in lines)


async def test_with_no_resident_the_first_session_is_served_in_process_and_starts_one(kit: ResidentKit):
    assert not kit.places.socket.exists()
    with anyio.fail_after(60):
        async with Client(kit.params()) as client:
            assert "ollama_generate" in {tool.name for tool in (await client.list_tools()).tools}
            assert not (await client.call_tool("ollama_ps", {})).is_error
    # The session was not the resident's: the in-process server logged why it served it itself.
    assert "Starting ollama-mcp-server" in kit.log_text() and "(no resident" in kit.log_text()
    status = kit.wait_status(timeout=60)
    assert status.sessions == 0 and status.pid > 0 and not status.retiring
