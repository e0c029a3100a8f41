#!/usr/bin/env python3
"""What following the settings and key files costs a tool call, and how fast a switch of server is taken up.

    python bench/bench_follow.py [--rounds N]

1. `ToolContext.require_client()` (run at every tool call) with the connection followed (two stat calls, and a
   re-resolution when a file changed) against the same call without following, in the same run: medians in
   microseconds and their ratio.
2. `servers.activate()` (the tray's switch: four small file writes) and the first `require_client()` after it
   (re-resolving and building the new client): medians in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.config import resolve_config  # noqa: E402
from ollama_mcp_tray.server.ollama_client import OllamaClient  # noqa: E402
from ollama_mcp_tray.server.paths import AppPaths  # noqa: E402
from ollama_mcp_tray.server.tools import ToolContext  # noqa: E402
from ollama_mcp_tray.tray import servers  # noqa: E402
from ollama_mcp_tray.tray.app_settings import save_settings  # noqa: E402


def per_call_us(tc: ToolContext, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        tc.require_client()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp) / "config", Path(tmp) / "data", Path(tmp) / "logs")
        save_settings(paths.settings_file, {"ollama_url": "http://127.0.0.1:11434"})
        servers.add_server(paths, "GPU box", "http://127.0.0.1:11500", key="k")
        config = resolve_config({}, paths)
        plain = ToolContext(config=config, client=OllamaClient(config), usage=None)
        followed = ToolContext(
            config=config,
            client=OllamaClient(config),
            usage=None,
            settings_file=paths.settings_file,
            key_file=paths.key_file,
            resolve=lambda: resolve_config({}, paths),
        )
        base = per_call_us(plain, args.rounds)
        follow = per_call_us(followed, args.rounds)
        print(f"require_client, not following: median {base:.2f} us")
        print(f"require_client, following:     median {follow:.2f} us  ({follow / base:.1f}x, +{follow - base:.2f} us)")

        switches, first_calls = [], []
        targets = ["gpu-box", "this-machine"]
        for n in range(200):
            start = time.perf_counter()
            servers.activate(paths, targets[n % 2])
            switched = time.perf_counter()
            followed.require_client()
            done = time.perf_counter()
            switches.append((switched - start) * 1000)
            first_calls.append((done - switched) * 1000)
        assert followed.config.base_url == "http://127.0.0.1:11434"  # 200 switches: back on this machine
        print(f"servers.activate:               median {statistics.median(switches):.2f} ms")
        print(f"first require_client after it:  median {statistics.median(first_calls):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
