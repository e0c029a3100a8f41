"""The relay against the direct server, side by side in one run, over real stdio.

    .venv/bin/python bench/bench_relay_core.py [--spawns 9] [--calls 200] [--cold 5]

Prints medians and ratios of:
  * spawn until `tools/list` is answered: the direct server (`--direct`, today's start) and the registered
    command through the relay with a warm resident;
  * one call's round trip (`ping` and `ollama_list_models` against an instant emulator) through the relay and
    straight to a direct server, and the difference: the relay's per-call overhead.

Spawns alternate between the two forms so machine noise hits both alike. The resident runs in a temporary
HOME of its own and is stopped at the end. (bench/bench_relay.py, the integration helper's, adds the Node
reference server, the peers and the cold start.)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_server import Emulator, Session
from ollama_mcp_tray.server.resident.places import Places

REGISTERED = [sys.executable, "-I", "-m", "ollama_mcp_tray.server"]
DIRECT = [*REGISTERED, "--direct"]


def user_env(home: Path, url: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CONFIG_HOME": str(home / "c"),
        "XDG_DATA_HOME": str(home / "d"),
        "XDG_STATE_HOME": str(home / "s"),
        "OLLAMA_URL": url,
        "OLLAMA_MCP_RESIDENT": "1",
        "OLLAMA_MCP_RESIDENT_IDLE_S": "600",
    }


def wait_for_resident(places: Places, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if places.socket.exists() and places.lock.exists():
            text = places.lock.read_text(encoding="utf-8").strip()
            if text.isdigit():
                return int(text)
        time.sleep(0.05)
    raise SystemExit("no resident started")


def stop(pid: int) -> None:
    """SIGTERM a resident and wait until it is gone (its lock released)."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def per_call(env: dict[str, str], calls: int, method: str, params: dict[str, object]) -> dict[str, float]:
    """Median round trip of one call, through the relay and straight to a direct server, in alternating
    batches of 25 so that machine noise hits both alike."""
    sessions = {"relay": Session(REGISTERED, env), "direct": Session(DIRECT, env)}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for session in sessions.values():
        session.handshake()
        for _ in range(20):
            session.call(method, params)
    for _ in range(max(1, calls // 25)):
        for name, session in sessions.items():
            for _ in range(25):
                started = time.perf_counter()
                reply = session.call(method, params)
                times[name].append(time.perf_counter() - started)
                assert "result" in reply and not reply["result"].get("isError"), reply
    for session in sessions.values():
        session.close()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spawns", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warmup", default="", help="OLLAMA_MCP_RESIDENT_WARMUP_S for the cold starts")
    a = parser.parse_args()
    emulator = Emulator()
    home = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    env = user_env(home, emulator.url)
    places = Places.from_env(env)
    resident_pid: int | None = None
    try:
        warmup = Session(REGISTERED, env)  # the cold path: served in-process, starts the resident
        warmup.handshake()
        warmup.close()
        resident_pid = wait_for_resident(places)
        time.sleep(2.0)  # its warm-up is over
        spawn: dict[str, list[float]] = {"direct": [], "warm": [], "cold": []}
        for _ in range(a.spawns):
            for name, cmd in (("direct", DIRECT), ("warm", REGISTERED)):
                session = Session(cmd, env)
                spawn[name].append(session.handshake())
                session.close()
        cold_env = {
            **user_env(home / "cold", emulator.url),
            **({"OLLAMA_MCP_RESIDENT_WARMUP_S": a.warmup} if a.warmup else {}),
        }
        cold_places = Places.from_env(cold_env)
        for _ in range(a.cold):  # no resident: served in-process while the one it starts warms up
            session = Session(REGISTERED, cold_env)
            spawn["cold"].append(session.handshake())
            session.close()
            stop(wait_for_resident(cold_places))
        direct = statistics.median(spawn["direct"])
        print(f"spawn -> tools/list answered (median of {a.spawns}; cold: of {a.cold}):")
        print(f"  direct server (--direct)      {direct * 1000:8.1f} ms")
        for name, label in (("warm", "relay, warm resident"), ("cold", "relay, no resident (cold)")):
            value = statistics.median(spawn[name])
            print(f"  {label:<29} {value * 1000:8.1f} ms   {value / direct:.2f}x of direct")
        list_models = {"name": "ollama_list_models", "arguments": {}}
        for label, method, params in (("ping", "ping", {}), ("ollama_list_models", "tools/call", list_models)):
            medians = per_call(env, a.calls, method, params)
            through, straight = medians["relay"], medians["direct"]
            print(f"{label}, median of {a.calls} calls:")
            print(f"  direct {straight * 1000:7.3f} ms   relay {through * 1000:7.3f} ms   "
                  f"overhead {(through - straight) * 1000:+.3f} ms ({through / straight:.2f}x)")  # fmt: skip
    finally:
        if resident_pid is not None:
            stop(resident_pid)
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
