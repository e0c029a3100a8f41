"""Stdio for the MCP server without a thread hop per message.

The SDK's `stdio_server()` reads and writes the standard streams through `anyio.wrap_file`, which sends every
line read, every write and every flush to a worker thread: three thread round trips per request and reply,
most of the SDK's per-call cost over stdio. `stdio_server()` accepts explicit streams, so here the pipes are
read and written on the event loop itself (asyncio pipe transports); the SDK still does all the JSON-RPC.

Like the SDK, fd 0 and fd 1 are diverted while serving (stdin to the null device, stdout to stderr), so a
stray `print` or a child process can never corrupt the protocol stream. When the standard streams are not
pipes (a terminal, a regular file) or on Windows, `fast_stdio()` yields None and the caller uses the SDK's
own transport.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import IO, Any

from mcp.server.mcpserver import MCPServer


class PipeLines:
    """Lines of text from a pipe, read by the event loop (an async iterator, as `stdio_server` expects)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except ValueError:  # a line over the reader's limit: keep reading rather than die
            line = await self._reader.read(1 << 20)
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """Writes text to a pipe through the event loop; `flush` waits until the pipe took it."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def fast_stdio() -> AsyncIterator[tuple[PipeLines, PipeWriter] | None]:
    """Claim fd 0 and 1 and yield (lines in, writer out) on the event loop, or None where that cannot work."""
    if sys.platform == "win32" or not (_is_pipe_or_socket(0) and _is_pipe_or_socket(1)):
        yield None
        return
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    # Divert the standard descriptors: stray output goes to stderr, stray reads see EOF.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    in_file: IO[bytes] = os.fdopen(wire_in, "rb", buffering=0)
    out_file: IO[bytes] = os.fdopen(wire_out, "wb", buffering=0)
    reader = asyncio.StreamReader(limit=64 << 20)
    read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), in_file)
    write_transport, write_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out_file)
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    try:
        yield PipeLines(reader), PipeWriter(writer)
    finally:
        with suppress(OSError, ConnectionError):
            await writer.drain()
        read_transport.close()
        write_transport.close()


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` over stdio until stdin closes, on the fast pipes where possible."""
    from mcp.server.stdio import stdio_server

    async with fast_stdio() as pipes:
        if pipes is None:
            await server.run_stdio_async()
            return
        lines, writer = pipes
        # stdio_server() only iterates the input and awaits write()/flush() on the output.
        async with stdio_server(lines, writer) as (read_stream, write_stream):  # type: ignore[arg-type]
            lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does the same
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
