"""Benchmark the stdio MCP server side by side with the reference Node server, against the same emulator.

    .venv/bin/python bench/bench_server.py [--spawns 10] [--calls 200] [--parallel-rounds 5]

Prints medians and ratios of:
  * spawn until `tools/list` is answered;
  * the overhead of one `ollama_generate` call with an instant Ollama, over the same request sent straight
    to the emulator (the floor);
  * 8 parallel calls of a 1 s generation (wall time until all 8 answered);
  * resident memory at idle after a few calls;
and a profile of where our start-up time goes (python -X importtime).

Both servers are driven by the same minimal JSON-RPC driver over their real stdio, so the client's own cost
is the same for both. Where ../shared/peers/seed-node is absent (a user's checkout) or node is missing, only
our own figures are printed.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT.parent / "shared" / "peers" / "seed-node"
PROTOCOL = "2025-06-18"
MODEL = "qwen2.5-coder:3b"


class Emulator:
    """The test emulator as a separate process, so it does not share a GIL with the driver."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "ollama_emulator.py"), "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise SystemExit(f"emulator did not start: {self.url!r}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Session:
    """One MCP server process and a line-oriented JSON-RPC driver over its stdio."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0
        )
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        # bufsize=0 keeps our writes immediate, but a raw pipe's readline reads one byte per system call: a
        # 44 KB tools/list reply took 30 ms to read that way. Read the replies through a buffer, as clients do.
        for raw in io.BufferedReader(self.proc.stdout, 1 << 16):
            msg = json.loads(raw)
            if "id" in msg and ("result" in msg or "error" in msg):
                with self._cond:
                    self._replies[msg["id"]] = msg
                    self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, notify: bool = False) -> int:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        ident = -1
        if not notify:
            self._next += 1
            ident = msg["id"] = self._next
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        return ident

    def wait(self, ident: int, timeout: float = 60) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: ident in self._replies, timeout):
                raise TimeoutError(f"no reply to request {ident}")
            return self._replies.pop(ident)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.wait(self.send(method, params))

    def handshake(self) -> float:
        """Initialize and list tools; returns seconds from spawn to the tools/list answer."""
        self.call(
            "initialize",
            {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        )
        self.send("notifications/initialized", notify=True)
        reply = self.call("tools/list", {})
        assert reply["result"]["tools"], reply
        return time.perf_counter() - self.started

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="utf-8")
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kb / 1024

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def generate_args() -> dict[str, Any]:
    return {"name": "ollama_generate", "arguments": {"model": MODEL, "prompt": "Say hello."}}


def floor_latency(url: str, n: int) -> list[float]:
    """The same request a server makes, sent straight to the emulator on a kept-alive connection."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    body = json.dumps({"model": MODEL, "prompt": "Say hello.", "stream": False})
    times = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("POST", "/api/generate", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
        times.append(time.perf_counter() - t)
    conn.close()
    return times


def measure_all(servers: dict[str, list[str]], env: dict[str, str], fast: str, slow: str, a: argparse.Namespace):
    """Each figure is taken in rounds that alternate between the servers, so machine noise hits both alike."""
    figures: dict[str, dict[str, list[float]]] = {
        n: {"spawn": [], "rss": [], "call": [], "parallel": []} for n in servers
    }
    floors: list[float] = []
    for _ in range(a.spawns):
        for name, cmd in servers.items():
            s = Session(cmd, {**env, "OLLAMA_URL": fast})
            figures[name]["spawn"].append(s.handshake())
            for _ in range(3):
                s.call("tools/call", generate_args())
            time.sleep(1.0)  # settle: idle memory, not mid-request
            figures[name]["rss"].append(s.rss_mb())
            s.close()

    sessions = {name: Session(cmd, {**env, "OLLAMA_URL": fast}) for name, cmd in servers.items()}
    for s in sessions.values():
        s.handshake()
        for _ in range(30):  # warm up connections and caches
            s.call("tools/call", generate_args())
    batch = 25
    for _ in range(max(1, a.calls // batch)):
        floors.extend(floor_latency(fast, batch))
        for name, s in sessions.items():
            for _ in range(batch):
                t = time.perf_counter()
                reply = s.call("tools/call", generate_args())
                figures[name]["call"].append(time.perf_counter() - t)
                assert not reply["result"].get("isError"), reply
    for s in sessions.values():
        s.close()

    sessions = {name: Session(cmd, {**env, "OLLAMA_URL": slow}) for name, cmd in servers.items()}
    for s in sessions.values():
        s.handshake()
        s.call("tools/call", generate_args())
    for _ in range(a.parallel_rounds):
        for name, s in sessions.items():
            t = time.perf_counter()
            ids = [s.send("tools/call", generate_args()) for _ in range(8)]
            for i in ids:
                assert not s.wait(i)["result"].get("isError")
            figures[name]["parallel"].append(time.perf_counter() - t)
    for s in sessions.values():
        s.close()
    medians = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
    return statistics.median(floors), medians


def import_profile(top: int = 10) -> list[tuple[float, str]]:
    """Where our start-up goes: import time (self, summed) per top-level package, the largest first."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import ollama_mcp_tray.server.app"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    ).stderr
    rows: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or "cumulative" in line:
            continue
        package = parts[2].strip().split(".")[0]
        rows[package] = rows.get(package, 0.0) + int(parts[0].split(":")[1]) / 1e6
    return sorted(((t, n) for n, t in rows.items()), reverse=True)[:top]


def prepare_node_server(work: Path | None = None, source: Path = NODE_DIR) -> Path | None:
    """Copy the read-only reference server `source` to `work` (default .tools/seed-node) and `npm ci` it there
    (once)."""
    if not (source / "package-lock.json").is_file() or not shutil.which("npm"):
        return None
    work = work or ROOT / ".tools" / "seed-node"
    if not (work / "node_modules").is_dir():
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(source, work)
        for f in work.iterdir():
            f.chmod(0o644)
        work.chmod(0o755)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=work, check=True, capture_output=True)
    return work / "ollama-mcp-server.mjs"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawns", type=int, default=10)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--parallel-rounds", type=int, default=5)
    a = p.parse_args()

    fast = Emulator()
    slow = Emulator("--token-delay", "0.05", "--response-tokens", "20")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA")}
    env["OLLAMA_MCP_LOG_LEVEL"] = "WARNING"
    # Some shells set this; a user's install writes bytecode caches, so the spawned server should too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    servers = {"python (ours)": [sys.executable, "-m", "ollama_mcp_tray.server"]}
    node = shutil.which("node")
    seed = prepare_node_server()
    if node and seed:
        servers["node (seed)"] = [node, str(seed)]
    else:
        print(f"(no node, or no reference server at {NODE_DIR}: printing our own figures only)")
    try:
        floor, results = measure_all(servers, env, fast.url, slow.url, a)
    finally:
        fast.close()
        slow.close()

    print(f"\nmedians; floor (the same POST /api/generate sent straight to the emulator): {floor * 1e3:.3f} ms\n")
    print(f"{'server':<16}{'spawn->tools/list':>19}{'call':>11}{'overhead':>11}{'8x1s parallel':>15}{'idle RSS':>11}")
    for name, r in results.items():
        print(
            f"{name:<16}{r['spawn'] * 1e3:>16.0f} ms{r['call'] * 1e3:>8.2f} ms"
            f"{(r['call'] - floor) * 1e3:>8.2f} ms{r['parallel']:>13.3f} s{r['rss']:>8.1f} MB"
        )
    if len(results) == 2:
        ours, theirs = results.values()
        print(
            f"{'ratio ours/node':<16}{ours['spawn'] / theirs['spawn']:>19.2f}{ours['call'] / theirs['call']:>11.2f}"
            f"{(ours['call'] - floor) / (theirs['call'] - floor):>11.2f}"
            f"{ours['parallel'] / theirs['parallel']:>15.2f}{ours['rss'] / theirs['rss']:>11.2f}"
        )
    print("\nwhere our start-up goes (import time per top-level package, self time summed):")
    for seconds, name in import_profile():
        print(f"  {seconds * 1e3:7.0f} ms  {name}")


if __name__ == "__main__":
    main()
