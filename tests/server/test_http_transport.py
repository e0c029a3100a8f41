"""The lean transport's body stream over real loopback TCP, against a server each test scripts byte by byte.

What is pinned here: a chunk that arrives alone is handed on before the next one is sent (no added latency),
chunks that arrive together are handed on in one piece, and a reply broken after some chunks still delivers
those chunks, then fails with the same `ReplyCutOff` / `NotHttp` as before.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest

from ollama_mcp_tray.server.config import ServerConfig, Timeouts
from ollama_mcp_tray.server.http_transport import LeanTransport, NotHttp, ReplyCutOff
from ollama_mcp_tray.server.ollama_client import OllamaClient

pytestmark = pytest.mark.anyio

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def line(value: object) -> bytes:
    return json.dumps(value).encode() + b"\n"


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(h.split(b":")[1]) for h in head.lower().split(b"\r\n") if h.startswith(b"content-length")), 0)
    await reader.readexactly(length)


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    """A loopback server running `script` for each connection; yields its base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_chunk_sent_alone_is_delivered_before_the_next_is_sent() -> None:
    first_seen = asyncio.Event()
    sent_second: list[bool] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(HEAD + chunk(line({"response": "one", "done": False})))
        await writer.drain()
        # The next token goes out only once the client has handed the first one on: a transport that waited
        # for more bytes before yielding would deadlock here (and the test's deadline would fail it).
        await first_seen.wait()
        sent_second.append(True)
        writer.write(chunk(line({"response": "two", "done": True})) + b"0\r\n\r\n")
        await writer.drain()
        await reader.read()  # keep-alive: the client closes

    seen: list[tuple[str, bool]] = []
    async with scripted(script) as url:
        config = ServerConfig(base_url=url, timeouts=Timeouts(connect=2, idle=5))
        async with OllamaClient(config) as client:
            with anyio.fail_after(5):
                async for piece in client.stream("/api/generate", {"model": "m", "prompt": "p"}):
                    seen.append((piece["response"], bool(sent_second)))
                    first_seen.set()
    assert seen == [("one", False), ("two", True)]


async def test_chunks_that_arrive_together_are_handed_on_in_one_piece_and_the_connection_is_kept() -> None:
    lines = [line({"response": f"t{n}", "done": n == 999}) for n in range(1000)]
    body = b"".join(chunk(x) for x in lines) + b"0\r\n\r\n"
    requests = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        for _ in range(2):  # two requests on one kept-alive connection
            await read_request(reader)
            requests += 1
            writer.write(HEAD + body)
            await writer.drain()
        await reader.read()

    async with scripted(script) as url:
        transport = LeanTransport()
        async with httpx2.AsyncClient(transport=transport) as http:
            for _ in range(2):
                pieces: list[bytes] = []
                with anyio.fail_after(5):
                    async with http.stream("POST", f"{url}/api/generate", content=b"{}") as response:
                        assert response.status_code == 200
                        async for data in response.aiter_raw():
                            assert isinstance(data, bytes)
                            pieces.append(data)
                assert b"".join(pieces) == b"".join(lines)
                # Chunk by chunk would be 1000 pieces; one 40 kB write reaches the client in a few reads.
                assert len(pieces) <= 20, len(pieces)
    assert requests == 2, "the second request reused the connection the first one left in the pool"


@pytest.mark.parametrize(
    ("tail", "closes", "error", "wording"),
    [
        (b"40\r\n" + b"x" * 10, True, ReplyCutOff, "closed the connection in the middle of its reply"),
        (b"zz\r\n", False, NotHttp, "not valid HTTP/1.1"),
    ],
    ids=["cut-inside-a-chunk", "broken-chunk-framing"],
)
async def test_the_chunks_before_a_broken_one_are_delivered_then_the_same_error_as_before(
    tail: bytes, closes: bool, error: type[httpx2.RemoteProtocolError], wording: str
) -> None:
    good = [line({"response": f"t{n}", "done": False}) for n in range(3)]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(HEAD + b"".join(chunk(x) for x in good) + tail)  # one write: all of it buffered together
        await writer.drain()
        if not closes:
            await reader.read()

    pieces: list[bytes] = []
    async with scripted(script) as url, httpx2.AsyncClient(transport=LeanTransport()) as http:
        with anyio.fail_after(5), pytest.raises(error) as caught:
            async with http.stream("POST", f"{url}/api/generate", content=b"{}") as response:
                async for data in response.aiter_raw():
                    pieces.append(data)
    received = b"".join(pieces)
    assert received.startswith(b"".join(good)), received
    assert received[len(b"".join(good)) :] in (b"", b"x" * 10)  # a cut chunk's first bytes may come too
    assert wording in str(caught.value)
