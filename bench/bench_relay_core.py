"""The relay against the direct server, side by side in one run, over real stdio.

    .venv/bin/python bench/bench_relay_core.py [--spawns 9] [--calls 200]

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


def per_call(cmd: list[str], env: dict[str, str], calls: int, method: str, params: dict[str, object]) -> list[float]:
    session = Session(cmd, env)
    session.handshake()
    for _ in range(20):
        session.call(method, params)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        reply = session.call(method, params)
        times.append(time.perf_counter() - started)
        assert "result" in reply and not reply["result"].get("isError"), reply
    session.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spawns", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
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
        spawn: dict[str, list[float]] = {"direct": [], "relay (warm resident)": []}
        for _ in range(a.spawns):
            for name, cmd in (("direct", DIRECT), ("relay (warm resident)", REGISTERED)):
                session = Session(cmd, env)
                spawn[name].append(session.handshake())
                session.close()
        direct, relay = statistics.median(spawn["direct"]), statistics.median(spawn["relay (warm resident)"])
        print(f"spawn -> tools/list answered, median of {a.spawns}:")
        print(f"  direct server (--direct)    {direct * 1000:8.1f} ms")
        print(f"  relay, warm resident        {relay * 1000:8.1f} ms   ratio {relay / direct:.2f}x of direct")
        list_models = {"name": "ollama_list_models", "arguments": {}}
        for label, method, params in (("ping", "ping", {}), ("ollama_list_models", "tools/call", list_models)):
            through = statistics.median(per_call(REGISTERED, env, a.calls, method, params))
            straight = statistics.median(per_call(DIRECT, env, a.calls, method, params))
            print(f"{label}, median of {a.calls} calls:")
            print(f"  direct {straight * 1000:7.3f} ms   relay {through * 1000:7.3f} ms   "
                  f"overhead {(through - straight) * 1000:+.3f} ms ({through / straight:.2f}x)")  # fmt: skip
    finally:
        if resident_pid is not None:
            os.kill(resident_pid, signal.SIGTERM)
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
