"""The default model enabling leaves behind, and the cheap "nothing listens" probe that spares the HTTP stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.tray.default_model import refused
from tests.ollama_emulator import OllamaEmulator


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_plain_http_port_is_refused() -> None:
    assert refused(ServerConfig(base_url=f"http://127.0.0.1:{closed_port()}"))


def test_a_listening_ollama_is_not_refused(ollama: OllamaEmulator) -> None:
    assert not refused(ServerConfig(base_url=ollama.url))


def test_https_is_left_to_the_real_probe_which_knows_the_proxy() -> None:
    # Even with nothing listening: HTTPS_PROXY may be the way there, which a direct connection cannot tell.
    assert not refused(ServerConfig(base_url=f"https://127.0.0.1:{closed_port()}"))


def test_enable_with_ollama_down_never_imports_the_http_stack() -> None:
    code = (
        "import sys\n"
        "from ollama_mcp_tray.tray.__main__ import main\n"
        "rc = main(['enable'])\n"
        "print('httpx2' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env_url = f"http://127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OLLAMA_URL": env_url},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "No default model is set" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_enable_with_ollama_up_chooses_a_default_model(ollama: OllamaEmulator) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray", "enable"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OLLAMA_URL": ollama.url},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Default model: " in done.stdout
