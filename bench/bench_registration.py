"""Registration speed on a large ~/.claude.json: ours (in process, and as a CLI process) vs Claude Code's own CLI.

    python bench/bench_registration.py [--size-mb 10] [--reps 5] [--claude PATH]

Builds a ~10 MB ~/.claude.json (many projects with long tool lists, file lists and model-usage tables: the
parts Claude Code keeps; it moves prompt history out of this file on first start) in a temporary HOME, lets
Claude Code normalize it once, then times, on the same starting file each repetition:
    ours, in process   Registrar.enable + Registrar.disable (user scope), one new Registrar per repetition
    ours, no renameat2 the same with the swap-and-check of the displaced file turned off (check, then replace),
                       to show what renameat2(RENAME_EXCHANGE) costs
    ours, CLI          `ollama-mcp-tray enable` + `ollama-mcp-tray disable` (fresh Python processes)
    claude             `claude mcp add-json ollama '<json>' --scope user` + `claude mcp remove ollama --scope user`
and prints the medians and the ratios (target: ours <= 0.25x Claude Code's time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.paths import AppPaths  # noqa: E402
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome  # noqa: E402
from ollama_mcp_tray.tray.clients.registrar import Registrar, Scope, Target, build_entry  # noqa: E402
from ollama_mcp_tray.tray.configfile import safe_edit  # noqa: E402
from ollama_mcp_tray.tray.launch import ServerLaunch  # noqa: E402

DEFAULT_CLAUDE = ROOT / ".tools" / "claude" / "node_modules" / ".bin" / "claude"


def big_document(size_mb: float, seed: int = 1) -> dict:
    rng = random.Random(seed)

    def words(n: int) -> str:
        return " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(n))

    projects = {}
    total = 0
    i = 0
    while total < size_mb * 1_000_000:
        project = {
            "allowedTools": [f"Bash({words(3)}:*)" for _ in range(40)],
            "mcpContextUris": [],
            "mcpServers": {},
            "enabledMcpjsonServers": [],
            "disabledMcpjsonServers": [],
            "hasTrustDialogAccepted": True,
            "projectOnboardingSeenCount": 3,
            "exampleFiles": [f"src/{words(1)}/{words(1)}.py" for _ in range(30)],
            "lastModelUsage": {
                f"model-{k}": {"inputTokens": rng.randint(1, 10**6), "costUSD": rng.random()} for k in range(8)
            },
            "notes": words(300),
        }
        projects[f"/home/user/src/project-{i:05d}"] = project
        total += len(json.dumps(project, indent=2)) + 40
        i += 1
    return {"numStartups": 412, "theme": "dark", "projects": projects, "userID": "0" * 64}


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--claude", type=Path, default=Path(os.environ.get("CLAUDE_BIN", DEFAULT_CLAUDE)))
    args = parser.parse_args()
    if not args.claude.is_file():
        print(f"Claude Code CLI not found at {args.claude}; run tests/setup/20-claude-cli.sh", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        claude_json = home / ".claude.json"
        claude_json.write_text(json.dumps(big_document(args.size_mb), indent=2), encoding="utf-8")
        launch = ServerLaunch(sys.executable, ("-m", "ollama_mcp_tray.server"))
        entry = json.dumps(build_entry(launch, {}, Scope.USER))

        def claude(*argv: str) -> None:
            subprocess.run([str(args.claude), *argv], env=env, cwd=home, check=True, capture_output=True, timeout=300)

        # Let Claude Code migrate and normalize the file once, so every run starts from its steady state.
        claude("mcp", "add-json", "ollama", entry, "--scope", "user")
        claude("mcp", "remove", "ollama", "--scope", "user")
        baseline = home / "baseline.json"
        shutil.copyfile(claude_json, baseline)
        size = claude_json.stat().st_size

        paths = AppPaths(config_dir=home / ".config" / "ollama-mcp-tray", data_dir=home / "data", log_dir=home / "log")
        target = Target(Scope.USER, "ollama")

        def ours_in_process() -> None:
            # A fresh Registrar each time: one remembers its own last write, and every repetition starts from
            # the same file, so a shared one would skip the first parse of every repetition after the first.
            registrar = Registrar(paths, ClaudeHome(home / ".claude", claude_json), launch)
            registrar.enable(target)
            registrar.disable(target)

        def ours_without_exchange() -> None:
            exchange = safe_edit._renameat2
            safe_edit._renameat2 = lambda src, dst, flags: False  # as on a system without renameat2
            try:
                ours_in_process()
            finally:
                safe_edit._renameat2 = exchange

        def ours_cli() -> None:
            for command in ("enable", "disable"):
                subprocess.run(
                    [sys.executable, "-m", "ollama_mcp_tray.tray", command],
                    env=env,
                    cwd=home,
                    check=True,
                    capture_output=True,
                    timeout=300,
                )

        def claude_cli() -> None:
            claude("mcp", "add-json", "ollama", entry, "--scope", "user")
            claude("mcp", "remove", "ollama", "--scope", "user")

        results: dict[str, list[float]] = {
            "ours (in process)": [],
            "ours (in process, no renameat2)": [],
            "ours (CLI process)": [],
            "claude mcp add-json+remove": [],
        }
        actions = (ours_in_process, ours_without_exchange, ours_cli, claude_cli)
        for _ in range(args.reps):
            for name, action in zip(results, actions, strict=True):
                shutil.copyfile(baseline, claude_json)
                results[name].append(timed(action))
                after = json.loads(claude_json.read_text(encoding="utf-8"))
                assert "ollama" not in after.get("mcpServers", {}), name

        print(f"file: {size / 1e6:.1f} MB, {args.reps} repetitions, enable+disable (user scope), medians:")
        medians = {name: statistics.median(times) for name, times in results.items()}
        reference = medians["claude mcp add-json+remove"]
        for name, value in medians.items():
            print(f"  {name:<32} {value * 1000:8.1f} ms   {value / reference:5.2f}x Claude Code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
