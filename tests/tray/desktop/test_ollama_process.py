"""Starting Ollama: found on PATH, started detached as `ollama serve` on the tray's address, logging to a file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ollama_mcp_tray.tray.desktop.ollama_process import find_ollama, start_ollama

FAKE_OLLAMA = """#!/bin/sh
echo "args: $*"
echo "host: $OLLAMA_HOST"
echo "session leader: $(ps -o sid= -p $$ | tr -d ' ') pid $$"
"""


def fake_ollama(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ollama"
    path.write_text(FAKE_OLLAMA, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_ollama_is_found_on_path_as_an_absolute_path(tmp_path: Path) -> None:
    exe = fake_ollama(tmp_path / "bin")
    assert find_ollama({"PATH": str(tmp_path / "bin")}, platform="linux") == str(exe)
    assert find_ollama({"PATH": str(tmp_path / "empty")}, platform="plan9") is None


def test_serve_starts_detached_on_the_tray_address_and_logs_to_a_file(tmp_path: Path) -> None:
    exe = fake_ollama(tmp_path / "bin")
    log = tmp_path / "logs" / "ollama-serve.log"
    proc = start_ollama(str(exe), log, "http://127.0.0.1:23456", env={"PATH": os.environ["PATH"]})
    assert proc.wait(10) == 0
    deadline = time.monotonic() + 5
    while "session leader" not in log.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    text = log.read_text(encoding="utf-8")
    assert "args: serve" in text
    assert "host: 127.0.0.1:23456" in text
    # Its own session: closing the tray (or its terminal) does not stop it.
    sid, pid = text.split("session leader: ")[1].split(" pid ")
    assert sid.strip() == pid.strip()
