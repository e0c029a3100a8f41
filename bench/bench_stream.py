"""Benchmark the streaming path and the server's start, each against a baseline measured in the same run.

    .venv/bin/python bench/bench_stream.py [--rounds 9] [--tokens 20000]

Prints medians (and ratios) of:
  * per-token cost of a 20,000-token answer through the lean transport, with the chunk-by-chunk body loop the
    transport had before (kept here as the baseline) against today's, at two levels: the raw body bytes
    (transport and httpx2) and `OllamaClient.stream` (the NDJSON lines parsed, as the tools consume them).
    The answer comes from a separate process that sends it in one write, as an Ollama that got ahead of its
    reader would; a plain socket read of the same bytes is the floor;
  * first token -> first progress notification, over real stdio against the emulator, for today's server and
    for one patched to the old rule (the first report waits until 0.2 s after the request started); and how
    many token notifications a 20,000-token answer sends;
  * spawn -> `tools/list` answered, for today's server and for one that imports pathspec at start, as the
    server did before it became lazy: wall time, and the server's CPU time by then (Linux), which a busy
    machine disturbs less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h11
import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_server import Session  # noqa: E402

from ollama_mcp_tray.server import http_transport  # noqa: E402
from ollama_mcp_tray.server.config import ServerConfig, Timeouts  # noqa: E402
from ollama_mcp_tray.server.ollama_client import OllamaClient  # noqa: E402
from tests.ollama_emulator import OllamaEmulator  # noqa: E402

MODEL = "qwen2.5-coder:3b"

# ---- the answer server (a separate process: it must not share a GIL with what is measured) ---------------


def answer_bytes(tokens: int) -> bytes:
    """A chunked NDJSON reply shaped like Ollama's /api/generate stream: one chunk per token, then the final line."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
    parts = [head]
    for n in range(tokens):
        line = json.dumps(
            {"model": MODEL, "created_at": "2026-12-02T00:00:00.000000Z", "response": f" w{n % 97}", "done": False},
            separators=(",", ":"),
        ).encode()
        parts.append(b"%x\r\n%s\n\r\n" % (len(line) + 1, line))
    final = json.dumps(
        {"model": MODEL, "response": "", "done": True, "done_reason": "stop", "eval_count": tokens},
        separators=(",", ":"),
    ).encode()
    parts.append(b"%x\r\n%s\n\r\n0\r\n\r\n" % (len(final) + 1, final))
    return b"".join(parts)


def serve(tokens: int) -> None:
    """Answer every request on every connection with the whole reply in one write; print the port first."""
    reply = answer_bytes(tokens)
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)

    def handle(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn, conn.makefile("rb") as reader:
            while True:
                head = b""
                while (line := reader.readline()) not in (b"\r\n", b""):
                    head += line
                if not head:
                    return
                length = next(
                    (int(h.split(b":")[1]) for h in head.lower().split(b"\r\n") if h.startswith(b"content-length")),
                    0,
                )
                reader.read(length)
                conn.sendall(reply)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


# ---- the old body loop, kept here as the baseline -------------------------------------------------------


async def _chunk_by_chunk(self: Any) -> AsyncIterator[bytes]:
    """The body loop before the change: one yield per h11 Data event, one chunk (one token) each."""
    while not self._done:
        event = await self._conn.receive(self._timeout)
        if isinstance(event, h11.Data):
            yield bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            self._done = True
            self._transport._release(self._key, self._conn)
        else:
            raise http_transport.NotHttp(f"unexpected {type(event).__name__} in a response body")


@contextmanager
def body_loop(old: bool) -> Iterator[None]:
    saved = http_transport._Body.__aiter__
    if old:
        http_transport._Body.__aiter__ = _chunk_by_chunk  # type: ignore[method-assign]
    try:
        yield
    finally:
        http_transport._Body.__aiter__ = saved  # type: ignore[method-assign]


async def time_raw(url: str, tokens: int) -> tuple[float, float]:
    async with httpx2.AsyncClient(transport=http_transport.LeanTransport()) as http:
        for warm in (True, False):
            started, cpu = time.perf_counter(), time.process_time()
            size = 0
            async with http.stream("POST", f"{url}/api/generate", content=b"{}") as response:
                async for data in response.aiter_raw():
                    size += len(data)
            if not warm:
                return (time.perf_counter() - started) / tokens, (time.process_time() - cpu) / tokens
    raise AssertionError("unreachable")


async def time_client(url: str, tokens: int) -> tuple[float, float]:
    config = ServerConfig(base_url=url, timeouts=Timeouts(connect=5, idle=30))
    async with OllamaClient(config) as client:
        for warm in (True, False):
            started, cpu = time.perf_counter(), time.process_time()
            count = 0
            async for _ in client.stream("/api/generate", {"model": MODEL, "prompt": "p"}):
                count += 1
            assert count == tokens + 1, count
            if not warm:
                return (time.perf_counter() - started) / tokens, (time.process_time() - cpu) / tokens
    raise AssertionError("unreachable")


async def time_floor(port: int, tokens: int) -> tuple[float, float]:
    """What keeping h11 costs at the least: the same bytes read off the socket and every event pulled out of h11,
    with no yield and nothing else done per chunk."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=65536)
    try:
        for warm in (True, False):
            conn = h11.Connection(h11.CLIENT)
            request = h11.Request(
                method="POST", target="/api/generate", headers=[("Host", "x"), ("Content-Length", "2")]
            )
            started, cpu = time.perf_counter(), time.process_time()
            writer.write(conn.send(request) + conn.send(h11.Data(data=b"{}")) + conn.send(h11.EndOfMessage()))
            event: Any = h11.NEED_DATA
            while type(event) is not h11.EndOfMessage:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
            if not warm:
                return (time.perf_counter() - started) / tokens, (time.process_time() - cpu) / tokens
    finally:
        writer.close()
    raise AssertionError("unreachable")


def bench_transport(rounds: int, tokens: int) -> None:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(tokens)], stdout=subprocess.PIPE, text=True)
    runs: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("floor", "raw old", "raw new", "lines old", "lines new")
    }
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        for _ in range(rounds):
            runs["floor"].append(asyncio.run(time_floor(port, tokens)))
            for old in (True, False):  # alternating, so machine noise hits both alike
                tag = "old" if old else "new"
                with body_loop(old):
                    runs[f"raw {tag}"].append(asyncio.run(time_raw(url, tokens)))
                    runs[f"lines {tag}"].append(asyncio.run(time_client(url, tokens)))
    finally:
        proc.terminate()
        proc.wait(10)
    # [wall, cpu] medians in microseconds per token; the overhead is paired with the floor of its own round
    m = {k: [statistics.median(r[i] for r in v) * 1e6 for i in (0, 1)] for k, v in runs.items()}
    for tag in ("old", "new"):
        pairs = list(zip(runs[f"raw {tag}"], runs["floor"], strict=True))
        m[f"over {tag}"] = [statistics.median(r[i] - f[i] for r, f in pairs) * 1e6 for i in (0, 1)]
    print(f"\n{tokens}-token answer through the lean transport: µs per token, median of {len(runs['floor'])}")
    print("  (CPU time is the steadier figure on a shared machine; the answer server is another process)")
    print(f"  {'':<40}{'wall old':>9}{'new':>8}{'ratio':>7}{'cpu old':>10}{'new':>8}{'ratio':>7}")
    wall_floor, cpu_floor = m["floor"]
    print(f"  {'floor: socket read + h11 parse only':<40}{wall_floor:>17.3f}{'':>7}{cpu_floor:>18.3f}")
    rows = (
        ("raw body (transport + httpx2)", "raw old", "raw new"),
        ("  its overhead over the floor", "over old", "over new"),
        ("OllamaClient.stream (lines parsed)", "lines old", "lines new"),
    )
    for name, before, after in rows:
        cells = ""
        for i in (0, 1):
            o, n = m[before][i], m[after][i]
            cells += f"{o:>{9 if i == 0 else 10}.3f}{n:>8.3f}{(n / o if o > 0 else float('nan')):>7.2f}"
        print(f"  {name:<40}{cells}")
    saved = [m["lines old"][i] - m["lines new"][i] for i in (0, 1)]
    print(f"  saved per token at the client: {saved[0]:.3f} µs wall, {saved[1]:.3f} µs cpu")


# ---- first token -> first progress, over real stdio -----------------------------------------------------

# The old rule, patched into a server for the baseline: the first report waits until TOKEN_REPORT_S after start.
OLD_RULE = """
import anyio
import ollama_mcp_tray.server.tools as tools
class Old(tools.TokenReports):
    def __init__(self):
        super().__init__()
        self.last = anyio.current_time()
tools.TokenReports = Old
"""
MAIN = "from ollama_mcp_tray.server.__main__ import main; raise SystemExit(main())"


class Driver(Session):
    """bench_server's JSON-RPC driver, also keeping each progress notification with its arrival time."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.notes: list[tuple[float, dict[str, Any]]] = []
        super().__init__(cmd, env)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            msg = json.loads(raw)
            if msg.get("method") == "notifications/progress":
                with self._cond:
                    self.notes.append((time.monotonic(), msg["params"]))
            elif "id" in msg and ("result" in msg or "error" in msg):
                with self._cond:
                    self._replies[msg["id"]] = msg
                    self._cond.notify_all()

    def generate(self, token: int, **extra: Any) -> list[tuple[float, str]]:
        """One ollama_generate with a progress token; the token notifications, (arrival, message)."""
        start = len(self.notes)
        arguments = {"model": MODEL, "prompt": "a few words here", **extra}
        reply = self.call(
            "tools/call", {"name": "ollama_generate", "arguments": arguments, "_meta": {"progressToken": token}}
        )
        assert not reply["result"].get("isError"), reply
        time.sleep(0.05)  # a notification sent just before the reply is read by now
        with self._cond:
            got = self.notes[start:]
        return [
            (t, p.get("message", ""))
            for t, p in got
            if p.get("progressToken") == token and "tokens" in p.get("message", "")
        ]


def private_env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA") and not k.startswith("XDG_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"),
        OLLAMA_URL=url, OLLAMA_DEFAULT_MODEL=MODEL, OLLAMA_MCP_LOG_LEVEL="WARNING",
    )  # fmt: skip
    return env


def bench_progress(rounds: int, tokens: int, home: Path) -> None:
    variants = {"old rule": [sys.executable, "-c", OLD_RULE + MAIN], "today": [sys.executable, "-c", MAIN]}
    delays: dict[str, list[float]] = {k: [] for k in variants}
    counts: dict[str, list[int]] = {k: [] for k in variants}
    with OllamaEmulator(token_delay=0.02, response_tokens=25, record=False) as emu:
        drivers = {name: Driver(cmd, private_env(home, emu.url)) for name, cmd in variants.items()}
        try:
            for d in drivers.values():
                d.handshake()
                d.generate(0)  # the model loaded, the connection open
            token = 0
            for _ in range(rounds):
                for name, d in drivers.items():
                    token += 1
                    emu.token_delay, emu.response_tokens = 0.02, 25
                    reports = d.generate(token)
                    delays[name].append(reports[0][0] - emu.first_lines[-1])
            for name, d in drivers.items():  # a long fast answer: how many notifications reach the client
                emu.token_delay, emu.response_tokens = 0.0, tokens
                for _ in range(3):
                    token += 1
                    counts[name].append(len(d.generate(token, num_predict=tokens)))
        finally:
            for d in drivers.values():
                d.close()
    print(f"\nfirst token -> first progress notification, over stdio (median of {rounds}; tokens 20 ms apart)")
    old, new = (statistics.median(delays[k]) * 1e3 for k in variants)
    print(f"  old rule {old:8.1f} ms   today {new:8.1f} ms   ratio {new / old:.3f}")
    print(f"token notifications for one {tokens}-token answer (instant emulator; median of 3):")
    print("  " + "   ".join(f"{k} {statistics.median(v):.0f}" for k, v in counts.items()))


# ---- spawn -> tools/list, with and without the lazy pathspec --------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pathspec_import_ms() -> float:
    """pathspec's cumulative import time in a process that has imported the server's modules first."""
    code = "import ollama_mcp_tray.server.app, ollama_mcp_tray.server.__main__; import pathspec"
    log = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True).stderr
    line = next(x for x in log.splitlines() if x.rstrip().endswith("| pathspec"))
    return int(line.split("|")[1]) / 1e3


def bench_start(rounds: int, home: Path) -> None:
    variants = {
        "eager pathspec": [sys.executable, "-c", "import pathspec\n" + MAIN],
        "lazy (today)": [sys.executable, "-c", MAIN],
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    with OllamaEmulator(record=False) as emu:
        env = private_env(home, emu.url)
        for index in range(rounds):
            order = list(variants.items())
            for name, cmd in order if index % 2 else reversed(order):  # each goes first in half the rounds
                s = Session(cmd, env)
                try:
                    times[name].append(s.handshake())
                    cpu = cpu_seconds(s.proc.pid)
                    if cpu is not None:
                        cpus[name].append(cpu)
                finally:
                    s.close()
    marginal = statistics.median(pathspec_import_ms() for _ in range(rounds))
    print(f"\nspawn -> tools/list answered (median of {rounds})")
    figures = [("wall", times)] + ([("cpu", cpus)] if all(cpus.values()) else [])
    for label, values in figures:
        eager, lazy = (statistics.median(values[k]) * 1e3 for k in variants)
        print(
            f"  {label:<5} eager pathspec {eager:7.0f} ms   lazy (today) {lazy:7.0f} ms   "
            f"saved {eager - lazy:5.0f} ms   ratio {lazy / eager:.3f}"
        )
    print(f"  what importing pathspec adds once the server's own modules are loaded (-X importtime): {marginal:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=9, help="rounds per figure (medians; at least 7 is sensible)")
    p.add_argument("--tokens", type=int, default=20_000)
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.serve:
        serve(a.serve)
        return
    bench_transport(3 * a.rounds, a.tokens)  # cheap and the noisiest figure: three times the rounds
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as home:
        bench_progress(a.rounds, a.tokens, Path(home))
        bench_start(2 * a.rounds, Path(home))  # a 70 ms difference in a start of about a second: more rounds


if __name__ == "__main__":
    main()
