"""The windows' logic without a display: pull progress, usage tallies, live checks over real HTTP, and a clear
message (never a traceback) when Tk is missing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import pytest

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.usage import UsageRecord
from ollama_mcp_tray.tray.gui.windows import ollama_ops
from ollama_mcp_tray.tray.gui.windows.usage_window import Tally, by_day, by_model
from ollama_mcp_tray.tray.gui.windows.welcome_window import RECOMMENDED, fits
from ollama_mcp_tray.tray.launch import window_command
from tests.ollama_emulator import OllamaEmulator


def test_pull_progress_adds_up_layers_and_estimates_speed_and_time_left() -> None:
    clock = iter([0.0, 2.0, 4.0]).__next__
    tracker = ollama_ops.PullTracker(clock)
    first = tracker.update({"status": "pulling a", "digest": "a", "total": 100_000_000, "completed": 20_000_000})
    assert first.total == 100_000_000 and first.rate == 10_000_000
    second = tracker.update({"status": "pulling b", "digest": "b", "total": 100_000_000, "completed": 20_000_000})
    assert second.completed == 40_000_000 and second.total == 200_000_000
    assert second.seconds_left == pytest.approx(16.0)
    assert second.text() == "40.0 MB of 200 MB · 10.0 MB/s · 16 s left"
    assert ollama_ops.PullProgress("pulling manifest").text() == "pulling manifest"


def test_a_real_pull_reports_progress_and_a_cancel_stops_it(ollama: OllamaEmulator) -> None:
    ollama.pull_delay = 0.02
    config = ServerConfig(base_url=ollama.url)
    seen: list[ollama_ops.PullProgress] = []
    ollama_ops.pull(config, "smollm2:135m", seen.append, threading.Event())
    assert "smollm2:135m" in ollama.model_names()
    assert seen[-1].status == "success" and seen[-2].fraction == pytest.approx(1.0)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ollama_ops.PullCancelled):
        ollama_ops.pull(config, "all-minilm", lambda _p: None, cancel)
    assert "all-minilm:latest" not in ollama.model_names()


def test_the_live_check_names_a_refused_key_and_a_proxy_that_wants_one(ollama: OllamaEmulator) -> None:
    ollama.faults.update(require_key="right")
    assert "refused the key" in ollama_ops.check(ServerConfig(base_url=ollama.url, key="wrong"))
    assert ollama_ops.check(ServerConfig(base_url=ollama.url, key="right")).startswith("✓")
    assert "wants a key" in ollama_ops.check(ServerConfig(base_url=ollama.url), address_only=True)
    ollama.stop()
    assert ollama_ops.check(ServerConfig(base_url=ollama.url)).startswith("✗ Cannot reach Ollama")


def test_usage_is_tallied_per_day_with_empty_days_and_per_model() -> None:
    today = dt.date(2026, 3, 10)
    noon = dt.datetime(2026, 3, 10, 12).timestamp()
    records = [
        UsageRecord(noon, "generate", "a", "ok", 10, 5),
        UsageRecord(noon - 86400, "chat", "b", "OllamaTimeout", 7, 0),
        UsageRecord(noon - 86400 * 9, "chat", "a", "ok", 1, 1),
    ]
    days = by_day(records, today, 7)
    assert days[0][0] == dt.date(2026, 3, 4) and len(days) == 7
    assert days[-1][1] == Tally(1, 0, 10, 5) and days[-2][1] == Tally(1, 1, 7, 0)
    assert sum(t.calls for _, t in by_day(records, today, 30)) == 3
    assert by_model(records, dt.date(2026, 3, 4)) == [("a", Tally(1, 0, 10, 5)), ("b", Tally(1, 1, 7, 0))]


def test_recommended_models_say_whether_they_fit_this_memory() -> None:
    tiny = next(r for r in RECOMMENDED if r.name == "smollm2:135m")
    assert fits(tiny, 2_000_000_000) == "fits this machine"
    assert fits(RECOMMENDED[0], 2_000_000_000).startswith("wants 8.0 GB")
    assert fits(tiny, None) == "memory unknown"


def test_the_tray_starts_a_window_as_its_own_cli_command() -> None:
    assert window_command("models", "/venv/bin/python") == ["/venv/bin/python", "-m", "ollama_mcp_tray.tray", "models"]


def test_without_tk_a_window_command_names_the_package_and_shows_no_traceback(tmp_path) -> None:
    # A Python without Tk, as on Debian without python3-tk: importing tkinter fails.
    code = "import sys; sys.modules['tkinter'] = None; from ollama_mcp_tray.tray.__main__ import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "settings"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 7
    assert "python3-tk" in result.stderr
    assert "Traceback" not in result.stderr
