"""Item 10 of issue 8: a reply cut off mid-way is our protocol error with its fix, never the HTTP library's text.

Each tool, streamed or not, against the emulator on real loopback HTTP (the lean h11 transport), with the reply
cut before its head, inside its body, or inside its stream.
"""

from __future__ import annotations

import asyncio

import pytest

from ollama_mcp_tray.server.config import ServerConfig, Timeouts
from ollama_mcp_tray.server.errors import OllamaProtocolError
from ollama_mcp_tray.server.ollama_client import OllamaClient

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"
EMBEDDER = "nomic-embed-text:latest"
LEAKS = ("ConnectionClosed", "h11", "can't handle", "peer closed", "SEND_RESPONSE", "SEND_BODY", "bytearray")

CALLS = [
    ("ollama_list_models", {}, "/api/tags"),
    ("ollama_ps", {}, "/api/ps"),
    ("ollama_show", {"model": CODER}, "/api/show"),
    ("ollama_embed", {"model": EMBEDDER, "input": "some text"}, "/api/embed"),
    ("ollama_delete", {"model": CODER}, "/api/delete"),
    ("ollama_generate", {"model": CODER, "prompt": "hello"}, "/api/generate"),
    ("ollama_chat", {"model": CODER, "messages": [{"role": "user", "content": "hi"}]}, "/api/chat"),
    ("ollama_pull", {"model": CODER}, "/api/pull"),
]
NON_STREAMED = [c for c in CALLS if c[2] not in ("/api/generate", "/api/chat", "/api/pull")]
STREAMED = [c for c in CALLS if c[2] in ("/api/generate", "/api/chat", "/api/pull")]


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def assert_plain_cut_off(text: str, url: str) -> None:
    assert "broke off before the reply" in text, text
    assert url in text and "check its log and retry" in text, text
    for leak in LEAKS:
        assert leak not in text, (leak, text)


@pytest.mark.parametrize("where", ["before", "mid"])
@pytest.mark.parametrize(("tool", "arguments", "path"), NON_STREAMED, ids=[c[2] for c in NON_STREAMED])
async def test_a_non_streamed_reply_cut_off_is_a_plain_protocol_error_and_the_next_call_works(
    connect, ollama, where, tool, arguments, path
):
    async with connect(allow_model_management=True) as client:
        assert not (await client.call_tool("ollama_ps", {})).is_error  # a kept-alive connection to reuse
        ollama.faults.cut_reply = where
        result = await client.call_tool(tool, arguments)
        ollama.faults.reset()
        assert result.is_error
        assert_plain_cut_off(text_of(result), ollama.url)
        assert [r for r in ollama.requests if r.path == path], "the request did reach Ollama"
        assert not (await client.call_tool("ollama_ps", {})).is_error


@pytest.mark.parametrize(("tool", "arguments", "path"), STREAMED, ids=[c[2] for c in STREAMED])
async def test_a_streamed_reply_cut_off_before_its_head_is_a_plain_protocol_error(
    connect, ollama, tool, arguments, path
):
    async with connect(allow_model_management=True) as client:
        ollama.faults.cut_reply = "before"
        result = await client.call_tool(tool, arguments)
        ollama.faults.reset()
        assert result.is_error
        assert_plain_cut_off(text_of(result), ollama.url)
        assert not (await client.call_tool("ollama_ps", {})).is_error


@pytest.mark.parametrize(("tool", "arguments", "path"), STREAMED, ids=[c[2] for c in STREAMED])
async def test_a_streamed_reply_cut_off_inside_its_stream_is_a_plain_protocol_error(
    connect, ollama, tool, arguments, path
):
    async with connect(allow_model_management=True) as client:
        ollama.faults.drop_after_chunks = 1
        result = await client.call_tool(tool, arguments)
        ollama.faults.reset()
    assert result.is_error
    assert_plain_cut_off(text_of(result), ollama.url)


async def test_a_server_that_does_not_speak_http_is_named_as_not_ollama():
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        async with OllamaClient(ServerConfig(base_url=url, timeouts=Timeouts(connect=2, idle=5))) as client:
            with pytest.raises(OllamaProtocolError) as caught:
                await client.version()
    finally:
        server.close()
        await server.wait_closed()
    text = str(caught.value)
    assert "not speak HTTP" in text and url in text and "OLLAMA_URL" in text
    for leak in LEAKS:
        assert leak not in text, (leak, text)


def test_the_emulator_cuts_replies_as_a_crashing_ollama_does(ollama):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", ollama.port, timeout=5)
    try:
        ollama.faults.cut_reply = "mid"
        connection.request("GET", "/api/tags")
        response = connection.getresponse()
        length = int(response.getheader("Content-Length") or 0)
        assert response.status == 200 and length > 0
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
        assert 0 < len(cut.value.partial) < length
        connection.close()
        ollama.faults.cut_reply = "before"
        connection.request("GET", "/api/tags")
        with pytest.raises(http.client.RemoteDisconnected):
            connection.getresponse()
        connection.close()
        ollama.faults.reset()
        connection.request("GET", "/api/tags")
        with connection.getresponse() as response:
            assert response.status == 200 and response.read()
    finally:
        connection.close()
