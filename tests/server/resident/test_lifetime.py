"""The resident's life: it exits after its idle delay with no session, and on SIGTERM, removing its socket and
releasing its lock either way; a second resident for the same folders steps aside."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import anyio
import pytest
from mcp.client import Client

from tests.server.resident.kit import REGISTERED, ResidentKit, alive, lock_pid

pytestmark = pytest.mark.anyio


async def test_with_no_session_for_its_idle_delay_the_resident_exits_and_removes_its_socket(kit: ResidentKit):
    kit.env["OLLAMA_MCP_RESIDENT_IDLE_S"] = "2"
    pid = kit.start_resident()
    with anyio.fail_after(60):
        async with Client(kit.params()) as client:
            assert not (await client.call_tool("ollama_ps", {})).is_error
            await anyio.sleep(3)  # longer than the idle delay, but a session is open: it stays
            assert kit.wait_status(pid=pid).sessions == 1
    kit.wait_gone(pid, timeout=30)
    assert not kit.places.socket.exists()
    assert "no session for 2 s" in kit.log_text()


def test_sigterm_stops_the_resident_and_a_second_one_for_the_same_folders_steps_aside(kit: ResidentKit):
    pid = kit.start_resident()
    second = subprocess.run([*REGISTERED, "--resident"], env=kit.env, capture_output=True, timeout=60, check=False)
    assert second.returncode == 0 and second.stdout == b"" and lock_pid(kit.places) == pid
    os.kill(pid, signal.SIGTERM)
    kit.wait_gone(pid, timeout=30)
    assert not kit.places.socket.exists()
    assert "asked to stop" in kit.log_text()


def test_a_tray_asking_with_keep_holds_the_idle_exit_off_and_plain_status_does_not(kit: ResidentKit):
    from ollama_mcp_tray.server.resident.status import Running, status_for

    kit.env["OLLAMA_MCP_RESIDENT"] = "1"
    kit.env["OLLAMA_MCP_RESIDENT_IDLE_S"] = "2"
    pid = kit.start_resident()
    deadline = time.monotonic() + 5  # well past the idle delay
    while time.monotonic() < deadline:
        assert isinstance(status_for(kit.env, keep=True), Running)
        time.sleep(0.4)
    assert alive(pid)
    assert isinstance(status_for(kit.env), Running)  # asked without keep from now on: it idles out
    kit.wait_gone(pid, timeout=30)
