"""The emulator's HTTP server: lifecycle (start/stop on a fixed port), connections, and the per-request exchange."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import select
import selectors
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.emulator.catalog import EmulatedModel, default_models, pullable_extras
from tests.emulator.endpoints import ROUTES
from tests.emulator.faults import Faults
from tests.emulator.state import EmulatorState, RecordedRequest
from tests.emulator.wire import JSON_TYPE, NDJSON_TYPE, TEXT_TYPE, ApiError, go_json

OLLAMA_VERSION = "0.32.15"
DEFAULT_KEEP_ALIVE = 300.0


class OllamaEmulator:
    """A real HTTP server on loopback that answers like Ollama.

    Args:
        models: installed models (default: `default_models()`).
        host, port: where to listen; port 0 picks a free port, kept across `stop()`/`start()`.
        token_delay: seconds per generated token.
        response_tokens: tokens per reply (before `num_predict` cuts it).
        pull_delay: seconds between pull progress lines.
        registry: models `/api/pull` can fetch (default: the installed ones plus two extras).
        version: what `/api/version` reports.
        clock: epoch seconds, used for keep-alive expiry and `expires_at`.
        record: keep every request in `requests` (benchmarks may turn it off).
    """

    def __init__(
        self,
        models: Sequence[EmulatedModel] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_delay: float = 0.0,
        response_tokens: int = 8,
        pull_delay: float = 0.0,
        registry: Sequence[EmulatedModel] | None = None,
        version: str = OLLAMA_VERSION,
        clock: Callable[[], float] = time.time,
        record: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        installed = list(default_models() if models is None else models)
        pullable = [*installed, *pullable_extras()] if registry is None else list(registry)
        self.state = EmulatorState(installed, pullable, clock)
        self.faults = Faults()
        self.token_delay = token_delay
        self.response_tokens = response_tokens
        self.pull_delay = pull_delay
        self.version = version
        self.default_keep_alive = DEFAULT_KEEP_ALIVE
        self.record = record
        # "echo": replies cycle the words of the prompt; "receipt": replies say what the model received (bytes,
        # a digest, and every `=== name ===` section header), so a test can tell which parts reached it.
        self.answer_mode = "echo"
        # Like OLLAMA_NUM_PARALLEL: at most `slots` generations run at once, the rest queue (None: no limit).
        # Each first spends `prompt_delay` seconds per prompt token (prompt evaluation).
        self.prompt_delay = 0.0
        self._slots: threading.Semaphore | None = None
        self._host = host
        self._port = port
        self._tls = tls  # serve https, as a TLS-terminating reverse proxy in front of a remote Ollama would
        self._lock = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._accepted = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: socket.socket | None = None
        self._stopping = False

    @property
    def slots(self) -> int | None:
        return self._slot_count if self._slots is not None else None

    @slots.setter
    def slots(self, count: int | None) -> None:
        self._slot_count = count or 0
        self._slots = threading.Semaphore(count) if count else None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the parallel slots while generating."""
        if self._slots is None:
            yield
            return
        with self._slots:
            yield

    def reply_text(self, prompt: str) -> tuple[str, int]:
        """The text a generation answers with and its length in tokens (see `answer_mode`)."""
        if self.answer_mode != "receipt":
            return prompt, self.response_tokens
        data = prompt.encode("utf-8")
        headers = [line.strip("= ").strip() for line in prompt.splitlines() if line.startswith("=== ")]
        digest = hashlib.sha256(data).hexdigest()[:12]
        receipt = f"received {len(data)} bytes sha256:{digest} sections: " + " | ".join(headers or ["(none)"])
        return receipt, len(receipt.split())

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> OllamaEmulator:
        """Listen (again) on the same port; nothing is loaded after a restart, like a fresh Ollama."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server((self._host, self._port), self)
            self._port = int(server.server_address[1])
            wake_read, wake_write = socket.socketpair()
            self._server, self._wake, self._stopping = server, wake_write, False
            self._thread = threading.Thread(
                target=self._accept_loop, args=(server, wake_read), name=f"ollama-emulator:{self._port}", daemon=True
            )
            self._thread.start()
        self.state.unload_all()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every open connection (clients see a reset or EOF)."""
        with self._lock:
            server, wake, thread = self._server, self._wake, self._thread
            if server is None or wake is None or thread is None:
                return
            self._server, self._wake, self._thread, self._stopping = None, None, None, True
            connections = list(self._connections)
        with contextlib.suppress(OSError):
            # The loop may have ended already: a connection accepted after `_stopping` was set ends it too.
            wake.send(b"x")
        thread.join(timeout)
        wake.close()
        server.server_close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # already closed by its handler
        with self._lock:
            self._lock.wait_for(lambda: not self._connections, timeout)
        self.state.unload_all()

    def __enter__(self) -> OllamaEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def stopping(self) -> bool:
        """Whether `stop()` has begun (connections it cuts are not client cancellations)."""
        return self._stopping

    @property
    def port(self) -> int:
        """The TCP port (fixed after the first `start()`)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return f"{'https' if self._tls else 'http'}://{self._host}:{self._port}"

    @property
    def host_port(self) -> str:
        """`host:port`, the form `OLLAMA_HOST` usually takes."""
        return f"{self._host}:{self._port}"

    # -- observation ----------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy), oldest first."""
        return self.state.requests()

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self.state.clear_requests()

    @property
    def first_lines(self) -> list[float]:
        """When each stream's first line (the first token of a generation) was sent, in `time.monotonic()`."""
        return self.state.first_lines

    @property
    def cancelled(self) -> int:
        """How many generate/chat/pull/embed replies were abandoned because the client went away."""
        return self.state.cancelled

    @property
    def active(self) -> int:
        """Generations (and pulls) running right now."""
        return self.state.active

    @property
    def peak_active(self) -> int:
        """The most generations that ran at the same time."""
        return self.state.peak_active

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        with self._lock:
            return self._accepted

    def model_names(self) -> list[str]:
        """Installed models, newest first, as `/api/tags` lists them."""
        return [m.name for m in self.state.installed()]

    def loaded_names(self) -> list[str]:
        """Loaded models, longest remaining keep-alive first, as `/api/ps` lists them."""
        return [entry.model.name for entry in self.state.loaded()]

    def add_model(self, model: EmulatedModel) -> None:
        """Install a model (it also becomes pullable)."""
        self.state.install(model, pullable=True)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until `predicate()` holds (re-checked on every change); TimeoutError after `timeout` seconds."""
        self.state.wait_until(predicate, timeout)

    # -- connections ----------------------------------------------------------------------------------------

    def forget_connection(self, connection: socket.socket) -> None:
        """A handler finished with its connection."""
        with self._lock:
            self._connections.discard(connection)
            self._lock.notify_all()

    def _accept_loop(self, server: _Server, wake: socket.socket) -> None:
        # Our own loop instead of serve_forever(): stop() wakes it at once through a socket pair, where
        # serve_forever() would poll every 0.5 s.
        with selectors.DefaultSelector() as selector, wake:
            selector.register(server.socket, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is wake for key, _ in ready):
                    return
                try:
                    connection, address = server.get_request()
                except OSError:
                    continue  # the client gave up before we accepted
                connection.setblocking(True)
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._tls is not None:
                    try:
                        connection.settimeout(5.0)
                        connection = self._tls.wrap_socket(connection, server_side=True)
                        connection.settimeout(None)
                    except (OSError, ssl.SSLError):
                        connection.close()
                        continue  # the client refused our certificate, as an untrusting client should
                with self._lock:
                    if self._stopping:
                        connection.close()
                        return
                    self._connections.add(connection)
                    self._accepted += 1
                server.process_request(connection, address)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() ends handlers by closing their sockets, then waits a bounded time
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: OllamaEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, Exchange)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can take seconds; we need no server name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def shutdown_request(self, request: Any) -> None:
        self.emulator.forget_connection(request)
        super().shutdown_request(request)


_NGINX_PAGE = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


_STREAMING_PATHS = frozenset(("/api/generate", "/api/chat", "/api/pull"))


class Exchange(BaseHTTPRequestHandler):
    """One connection; also the per-request "exchange" the endpoint functions write to."""

    protocol_version = "HTTP/1.1"
    server: _Server
    faults: Faults
    client_gone: bool
    dropped: bool

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read stderr of processes that use the emulator."""

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            self.close_connection = True  # the peer reset the connection between requests

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_GET

    # -- request ------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                continue  # trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        self.client_gone = self.dropped = False
        self._stream_started = False
        self._chunks = 0
        self.faults = emulator.faults.snapshot()
        path, _, query = self.path.partition("?")
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self.reply(400, b"bad request body", TEXT_TYPE)
            return
        if emulator.record:
            headers = {name.lower(): value for name, value in self.headers.items()}
            emulator.state.record(RecordedRequest(self.command, path, query, headers, raw))
        if (refusal := self._proxy_refusal()) is not None:
            text = _NGINX_PAGE.format("401 Authorization Required" if refusal == 401 else "403 Forbidden")
            self.reply(refusal, text.encode(), "text/html")
            return
        methods = ROUTES.get(path)
        if methods is None:
            self._not_routed(path)
            return
        endpoint = methods.get(self.command)
        if endpoint is None:
            self.reply(405, b"405 method not allowed", TEXT_TYPE, (("Allow", ", ".join(methods)),))
            return
        if path.startswith("/api/") and self._fault_reply(path, raw):
            return
        try:
            endpoint(emulator, self, raw)
        except ApiError as error:
            self.reply_json(error.status, {"error": error.message})

    def _not_routed(self, path: str) -> None:
        if path.endswith("/") and path.rstrip("/") in ROUTES:
            status = 301 if self.command in ("GET", "HEAD") else 307
            self.reply(status, b"", None, (("Location", path.rstrip("/")),))
        else:
            self.reply(404, b"404 page not found", TEXT_TYPE)

    def _proxy_refusal(self) -> int | None:
        key = self.faults.require_key
        if key is None:
            return None
        offered = [self.headers.get(self.faults.key_header)]
        authorization = self.headers.get("Authorization", "")
        if self.faults.accept_bearer and authorization[:7].lower() == "bearer ":
            offered.append(authorization[7:].strip())
        given = [o for o in offered if o]
        if not given:
            return 401
        return None if any(hmac.compare_digest(o.encode(), key.encode()) for o in given) else 403

    def _fault_reply(self, path: str, raw: bytes) -> bool:
        if self.faults.cut_reply == "before":
            self.drop()
            return True
        if self.faults.fail_status is not None:
            self.reply_json(self.faults.fail_status, {"error": self.faults.fail_message})
            return True
        if not self.faults.garbage:
            return False
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {}
        if path in _STREAMING_PATHS and not (isinstance(body, dict) and body.get("stream") is False):
            self._send_chunk(b"this is not json\n")
            self.stream_end()
        else:
            self.reply(200, b"<html><body>this is not json</body></html>", JSON_TYPE)
        return True

    # -- replies ------------------------------------------------------------------------------------------

    def _head(self, status: int, headers: Sequence[tuple[str, str]]) -> bytes:
        reason = self.responses[status][0] if status in self.responses else ""
        lines = [f"HTTP/1.1 {status} {reason}\r\nDate: {self.date_time_string()}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _send(self, data: bytes) -> bool:
        try:
            self.connection.sendall(data)
        except OSError:
            self.client_gone = self.close_connection = True
            return False
        return True

    def reply(self, status: int, body: bytes, content_type: str | None, extra: Sequence[tuple[str, str]] = ()) -> None:
        """Send a whole reply with Content-Length (no body for HEAD)."""
        headers = [*((("Content-Type", content_type),) if content_type else ()), *extra]
        headers.append(("Content-Length", str(len(body))))
        if self.faults.cut_reply == "mid" and self.path.startswith("/api/") and self.command != "HEAD":
            whole = self._head(status, headers) + body
            self._send(whole[: len(whole) - max(1, len(body) // 2)])  # an empty body: the head is cut short
            self.drop()
            return
        self._send(self._head(status, headers) + (b"" if self.command == "HEAD" else body))

    def reply_json(self, status: int, value: object) -> None:
        """Send one compact JSON object, no trailing newline, like gin's c.JSON."""
        self.reply(status, go_json(value), JSON_TYPE)

    def _send_chunk(self, line: bytes) -> bool:
        data = b"%x\r\n%s\r\n" % (len(line), line)
        if not self._stream_started:
            self._stream_started = True
            data = self._head(200, (("Content-Type", NDJSON_TYPE), ("Transfer-Encoding", "chunked"))) + data
        return self._send(data)

    def stream_line(self, value: object) -> bool:
        """Send one NDJSON line; False when the stream must stop (client gone or a drop fault fired)."""
        if self.faults.drop_after_chunks is not None and self._chunks >= self.faults.drop_after_chunks:
            self.drop()
            return False
        self._chunks += 1
        sent = self._send_chunk(go_json(value) + b"\n")
        if sent and self._chunks == 1:
            self.server.emulator.state.note_first_line()
        return sent

    def stream_end(self) -> None:
        """Finish a chunked reply."""
        self._send(b"0\r\n\r\n")

    def drop(self) -> None:
        """Cut the connection without finishing the reply."""
        self.dropped = self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.client_gone = True

    def abandon(self) -> None:
        """The reply stopped early; count it as a cancellation when the client (not a fault or `stop()`) caused it."""
        if self.client_gone and not self.server.emulator.stopping:
            self.server.emulator.state.note_cancelled()

    def pause(self, seconds: float) -> bool:
        """Wait, watching the socket: False as soon as the client hangs up (or the emulator stops)."""
        if seconds <= 0:
            return not self.client_gone
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if not readable:
                break
            if isinstance(self.connection, ssl.SSLSocket):
                time.sleep(max(0.0, deadline - time.monotonic()))  # TLS sockets cannot peek: just wait
                break
            try:
                peeked = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:
                self.client_gone = self.close_connection = True
                return False
            time.sleep(max(0.0, deadline - time.monotonic()))  # a pipelined request: just wait it out
            break
        return True
