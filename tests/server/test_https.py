"""A remote Ollama behind a TLS-terminating proxy with a private CA: the server trusts what SSL_CERT_FILE names."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.ollama_emulator import OllamaEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make a test certificate (Debian: apt install openssl)")
    cert, key = tmp_path / "proxy.pem", tmp_path / "proxy.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_ollama(certificate) -> Iterator[OllamaEmulator]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with OllamaEmulator(tls=context) as emulator:
        emulator.faults.update(require_key="proxy-key")
        yield emulator


def params(tmp_path: Path, url: str, extra: dict[str, str]) -> StdioServerParameters:
    env = {
        "OLLAMA_URL": url,
        "OLLAMA_KEY": "proxy-key",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **extra,
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=env)


async def test_a_private_ca_named_by_ssl_cert_file_is_trusted_and_the_key_goes_through(
    tmp_path, https_ollama, certificate
):
    assert https_ollama.url.startswith("https://")
    with anyio.fail_after(60):
        async with Client(params(tmp_path, https_ollama.url, {"SSL_CERT_FILE": str(certificate[0])})) as client:
            listed = await client.call_tool("ollama_list_models", {})
            answer = await client.call_tool("ollama_generate", {"model": "llama3.2", "prompt": "over tls"})
    assert not listed.is_error, listed.content
    assert not answer.is_error and answer.structured_content["output_tokens"] > 0
    assert https_ollama.requests[-1].header("x-ollama-key") == "proxy-key"


async def test_an_untrusted_certificate_is_named_with_the_fix(tmp_path, https_ollama):
    with anyio.fail_after(60):
        async with Client(params(tmp_path, https_ollama.url, {})) as client:
            result = await client.call_tool("ollama_ps", {})
    text = result.content[0].text
    assert result.is_error and "does not trust" in text and "SSL_CERT_FILE" in text


async def test_the_ca_file_setting_trusts_a_private_ca_without_touching_the_environment(
    tmp_path, https_ollama, certificate
):
    (tmp_path / "config" / "ollama-mcp-tray").mkdir(parents=True)
    settings = tmp_path / "config" / "ollama-mcp-tray" / "settings.json"
    settings.write_text(json.dumps({"ca_file": str(certificate[0])}), encoding="utf-8")
    with anyio.fail_after(60):
        async with Client(params(tmp_path, https_ollama.url, {})) as client:
            result = await client.call_tool("ollama_ps", {})
    assert not result.is_error, result.content


async def test_an_unusable_ca_file_is_reported_by_the_tools(tmp_path, https_ollama):
    with anyio.fail_after(60):
        async with Client(params(tmp_path, https_ollama.url, {"OLLAMA_CA_FILE": str(tmp_path / "nope.pem")})) as c:
            result = await c.call_tool("ollama_ps", {})
    assert result.is_error and "Cannot use the CA file" in result.content[0].text


@pytest.mark.parametrize("where", ["before", "mid"])
async def test_a_reply_cut_off_behind_the_tls_proxy_is_the_same_plain_error(https_ollama, certificate, where):
    from ollama_mcp_tray.server.config import ServerConfig, Timeouts
    from ollama_mcp_tray.server.errors import OllamaProtocolError
    from ollama_mcp_tray.server.ollama_client import OllamaClient

    config = ServerConfig(
        base_url=https_ollama.url, key="proxy-key", ca_file=str(certificate[0]), timeouts=Timeouts(connect=5, idle=10)
    )
    https_ollama.faults.cut_reply = where
    with anyio.fail_after(60):
        async with OllamaClient(config) as client:
            with pytest.raises(OllamaProtocolError) as caught:
                await client.show("llama3.2")
    text = str(caught.value)
    assert "broke off before the reply to /api/show was complete" in text and "check its log" in text
    assert "peer closed" not in text and "Server disconnected" not in text
