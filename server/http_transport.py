"""A lean httpx2 transport for plain-http Ollama: HTTP/1.1 with h11 over asyncio streams, kept-alive connections.

Why: a tool call's cost is dominated by its one request to Ollama. httpx2's default transport (httpcore2)
spends over a millisecond of Python per streamed request on a 2-core machine, mostly in layers of
cancellation scopes and pool bookkeeping that a single local peer does not need; this transport does the same
job in a fraction of that. httpx2 stays the client API (timeouts, errors, requests, responses), and h11 (which
httpcore2 uses too) does the HTTP parsing, so no protocol code is hand-written here. https URLs keep httpx2's
default transport: TLS and proxies are its job, and a remote round trip dwarfs the difference.

Errors are raised as httpx2's own exception types, so the client maps them like any other; no h11 exception and
no h11 wording leaves this module. Two subclasses say what went wrong on the wire: `ReplyCutOff` (the server
closed the connection before its reply was complete: a crashed or restarted Ollama) and `NotHttp` (what came
back is not an HTTP/1.1 reply: OLLAMA_URL points at something else).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx2

READ_SIZE = 65536


class ReplyCutOff(httpx2.RemoteProtocolError):
    """The server closed the connection before its reply was complete (or before it answered at all)."""


class NotHttp(httpx2.RemoteProtocolError):
    """What the server sent is not a valid HTTP/1.1 reply."""


class _Connection:
    """One kept-alive socket and its h11 state machine."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.start = b""  # the first bytes of the current reply: HTTP or not
        self.eof = False

    def close(self) -> None:
        self.writer.close()

    def send(self, event: Any) -> bytes:
        try:
            return self.h11.send(event) or b""
        except h11.LocalProtocolError as exc:
            raise httpx2.LocalProtocolError(f"the request cannot be sent as HTTP/1.1 ({type(exc).__name__})") from exc

    def next_cycle(self) -> None:
        self.h11.start_next_cycle()
        self.start = b""

    def _broken(self, detail: str) -> httpx2.RemoteProtocolError:
        if self.start and not (self.start.startswith(b"HTTP/") or b"HTTP/".startswith(self.start)):
            return NotHttp("the server's reply does not begin like HTTP")
        if self.eof:
            return ReplyCutOff(f"the server closed the connection {detail}")
        return NotHttp("the server's reply is not valid HTTP/1.1")

    def broken_body(self) -> httpx2.RemoteProtocolError:
        """The error for bytes h11 refused inside a reply's body (what `receive` raises there too)."""
        return self._broken("in the middle of its reply")

    async def receive(self, timeout: float | None) -> Any:
        while True:
            answering = self.h11.their_state is not h11.SEND_RESPONSE  # h11 moves to ERROR when it raises
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                started = answering or bool(self.start)
                raise self._broken("in the middle of its reply" if started else "without answering") from exc
            if event is h11.PAUSED:
                raise NotHttp("the server sent more than one reply")
            if isinstance(event, h11.ConnectionClosed):
                raise ReplyCutOff("the server closed the connection without answering")
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), timeout)
            except asyncio.TimeoutError as exc:
                raise httpx2.ReadTimeout("no bytes from the server within the read timeout") from exc
            except OSError as exc:
                raise httpx2.ReadError(f"reading the reply failed ({type(exc).__name__})") from exc
            if len(self.start) < 5:
                self.start += data[: 5 - len(self.start)]
            self.eof = not data
            self.h11.receive_data(data)


class _Body(httpx2.AsyncByteStream):
    """The response body; the connection goes back to the pool when the body was read to its end."""

    def __init__(
        self, transport: LeanTransport, conn: _Connection, key: tuple[str, int], timeout: float | None
    ) -> None:
        self._transport = transport
        self._conn = conn
        self._key = key
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # One read from the socket often holds hundreds of chunks (one per token when the reader falls behind);
        # every yield crosses httpx2's iterator layers and the caller's loop, so everything already received is
        # joined into one piece first. Waiting happens only when nothing is buffered, so a chunk that arrives
        # alone is still handed on at once.
        conn = self._conn
        parser = conn.h11
        while not self._done:
            event = await conn.receive(self._timeout)
            parts: list[bytes] = []
            broken: h11.RemoteProtocolError | None = None
            while isinstance(event, h11.Data):
                parts.append(event.data)  # a bytearray slice of h11's buffer: copied by the join below
                try:
                    # h11 itself, not conn.receive: inside a body only bad bytes can come of it (no second reply
                    # and no clean close are possible before EndOfMessage), and this loop runs once per token.
                    event = parser.next_event()
                except h11.RemoteProtocolError as exc:
                    broken = exc
                    break
            failure: httpx2.HTTPError | None = None
            if broken is not None:
                failure = conn.broken_body()  # the bytes before a broken chunk still reach the caller first
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                self._transport._release(self._key, self._conn)
            elif event is not h11.NEED_DATA:
                failure = NotHttp(f"unexpected {type(event).__name__} in a response body")
            if parts:
                yield b"".join(parts)
            if failure is not None:
                raise failure from broken

    async def aclose(self) -> None:
        if not self._done:
            # Abandoned half-read (cancellation, an error): closing the socket is what tells Ollama to stop.
            self._done = True
            self._conn.close()


class LeanTransport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 for `http://` URLs with a small pool of kept-alive connections per host."""

    def __init__(self, max_idle: int = 16) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle

    def _release(self, key: tuple[str, int], conn: _Connection) -> None:
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.next_cycle()
            pool = self._idle.setdefault(key, [])
            if len(pool) < self._max_idle:
                pool.append(conn)
                return
        conn.close()

    async def _connect(self, key: tuple[str, int], timeout: float | None) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*key, limit=READ_SIZE), timeout)
        except asyncio.TimeoutError as exc:
            raise httpx2.ConnectTimeout(f"no connection to {key[0]}:{key[1]} within the connect timeout") from exc
        except OSError as exc:
            raise httpx2.ConnectError(str(exc)) from exc
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx2.UnsupportedProtocol("the lean transport only speaks plain http")
        key = (url.host, url.port or 80)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"transfer-encoding"]
        if not any(k.lower() == b"host" for k, _ in headers):
            headers.insert(0, (b"Host", url.netloc))
        if body and not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"Content-Length", str(len(body)).encode()))
        target = url.raw_path
        pool = self._idle.get(key)
        while True:
            reused = bool(pool)
            conn = pool.pop() if pool else await self._connect(key, timeouts.get("connect"))
            try:
                return await self._exchange(conn, key, request.method.encode(), target, headers, body, timeouts)
            except (httpx2.ReadError, httpx2.RemoteProtocolError):
                conn.close()
                # A kept-alive socket the server closed while idle fails before any reply (every failure in
                # _exchange is before the reply): retry once on a fresh connection.
                if reused:
                    pool = None
                    continue
                raise
            except BaseException:
                conn.close()
                raise

    async def _exchange(
        self,
        conn: _Connection,
        key: tuple[str, int],
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: dict[str, Any],
    ) -> httpx2.Response:
        wire = conn.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            wire += conn.send(h11.Data(data=body))
        wire += conn.send(h11.EndOfMessage())
        try:
            conn.writer.write(wire)
            await asyncio.wait_for(conn.writer.drain(), timeouts.get("write"))
        except asyncio.TimeoutError as exc:
            raise httpx2.WriteTimeout("the request could not be sent within the write timeout") from exc
        except OSError as exc:
            raise httpx2.WriteError(f"sending the request failed ({type(exc).__name__})") from exc
        read_timeout = timeouts.get("read")
        event = await conn.receive(read_timeout)
        while isinstance(event, h11.InformationalResponse):  # 1xx (100 Continue): the real reply follows
            event = await conn.receive(read_timeout)
        if not isinstance(event, h11.Response):
            raise NotHttp(f"expected a response, got {type(event).__name__}")
        return httpx2.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, conn, key, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
        )

    async def aclose(self) -> None:
        for pool in self._idle.values():
            for conn in pool:
                with contextlib.suppress(OSError):
                    conn.close()
        self._idle.clear()
