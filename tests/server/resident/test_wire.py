"""The lines the relay and the resident exchange before MCP starts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ollama_mcp_tray.server import __version__
from ollama_mcp_tray.server.resident.spawn import self_command
from ollama_mcp_tray.server.resident.wire import (
    RelayHello,
    SessionReply,
    StatusReply,
    WireError,
    build_fingerprint,
    travelling_env,
    version_tuple,
)

SERVER = Path(__file__).resolve().parents[3] / "server"


def test_only_the_ollama_variables_and_path_travel():
    env = {"OLLAMA_KEY": "k", "OLLAMA_MCP_ALLOW_MANAGEMENT": "1", "PATH": "/bin", "HOME": "/h", "AWS_SECRET": "x"}
    assert travelling_env(env) == {"OLLAMA_KEY": "k", "OLLAMA_MCP_ALLOW_MANAGEMENT": "1", "PATH": "/bin"}


def test_a_hello_reads_back_as_it_was_written_and_never_shows_the_environment():
    hello = RelayHello("session", "1.2.3", "1.2.3+abc", 42, {"OLLAMA_KEY": "s3cret"})
    assert RelayHello.decode(hello.encode()) == hello
    assert "s3cret" not in repr(hello)
    refusal = SessionReply("1.2.3", "b", 7, accepted=False, reason="version", detail="newer")
    assert SessionReply.decode(refusal.encode()) == refusal
    status = StatusReply("1.2.3", "b", 7, sessions=2, started=1.5, uptime_s=3.0, retiring=False)
    assert StatusReply.decode(status.encode()) == status


@pytest.mark.parametrize(
    "line",
    [b"not json\n", b'{"hello":"someone-else"}\n', b'{"hello":"ollama-mcp-relay","op":"shell"}\n',
     b'{"hello":"ollama-mcp-relay","op":"session","version":"1","build":"b","pid":1,"env":{"A":1}}\n'],
)  # fmt: skip
def test_a_line_that_is_not_a_relays_hello_is_refused(line):
    with pytest.raises(WireError):
        RelayHello.decode(line)


def test_versions_compare_as_numbers():
    assert version_tuple("0.10.0") > version_tuple("0.9.9")
    assert version_tuple("1.0.0rc1") == (1, 0, 0) and version_tuple("2+local") == (2,)


def test_the_build_changes_when_a_source_file_of_the_package_changes(tmp_path):
    copy = tmp_path / "server"
    shutil.copytree(SERVER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = build_fingerprint(str(copy))
    assert before.startswith(f"{__version__}+") and len(before.split("+")[1]) == 12
    assert build_fingerprint(str(copy)) == before
    target = copy / "resident" / "relay.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    build_fingerprint.cache_clear()
    assert build_fingerprint(str(copy)) != before


def test_children_are_started_the_way_this_server_was():
    python = os.path.abspath("/usr/bin/python3")
    isolated = self_command([python, "-I", "-m", "ollama_mcp_tray.server"], ["/x/__main__.py"], python, False)
    assert isolated == [python, "-I", "-m", "ollama_mcp_tray.server"]
    script = self_command([python, "/home/u/.local/bin/ollama-mcp-server"], ["/home/u/.local/bin/ollama-mcp-server"],
                          python, False)  # fmt: skip
    assert script == [python, "/home/u/.local/bin/ollama-mcp-server"]
    assert self_command(["/opt/app/ollama-mcp-tray", "serve"], ["/opt/app/ollama-mcp-tray", "serve"],
                        "/opt/app/ollama-mcp-tray", True) == ["/opt/app/ollama-mcp-tray", "serve"]  # fmt: skip
    with_args = self_command([python, "-I", "-m", "m", "--direct"], ["/x/__main__.py", "--direct"], python, False)
    assert with_args == [python, "-I", "-m", "m"]
