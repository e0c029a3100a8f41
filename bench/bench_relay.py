"""Benchmark the relay and the resident server (issue 13) side by side with the peers, in one run.

    .venv/bin/python bench/bench_relay.py [--spawns 6] [--calls 200] [--sessions 10] [--cache DIR]

Prints medians and ratios of:
  * spawn until `tools/list` is answered, for the reference Node server (../shared/peers/seed-node), the npm
    `ollama-mcp` 2.1.0 and the PyPI `ollama-handoff` 0.1.3 (installed, pinned, into --cache by this script),
    and ours: `--direct` (today's server), cold (the relay with no resident: it serves in-process and starts
    one) and warm (a resident runs: the relay connects to it);
  * the cost of one `ollama_generate` call through the relay against the same call to a direct server;
  * 10 concurrent sessions through one resident: its RSS (and the relays') against 10 direct servers' RSS;
  * a SIGKILL of the resident while every session has a call in flight: how many sessions got a clear error,
    how many hung, and how many answered their next call (through the relay's fallback).

Every server talks to the Ollama emulator (tests/ollama_emulator.py) on loopback, through the same minimal
JSON-RPC driver over real stdio (bench_server.Session). Rounds alternate between the servers, so machine
noise hits all alike. Ours run with private app folders in a temporary folder (their own resident), never the
user's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_server import Emulator, Session, generate_args, prepare_node_server  # noqa: E402

from ollama_mcp_tray.server.resident import status as rs  # noqa: E402
from ollama_mcp_tray.server.resident.places import Places  # noqa: E402
from ollama_mcp_tray.server.resident.wire import build_fingerprint  # noqa: E402
from tests.server.resident.kit import alive  # noqa: E402

NPM_PEER = ("ollama-mcp", "2.1.0")
PYPI_PEER = ("ollama-handoff", "0.1.3")
# The team's shared folder sits beside the main checkout; a worktree is one level further down.
NODE_DIRS = [ROOT.parent / "shared" / "peers" / "seed-node", ROOT.parent.parent / "shared" / "peers" / "seed-node"]
OURS = [sys.executable, "-I", "-m", "ollama_mcp_tray.server"]  # what `enable` registers for a source install


# ---- the peers ------------------------------------------------------------------------------------------


def prepare_npm_peer(cache: Path) -> list[str] | None:
    """`npm install ollama-mcp@2.1.0` into cache/npm (once); its command, or None without npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None
    folder = cache / "npm"
    entry = folder / "node_modules" / NPM_PEER[0] / "dist" / "index.js"
    if not entry.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        spec = f"{NPM_PEER[0]}@{NPM_PEER[1]}"
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), spec], check=True,
                       capture_output=True, timeout=600)  # fmt: skip
    return [node, str(entry)]


def prepare_pypi_peer(cache: Path) -> list[str] | None:
    """`pip install ollama-handoff==0.1.3` into its own venv in cache/handoff (once); its command."""
    venv = cache / "handoff"
    script = venv / "bin" / PYPI_PEER[0]
    if not script.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        pin = f"{PYPI_PEER[0]}=={PYPI_PEER[1]}"
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", pin], check=True, capture_output=True, timeout=600)
    return [str(script)] if script.is_file() else None


# ---- our resident ---------------------------------------------------------------------------------------


class Ours:
    """Our server's app folders for the bench (temporary), and its resident's life."""

    def __init__(self, base: dict[str, str], root: Path) -> None:
        runtime = root / "run"
        runtime.mkdir(mode=0o700, parents=True)
        self.env = {
            **base,
            "HOME": str(root),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_RUNTIME_DIR": str(runtime),
            "OLLAMA_MCP_RESIDENT": "1",
        }
        self.places = Places.from_env(self.env)
        self.build = build_fingerprint()

    def status(self) -> rs.ResidentStatus:
        return rs.query_status(self.places.socket, build=self.build)

    def wait_running(self, limit: float = 30.0) -> rs.Running:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            status = self.status()
            if isinstance(status, rs.Running):
                return status
            time.sleep(0.05)
        raise SystemExit(f"no resident answered within {limit:.0f} s: {self.status().describe()}")

    def start_resident(self) -> rs.Running:
        """A resident of our own, started as the relay starts one, warm when this returns."""
        subprocess.Popen([*OURS, "--resident"], env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, cwd=self.env["HOME"])  # fmt: skip
        running = self.wait_running()
        # Warm means ready to serve a session at once: one session through it, so its imports are done.
        warm = Session(OURS, self.env)
        warm.handshake()
        warm.close()
        return running

    def stop_resident(self, sig: int = signal.SIGTERM, limit: float = 15.0) -> None:
        """End the resident (if one answers) and wait until it is gone (its socket no longer answers)."""
        status = self.status()
        if isinstance(status, rs.Running | rs.OtherVersion):
            with contextlib.suppress(ProcessLookupError):
                os.kill(status.pid, sig)
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline and alive(status.pid):
                time.sleep(0.02)
        # A starting resident holds the lock before it answers: wait for that one too, then end it.
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            status = self.status()
            if isinstance(status, rs.Running):
                os.kill(status.pid, sig)
            elif not _lock_held(self.places):
                return
            time.sleep(0.05)


def _lock_held(places: Places) -> bool:
    from ollama_mcp_tray.server.resident.spawn import resident_starting_or_running

    return resident_starting_or_running(places)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


# ---- the measurements -----------------------------------------------------------------------------------


def spawn_times(
    servers: dict[str, tuple[list[str], dict[str, str]]], ours: Ours, rounds: int
) -> dict[str, list[float]]:
    """spawn -> tools/list answered, alternating servers each round. Ours cold: no resident at spawn (the one
    the relay starts is ended after); warm: a resident started before the round."""
    times: dict[str, list[float]] = {name: [] for name in [*servers, "ours cold (relay)", "ours warm (relay)"]}
    for _ in range(rounds):
        for name, (cmd, env) in servers.items():
            times[name].append(_one_spawn(cmd, env))
        ours.stop_resident()
        times["ours cold (relay)"].append(_one_spawn(OURS, ours.env))
        ours.wait_running()  # the cold relay started one: it must come up (that is the point of the cold path)
        ours.stop_resident()
        ours.start_resident()
        times["ours warm (relay)"].append(_one_spawn(OURS, ours.env))
        ours.stop_resident()
    return times


def _one_spawn(cmd: list[str], env: dict[str, str]) -> float:
    session = Session(cmd, env)
    try:
        return session.handshake()
    finally:
        session.close()


def call_times(ours: Ours, direct_env: dict[str, str], calls: int) -> tuple[list[float], list[float]]:
    """One ollama_generate call: through the relay to a warm resident, and to a direct server (alternating)."""
    ours.start_resident()
    relay = Session(OURS, ours.env)
    direct = Session([*OURS, "--direct"], direct_env)
    through, straight = [], []
    for session in (relay, direct):
        session.handshake()
        for _ in range(30):
            session.call("tools/call", generate_args())
    batch = 25
    for _ in range(max(1, calls // batch)):
        for session, into in ((relay, through), (direct, straight)):
            for _ in range(batch):
                began = time.perf_counter()
                reply = session.call("tools/call", generate_args())
                into.append(time.perf_counter() - began)
                assert not reply["result"].get("isError"), reply
    relay.close()
    direct.close()
    ours.stop_resident()
    return through, straight


def memory(ours: Ours, direct_env: dict[str, str], n: int) -> dict[str, float]:
    """RSS after n sessions each made 3 calls: the resident and its relays, against n direct servers.

    The relays are all started first and the direct servers after, so 2n interpreters starting at once do not
    starve the resident past the relay's hello timeout (a relay that gets no answer serves in-process)."""
    running = ours.start_resident()
    relays = [Session(OURS, ours.env) for _ in range(n)]
    for session in relays:
        session.handshake()
        for _ in range(3):
            session.call("tools/call", generate_args())
    status = ours.status()
    through = status.sessions if isinstance(status, rs.Running) else -1
    directs = [Session([*OURS, "--direct"], direct_env) for _ in range(n)]
    for session in directs:
        session.handshake()
        for _ in range(3):
            session.call("tools/call", generate_args())
    time.sleep(1.0)  # settle: idle memory, not mid-request
    figures = {
        "resident": rss_mb(running.pid),
        "relays": sum(rss_mb(s.proc.pid) for s in relays),
        "direct": sum(rss_mb(s.proc.pid) for s in directs),
        "sessions": float(through),
    }
    for session in relays + directs:
        session.close()
    ours.stop_resident()
    return figures


def crash(ours: Ours, slow_env: dict[str, str], n: int, limit: float) -> dict[str, int]:
    """n sessions through one resident, each with a slow call in flight; SIGKILL the resident. Each call must
    end in a clear error within `limit` s, and the session must answer its next call (the fallback)."""
    env = {**ours.env, **slow_env}
    running = ours.start_resident()
    sessions = []
    for _ in range(n):  # one after the other: n relays starting at once may miss the hello timeout (in-process)
        sessions.append(Session(OURS, env))
        sessions[-1].handshake()
    status = ours.status()
    counts = {"through the resident": status.sessions if isinstance(status, rs.Running) else -1}
    ids = [s.send("tools/call", generate_args()) for s in sessions]
    time.sleep(0.5)  # the calls are in flight (each takes ~2 s)
    killed = time.perf_counter()
    os.kill(running.pid, signal.SIGKILL)
    took: list[float] = []
    counts.update({"clear error": 0, "finished (in-process)": 0, "other answer": 0, "hung": 0})
    outcomes: list[str] = [""] * n

    def wait_one(i: int) -> None:
        try:
            reply = sessions[i].wait(ids[i], timeout=limit)
        except TimeoutError:
            outcomes[i] = "hung"
            return
        took.append(time.perf_counter() - killed)
        text = str(reply.get("result", {}).get("content") or reply.get("error", {}).get("message", ""))
        failed = reply.get("result", {}).get("isError") or "error" in reply
        if failed and "stopped" in text.lower():
            outcomes[i] = "clear error"
        elif not failed:
            outcomes[i] = "finished (in-process)"  # a relay that had fallen back at connect: the kill missed it
        else:
            outcomes[i] = "other answer"
            print(f"    session {i}: {text[:200]}", file=sys.stderr)

    _each(wait_one, n)
    for outcome in outcomes:
        counts[outcome] += 1
    answered: list[bool] = [False] * n

    def next_call(i: int) -> None:
        if outcomes[i] == "hung":
            return
        try:
            reply = sessions[i].call("tools/call", generate_args())
        except TimeoutError:
            print(f"    session {i}: its next call had no answer", file=sys.stderr)
            return
        answered[i] = not reply.get("result", {}).get("isError") and "error" not in reply
        if not answered[i]:
            print(f"    session {i}: its next call failed: {str(reply)[:200]}", file=sys.stderr)

    _each(next_call, n)
    counts["next call answered"] = sum(answered)
    counts["ms from the kill to the answer (median)"] = round(statistics.median(took) * 1e3) if took else -1
    for session in sessions:
        with contextlib.suppress(OSError):
            session.close()
    ours.stop_resident()  # the relays started a new one for future sessions
    return counts


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def _each(job: Callable[[int], None], n: int) -> None:
    threads = [threading.Thread(target=job, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---- the report -----------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spawns", type=int, default=6)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / f"ollama-mcp-bench-peers-{os.getuid()}")
    a = p.parse_args()

    fast = Emulator()
    slow = Emulator("--token-delay", "0.1", "--response-tokens", "20")  # a 2 s generation
    base = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["OLLAMA_MCP_LOG_LEVEL"] = "WARNING"
    # Every peer reads one of these for Ollama's address.
    base.update(OLLAMA_URL=fast.url, OLLAMA_HOST=fast.url, OLLAMA_BASE_URL=fast.url)
    root = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    ours = Ours(base, root / "ours")
    direct_env = {**ours.env, "OLLAMA_MCP_RESIDENT": "0"}
    servers: dict[str, tuple[list[str], dict[str, str]]] = {}
    a.cache.mkdir(parents=True, exist_ok=True)
    source = next((d for d in NODE_DIRS if d.is_dir()), NODE_DIRS[0])
    seed = prepare_node_server(a.cache / "seed-node", source)
    if seed is not None and shutil.which("node"):
        servers["node (reference)"] = ([str(shutil.which("node")), str(seed)], base)
    for label, prepare in ((f"npm {NPM_PEER[0]} {NPM_PEER[1]}", prepare_npm_peer),
                           (f"pypi {PYPI_PEER[0]} {PYPI_PEER[1]}", prepare_pypi_peer)):  # fmt: skip
        try:
            command = prepare(a.cache)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"({label}: could not install: {exc})")
            command = None
        if command:
            servers[label] = (command, base)
    if not servers:
        print(f"(no node, npm or peers: printing our own figures only; reference server looked for at {source})")
    servers["ours --direct"] = ([*OURS, "--direct"], direct_env)
    try:
        progress(f"spawn -> tools/list, {a.spawns} rounds of {len(servers) + 2} servers")
        spawns = spawn_times(servers, ours, a.spawns)
        progress(f"{a.calls} calls through the relay and to a direct server")
        through, straight = call_times(ours, direct_env, a.calls)
        progress(f"{a.sessions} sessions through one resident, {a.sessions} direct servers")
        mem = memory(ours, direct_env, a.sessions)
        progress(f"SIGKILL of the resident under {a.sessions} calls")
        slow_env = {"OLLAMA_URL": slow.url, "OLLAMA_HOST": slow.url}
        crashed = crash(ours, slow_env, a.sessions, limit=40.0)
    finally:
        ours.stop_resident(signal.SIGKILL)
        fast.close()
        slow.close()
        shutil.rmtree(root, ignore_errors=True)
    report(spawns, through, straight, mem, crashed, a)


def report(spawns: dict[str, list[float]], through: list[float], straight: list[float], mem: dict[str, float],
           crashed: dict[str, int], a: argparse.Namespace) -> None:  # fmt: skip
    medians = {name: statistics.median(values) for name, values in spawns.items()}
    node = medians.get("node (reference)")
    direct = medians["ours --direct"]
    print(f"\nspawn -> tools/list answered (median of {a.spawns}, alternating rounds)")
    print(f"{'server':<28}{'median':>10}{'x node':>9}{'x ours direct':>15}")
    for name, value in medians.items():
        vs_node = f"{value / node:>9.2f}" if node else f"{'-':>9}"
        print(f"{name:<28}{value * 1e3:>7.0f} ms{vs_node}{value / direct:>15.2f}")
    relay, plain = statistics.median(through), statistics.median(straight)
    print(f"\none ollama_generate call, instant Ollama (median of {len(through)} each)")
    print(f"  through the relay to a warm resident {relay * 1e3:.3f} ms; direct server {plain * 1e3:.3f} ms")
    print(f"  relay overhead {(relay - plain) * 1e3:+.3f} ms per call (ratio {relay / plain:.2f})")
    n = a.sessions
    total = mem["resident"] + mem["relays"]
    print(f"\n{n} concurrent sessions, idle after 3 calls each ({mem['sessions']:.0f} of them through the resident)")
    print(f"  one resident {mem['resident']:.1f} MB + {n} relays {mem['relays']:.1f} MB = {total:.1f} MB")
    print(f"  {n} direct servers {mem['direct']:.1f} MB; ratio resident/direct {mem['resident'] / mem['direct']:.2f}, "
          f"with relays {total / mem['direct']:.2f}")  # fmt: skip
    print(f"\nSIGKILL of the resident with {n} calls in flight")
    print("  " + ", ".join(f"{key}: {value}" for key, value in crashed.items()))


if __name__ == "__main__":
    main()
