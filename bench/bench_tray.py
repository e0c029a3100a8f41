"""Benchmark the tray against a bare pystray icon on the same backend, in a throwaway desktop.

    .venv/bin/python bench/bench_tray.py [--seconds 60] [--backends gtk,appindicator] [--down-trials 5]

For each backend, the tray (watching an Ollama emulator with 10 models) and `bench/bare_icon.py` run side by
side in one Xvfb + tint2 session. Over `--seconds`, it samples every 10 s:
  * CPU: utime+stime from /proc/<pid>/stat, as a percentage of one core per 10 s window (median and overall);
  * resident memory (VmRSS), median of the samples;
then measures, `--down-trials` times, the time from stopping the emulator to the docked icon showing "down"
(read from the screen as the desktop tests do). Prints medians and the ratios tray / bare.
Targets: CPU <= 0.2 % of a core; memory <= 1.3x the bare icon; down -> icon <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from Xlib.error import XError  # noqa: E402

from ollama_mcp_tray.tray.gui.state import IconState  # noqa: E402
from tests.desktop_session import DesktopSession, Rect, desktop_session, missing_tools, wait_for  # noqa: E402
from tests.ollama_emulator import OllamaEmulator, many_models  # noqa: E402
from tests.tray.gui.test_desktop import icon_match, icon_on_screen  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
MEMORY = ("VmRSS", "RssAnon", "Pss")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of the full line)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and RssAnon (private memory) from status, Pss (shared pages split fairly) from smaps_rollup."""
    values: dict[str, float] = {}
    for name in ("status", "smaps_rollup"):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "Pss"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def docked_icons(desk: DesktopSession, count: int) -> list[Rect]:
    def enough() -> list[Rect] | None:
        try:
            found = [desk.geometry(w) for w in desk._docked()]
        except XError:  # an icon window was replaced while we looked (appindicator's XEmbed fallback)
            return None
        return found if len(found) >= count else None

    return sorted(wait_for(enough, 15, f"{count} docked icons"), key=lambda r: r.x)


def measure(backend: str, seconds: float, trials: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name, OllamaEmulator(many_models(10)) as emu:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        with desktop_session(tmp / "desktop") as desk:
            env = {"HOME": str(home), "OLLAMA_URL": emu.url, "PYSTRAY_BACKEND": backend}
            bare = desk.spawn([sys.executable, str(ROOT / "bench" / "bare_icon.py")], env=env, log_name="bare")
            docked_icons(desk, 1)
            tray = desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=env, log_name="tray")
            tray_icon = wait_for(
                lambda: next((r for r in docked_icons(desk, 2) if icon_match(desk, r)[1] < 10), None),
                10,
                "the tray's status icon",
            )
            wait_for(lambda: icon_on_screen(desk, tray_icon) is IconState.UP, 10, "the tray to show up")
            time.sleep(5)  # let start-up work (first polls, fast rounds) finish before measuring idle
            samples: dict[str, list[float]] = {f"{n}_{k}": [] for n in ("tray", "bare") for k in ("cpu", *MEMORY)}
            start = {p.pid: cpu_seconds(p.pid) for p in (tray, bare)}
            began = time.monotonic()
            last = dict(start)
            windows = max(1, int(seconds // 10))
            for _ in range(windows):
                time.sleep(10)
                for name, proc in (("tray", tray), ("bare", bare)):
                    now = cpu_seconds(proc.pid)
                    samples[f"{name}_cpu"].append((now - last[proc.pid]) / 10 * 100)
                    last[proc.pid] = now
                    for key, value in memory_mb(proc.pid).items():
                        samples[f"{name}_{key}"].append(value)
            elapsed = time.monotonic() - began
            result = {key: statistics.median(values) for key, values in samples.items()}
            result["tray_cpu_total"] = (cpu_seconds(tray.pid) - start[tray.pid]) / elapsed * 100
            result["bare_cpu_total"] = (cpu_seconds(bare.pid) - start[bare.pid]) / elapsed * 100
            downs = []
            for _ in range(trials):
                emu.stop()
                stopped = time.monotonic()
                wait_for(lambda: icon_on_screen(desk, tray_icon) is IconState.DOWN, 10, "down", interval=0.02)
                downs.append(time.monotonic() - stopped)
                emu.start()
                wait_for(lambda: icon_on_screen(desk, tray_icon) is IconState.UP, 15, "up again")
                time.sleep(6)  # back to idle probing: the case the target is about
            result["down_s"] = statistics.median(downs)
            result["down_max_s"] = max(downs)
            return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--backends", default="gtk,appindicator")
    parser.add_argument("--down-trials", type=int, default=5)
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        sys.exit(f"missing desktop tools: {missing} (run tests/setup/30-desktop.sh)")
    for backend in args.backends.split(","):
        r = measure(backend, args.seconds, args.down_trials)
        print(f"\n== backend {backend} ({args.seconds:g} s idle, Ollama up with 10 models)")
        print(
            f"  CPU, % of one core   tray {r['tray_cpu']:.3f} (overall {r['tray_cpu_total']:.3f})"
            f"   bare {r['bare_cpu']:.3f} (overall {r['bare_cpu_total']:.3f})   target <= 0.2"
        )
        for key in MEMORY:
            tray, bare = r[f"tray_{key}"], r[f"bare_{key}"]
            print(f"  {key + ', MB':<21}tray {tray:.1f}   bare {bare:.1f}   ratio {tray / bare:.2f}x   target <= 1.3x")
        print(f"  Ollama down -> icon  median {r['down_s']:.2f} s, max {r['down_max_s']:.2f} s   target <= 2 s")


if __name__ == "__main__":
    main()
