"""A scripted stand-in for the Anthropic Messages API, on loopback, for driving the real Claude Code.

    with MessagesStandIn([search_tools("mcp__ollama__ollama_generate"), call(...), say("done")]) as api:
        env["ANTHROPIC_BASE_URL"] = api.url
        ...run claude -p...
        api.conversation()               # the agent's requests, in order

Each request of the agent's conversation (one that offers tools) takes the next step of the script: a fixed
`Turn`, a function of the request (so a turn can depend on the tool result just received), or a `Repeat`
(played again while a condition on the next request holds, e.g. search until our tool is loaded). Side requests
(no tools: titles, summaries and the like) get a short text reply and leave the script alone; so does
`count_tokens`. When the script is used up the model ends its turn, saying so, and `exhausted` counts it.
Streamed requests get server-sent events with chunked transfer encoding, the others one JSON message.
Unknown paths get the API's JSON error shape. Every request is recorded.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.claude_session.received import ReceivedRequest
from tests.claude_session.turns import Repeat, Step, Turn, say, sse, stream_events, whole_message

SIDE_REPLY = "OK"
EXHAUSTED = "(the stand-in's script is used up)"
POLL_S = 0.05  # how soon a stop is noticed
IDLE_TIMEOUT_S = 30.0  # a connection idle this long is closed (keeps a stuck client from holding a thread)


class MessagesStandIn:
    def __init__(self, script: Iterable[Step] = (), *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._script: deque[Step] = deque(script)
        self._lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        self.answered: list[tuple[ReceivedRequest, Turn]] = []  # conversation requests and the turns sent
        self.exhausted = 0
        self.errors: list[str] = []  # failures inside a step function, reported instead of raised in a thread
        self._server = _Server((host, port), _Handler)
        self._server.standin = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> MessagesStandIn:
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(POLL_S,), name="messages-standin", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def conversation(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.is_conversation]

    # -- called by the handler ----------------------------------------------------------------------------------

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def turn_for(self, request: ReceivedRequest) -> Turn:
        if not request.is_conversation:
            return say(SIDE_REPLY)
        with self._lock:
            step = self._next_step(request)
            if step is None:
                self.exhausted += 1
        if step is None:
            turn = say(EXHAUSTED)
        elif isinstance(step, Turn):
            turn = step
        elif isinstance(step, Repeat):
            turn = step.turn.with_new_ids()  # each call in a conversation has its own id
        else:
            try:
                turn = step(request)
            except Exception as exc:  # noqa: BLE001 - a failing step ends the session; the test reads `errors`
                self.errors.append(f"{type(exc).__name__}: {exc}")
                turn = say(f"(the stand-in's step failed: {exc})")
        with self._lock:
            self.answered.append((request, turn))
        return turn

    def _next_step(self, request: ReceivedRequest) -> Step | None:
        """The step for `request` (lock held): a repeat stays at the head while it still applies."""
        while self._script:
            head = self._script[0]
            if not isinstance(head, Repeat):
                return self._script.popleft()
            if head.played == 0 or (head.played < head.limit and head.again(request)):
                head.played += 1
                return head
            self._script.popleft()
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: MessagesStandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads the recorded requests, not a log

    def do_HEAD(self) -> None:
        self._exchange(send_body=False)

    def do_GET(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    def _exchange(self, send_body: bool = True) -> None:
        standin = self.server.standin
        request = ReceivedRequest(self.command, self.path, dict(self.headers.items()), self._read_body())
        standin.record(request)
        route = self.path.split("?", 1)[0]
        if route == "/api/hello":  # Claude Code's connection warm-up
            self._json(200, {"message": "hello"}, send_body)
        elif self.command == "POST" and route == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": request.input_tokens()}, send_body)
        elif self.command == "POST" and route == "/v1/messages":
            if not isinstance(request.body, dict):
                self._error(400, "invalid_request_error", "The request body is not a JSON object.")
                return
            turn = standin.turn_for(request)
            if request.streamed:
                self._stream(turn, request)
            else:
                self._json(200, whole_message(turn, request.model, request.input_tokens()), send_body)
        else:
            self._error(404, "not_found_error", f"Not found: {self.command} {route}")

    def _headers(self, status: int, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("request-id", f"req_standin_{len(self.server.standin.requests)}")

    def _json(self, status: int, data: dict[str, Any], send_body: bool = True) -> None:
        payload = json.dumps(data).encode()
        self._headers(status, "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if send_body:
            self.wfile.write(payload)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._json(status, {"type": "error", "error": {"type": kind, "message": message}})

    def _stream(self, turn: Turn, request: ReceivedRequest) -> None:
        self._headers(200, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event, data in stream_events(turn, request.model, request.input_tokens()):
            chunk = sse(event, data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
