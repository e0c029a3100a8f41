"""Registration speed on a large ~/.claude.json: ours (in process, and as a CLI process) vs Claude Code's own CLI,
and what each of the editor's speed tricks is worth.

    python bench/bench_registration.py [--size-mb 10] [--reps 7] [--claude PATH]

Builds a ~10 MB ~/.claude.json (many projects with long tool lists, file lists and model-usage tables: the
parts Claude Code keeps; it moves prompt history out of this file on first start) in a temporary HOME, lets
Claude Code normalize it once, then times, on the same starting file each time, interleaved within each
repetition so that a busy machine slows every row alike:
    CLI enable           `ollama-mcp-tray enable` (a fresh Python process), against
    claude add-json      `claude mcp add-json ollama '<json>' --scope user`         (goal: ours <= 0.6x)
    CLI enable+disable   both commands, against add-json + `claude mcp remove ollama --scope user`
    CLI status           `ollama-mcp-tray status` with our entry in (Ollama not running): it reads the file once
    in process           Registrar.enable then Registrar.disable (user scope), one new Registrar per repetition
    no renameat2         the same with the swap-and-check of the displaced file turned off (check, then
                         replace), to show what renameat2(RENAME_EXCHANGE) costs
and, for each speed trick still in the code (TRICKS), the in-process and CLI rows again with that trick turned
off (the CLI rows through this script as the child, which turns it off and runs the CLI; the row "no trick
off" is that child with nothing turned off, its baseline). Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CLAUDE = ROOT / ".tools" / "claude" / "node_modules" / ".bin" / "claude"
CHILD = "--child-without"


TRICKS: dict[str, Callable[[], Callable[[], None]]] = {}
"""Each speed trick of the editor by name: what turns it off in this process and returns what turns it back on.
A trick stays in the code only while these rows show it matters. Measured and removed (10.8 MB, 9 repetitions,
medians of the paired differences off - on, CPU time): the gc toggle (+8 ms in process, -11 ms CLI enable), the
write cache (+53 ms in process with one Registrar for enable and disable, which no user action does; +11 ms CLI
enable, where it cannot hit) and the incremental re-parse it used (+73 ms, +8 ms)."""


def turn_off(tricks: Iterable[str]) -> Callable[[], None]:
    """Turn `tricks` off; returns what turns them back on."""
    undo = [TRICKS[name]() for name in tricks]
    return lambda: [restore() for restore in reversed(undo)] and None


def child(argv: list[str]) -> int:
    """`bench_registration.py --child-without a,b -- CLI ARGS`: the CLI with those tricks turned off."""
    names, cli_args = argv[1], argv[3:]
    turn_off(n for n in names.split(",") if n)
    from ollama_mcp_tray.tray.__main__ import main as tray_main

    return tray_main(cli_args)


def big_document(size_mb: float, seed: int = 1) -> dict:
    import random
    import string

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


def _cpu_seconds() -> float:
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _baseline_of(row: str) -> str | None:
    """The row a trick-off row is compared with: the same work with every trick on."""
    if row.startswith("CLI enable via child, no ") and not row.endswith("trick off"):
        return "CLI enable via child, no trick off"
    if row.startswith("in process, one Registrar, no "):
        return "in process, one Registrar"
    return None


def main() -> int:
    if sys.argv[1:2] == [CHILD]:
        return child(sys.argv[1:])
    import shutil
    import statistics
    import subprocess
    import tempfile

    from ollama_mcp_tray.server.paths import AppPaths
    from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
    from ollama_mcp_tray.tray.clients.registrar import Registrar, Scope, Target, build_entry
    from ollama_mcp_tray.tray.configfile import safe_edit
    from ollama_mcp_tray.tray.launch import ServerLaunch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--claude", type=Path, default=Path(os.environ.get("CLAUDE_BIN", DEFAULT_CLAUDE)))
    args = parser.parse_args()
    if not args.claude.is_file():
        print(f"Claude Code CLI not found at {args.claude}; run tests/setup/20-claude-cli.sh", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        # Ollama at a closed port: `status` reports it down at once, whatever runs on this machine.
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OLLAMA_URL": "http://127.0.0.1:9"}
        claude_json = home / ".claude.json"
        claude_json.write_text(json.dumps(big_document(args.size_mb), indent=2), encoding="utf-8")
        launch = ServerLaunch(sys.executable, ("-m", "ollama_mcp_tray.server"))
        entry = json.dumps(build_entry(launch, {}, Scope.USER))

        def run(argv: list[str]) -> None:
            done = subprocess.run(argv, env=env, cwd=home, capture_output=True, timeout=300)
            # `status` exits 5 for an Ollama that is down, which it is here.
            assert done.returncode == 0 or (argv[-1] == "status" and done.returncode == 5), done

        def claude(*argv: str) -> None:
            run([str(args.claude), *argv])

        # Let Claude Code migrate and normalize the file once, so every run starts from its steady state.
        claude("mcp", "add-json", "ollama", entry, "--scope", "user")
        claude("mcp", "remove", "ollama", "--scope", "user")
        baseline = home / "baseline.json"
        shutil.copyfile(claude_json, baseline)
        size = claude_json.stat().st_size
        run([sys.executable, "-m", "ollama_mcp_tray.tray", "enable"])
        registered = home / "registered.json"  # where `status` starts: our entry in
        shutil.copyfile(claude_json, registered)

        paths = AppPaths(config_dir=home / ".config" / "ollama-mcp-tray", data_dir=home / "data", log_dir=home / "log")
        target = Target(Scope.USER, "ollama")

        def registrar() -> Registrar:
            return Registrar(paths, ClaudeHome(home / ".claude", claude_json), launch)

        def in_process_shared() -> None:
            shared = registrar()
            shared.enable(target)
            shared.disable(target)

        def without_exchange() -> None:
            exchange = safe_edit._renameat2
            safe_edit._renameat2 = lambda src, dst, flags: False  # as on a system without renameat2
            try:
                in_process_shared()
            finally:
                safe_edit._renameat2 = exchange

        def tray_cli(*commands: str) -> Callable[[], None]:
            def commands_run() -> None:
                for command in commands:
                    run([sys.executable, "-m", "ollama_mcp_tray.tray", command])

            return commands_run

        def child_cli(tricks: str) -> Callable[[], None]:
            def child_run() -> None:
                run([sys.executable, str(Path(__file__).resolve()), CHILD, tricks, "--", "enable"])

            return child_run

        def claude_add() -> None:
            claude("mcp", "add-json", "ollama", entry, "--scope", "user")

        def claude_add_remove() -> None:
            claude_add()
            claude("mcp", "remove", "ollama", "--scope", "user")

        def without(trick: str, action: Callable[[], None]) -> Callable[[], None]:
            def timed_without() -> None:
                restore = turn_off([trick])
                try:
                    action()
                finally:
                    restore()

            return timed_without

        rows: dict[str, Callable[[], None]] = {
            "CLI enable": tray_cli("enable"),
            "claude mcp add-json": claude_add,
            "CLI enable+disable": tray_cli("enable", "disable"),
            "CLI status": tray_cli("status"),
            "claude add-json+remove": claude_add_remove,
            "in process, one Registrar": in_process_shared,
            "in process, no renameat2": without_exchange,
        }
        if TRICKS:
            rows["CLI enable via child, no trick off"] = child_cli("")
        for trick in TRICKS:
            rows[f"in process, one Registrar, no {trick}"] = without(trick, in_process_shared)
            rows[f"CLI enable via child, no {trick}"] = child_cli(trick)
        adds_only = {"CLI enable", "claude mcp add-json", "CLI status"}
        wall: dict[str, list[float]] = {name: [] for name in rows}
        cpu: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.reps):
            for name, action in rows.items():
                shutil.copyfile(registered if name == "CLI status" else baseline, claude_json)
                cpu_start, wall_start = _cpu_seconds(), time.perf_counter()
                action()
                wall[name].append(time.perf_counter() - wall_start)
                cpu[name].append(_cpu_seconds() - cpu_start)
                # Every row did what it says: an enable alone leaves our entry in, the others take it out again.
                servers = json.loads(claude_json.read_text(encoding="utf-8")).get("mcpServers", {})
                assert ("ollama" in servers) == (name in adds_only or name.startswith("CLI enable via")), name
        print(
            f"file: {size / 1e6:.1f} MB, {args.reps} repetitions, user scope; medians of wall time and of CPU time "
            "(user+sys of this process and its children: steadier on a busy machine)"
        )
        against = {
            "CLI enable": "claude mcp add-json",
            "CLI enable+disable": "claude add-json+remove",
            "in process, one Registrar": "claude add-json+remove",
            "in process, no renameat2": "claude add-json+remove",
        }
        for name in rows:
            median_wall, median_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
            line = f"  {name:<52} wall {median_wall * 1000:7.1f} ms  cpu {median_cpu * 1000:7.1f} ms"
            base = _baseline_of(name)
            if name in against:
                other = against[name]
                line += f"   wall {median_wall / statistics.median(wall[other]):4.2f}x {other}"
            elif base is not None:
                # Paired by repetition (the two ran back to back): the median of the differences.
                d_wall = statistics.median(a - b for a, b in zip(wall[name], wall[base], strict=True))
                d_cpu = statistics.median(a - b for a, b in zip(cpu[name], cpu[base], strict=True))
                line += f"   off - on: wall {d_wall * 1000:+7.1f} ms, cpu {d_cpu * 1000:+7.1f} ms"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
