"""`query_status` / `resident_status` over a real Unix socket: each answer a resident can give, and none hangs."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server._version import __version__
from ollama_mcp_tray.server.resident import status as st
from tests.server.resident.wire_peer import WirePeer, short_socket_dir, status_line

BUILD = f"{__version__}+0123456789ab"


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    folder = short_socket_dir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_no_socket_is_not_running(sock_dir: Path) -> None:
    result = st.query_status(sock_dir / "resident.sock", build=BUILD)
    assert isinstance(result, st.NotRunning)
    assert result.reason == "no socket"
    assert "next session starts it" in result.describe()


def test_a_socket_file_nobody_listens_on_is_not_running(sock_dir: Path) -> None:
    path = sock_dir / "resident.sock"
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(str(path))  # bound, then closed: the file a killed resident leaves behind
    left.close()
    result = st.query_status(path, build=BUILD)
    assert isinstance(result, st.NotRunning), result
    assert "nothing listens" in result.reason


def test_a_resident_of_this_build_reports_pid_sessions_and_uptime(sock_dir: Path) -> None:
    path = sock_dir / "resident.sock"
    with WirePeer(path, lambda hello: status_line(BUILD, sessions=3, uptime_s=7300)) as peer:
        result = st.query_status(path, build=BUILD)
    assert result == st.Running(str(path), 4242, __version__, BUILD, 3, 7300.0)
    assert result.describe() == "running (pid 4242, 3 sessions, up 2 h)"
    hello = peer.hellos[0]
    # The status question carries no environment: a key has no business in it.
    assert hello["hello"] == "ollama-mcp-relay" and hello["op"] == "status" and hello["build"] == BUILD
    assert "env" not in hello or hello["env"] == {}


def test_a_resident_of_another_build_is_other_version(sock_dir: Path) -> None:
    path = sock_dir / "resident.sock"
    old = "0.0.1+aaaaaaaaaaaa"
    with WirePeer(path, lambda hello: status_line(old, sessions=1, retiring=True)):
        result = st.query_status(path, build=BUILD)
    assert isinstance(result, st.OtherVersion)
    assert (result.build, result.ours, result.sessions, result.retiring) == (old, BUILD, 1, True)
    assert st.to_json(result)["state"] == "other-version"


def test_a_resident_that_accepts_nothing_times_out_within_the_bound(sock_dir: Path) -> None:
    path = sock_dir / "resident.sock"
    # Listening but never accepting: the kernel completes the connection, nobody reads (a SIGSTOPped resident).
    with WirePeer(path, lambda hello: None, accept=False):
        began = time.monotonic()
        result = st.query_status(path, build=BUILD, timeout=0.5)
        took = time.monotonic() - began
    assert isinstance(result, st.NotAnswering), result
    assert "no answer within 0.5 s" in result.reason
    assert took < 1.5


def test_a_resident_silent_after_the_hello_times_out(sock_dir: Path) -> None:
    path = sock_dir / "resident.sock"
    with WirePeer(path, lambda hello: None):
        began = time.monotonic()
        result = st.query_status(path, build=BUILD, timeout=0.4)
        took = time.monotonic() - began
    assert isinstance(result, st.NotAnswering)
    assert took < 1.4


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not JSON"),
        (b'{"hello": "someone-else"}\n', "not a resident's hello"),
        (b'{"hello": "ollama-mcp-resident", "version": "1"}\n', "lacks what a status holds"),
        (b'{"accepted": false, "reason": "retiring", "detail": "bye"}\n', "refused the question (retiring: bye)"),
        (b"", "closed the connection"),
    ],
)
def test_a_stranger_or_a_broken_answer_is_not_answering(sock_dir: Path, reply: bytes, says: str) -> None:
    path = sock_dir / "resident.sock"
    with WirePeer(path, lambda hello: reply):
        result = st.query_status(path, build=BUILD)
    assert isinstance(result, st.NotAnswering), result
    assert says in result.reason


def test_windows_is_unsupported_whatever_the_switch(sock_dir: Path) -> None:
    result = st.resident_status(
        {"OLLAMA_MCP_RESIDENT": "1"}, sock_dir / "s.json", sock_dir / "x", build=BUILD, platform="win32"
    )
    assert result == st.Unsupported("not supported on Windows yet")


@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_the_environment_turns_it_off(sock_dir: Path, value: str) -> None:
    result = st.resident_status({"OLLAMA_MCP_RESIDENT": value}, sock_dir / "s.json", sock_dir / "x", build=BUILD)
    assert isinstance(result, st.Off)
    assert "OLLAMA_MCP_RESIDENT" in result.reason


def test_the_setting_turns_it_off_and_the_environment_wins_over_it(sock_dir: Path) -> None:
    settings = sock_dir / "settings.json"
    settings.write_text(json.dumps({"resident": False}), encoding="utf-8")
    off = st.resident_status({}, settings, sock_dir / "x", build=BUILD)
    assert off == st.Off("the setting resident is false")
    on = st.resident_status({"OLLAMA_MCP_RESIDENT": "yes"}, settings, sock_dir / "x", build=BUILD)
    assert isinstance(on, st.NotRunning)


@pytest.mark.parametrize("text", ["", "{not json", "[]", '{"resident": "no"}', '{"resident": null}'])
def test_a_missing_or_odd_settings_file_means_on(sock_dir: Path, text: str) -> None:
    settings = sock_dir / "settings.json"
    settings.write_text(text, encoding="utf-8")
    assert st.off_reason({}, settings) is None
    assert st.off_reason({}, sock_dir / "absent.json") is None


def test_json_form_carries_state_summary_and_fields(sock_dir: Path) -> None:
    value = st.Running("/s", 1, "1.0", "1.0+x", 0, 30.0)
    data = st.to_json(value)
    assert data["state"] == "running" and data["pid"] == 1 and data["summary"].startswith("running (pid 1, 0 sessions")
    json.dumps(data)


def test_examples_in_the_docstrings_hold() -> None:
    import doctest

    assert doctest.testmod(st).failed == 0


def test_it_imports_nothing_but_the_standard_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; before = set(sys.modules); import ollama_mcp_tray.server.resident.status; "
        "print('\\n'.join(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] not in sys.stdlib_module_names)))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=30)
    ours = {"ollama_mcp_tray", "ollama_mcp_tray.server", "ollama_mcp_tray.server._version"}
    loaded = set(out.stdout.split())
    # Besides the standard library: the package roots and the resident's own stdlib modules, nothing else.
    assert {m for m in loaded if m not in ours and not m.startswith("ollama_mcp_tray.server.resident")} == set()
    assert "ollama_mcp_tray.server.resident.status" in loaded
