"""The monitor: a background thread that reports Ollama's changes quickly and checks cheaply while idle."""

from __future__ import annotations

import queue
import time

import pytest

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import OllamaAuthError, OllamaUnreachable
from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.tray.gui.monitor import Check, Monitor, OllamaPoller, PollPolicy, Schedule, snapshot_key
from tests.ollama_emulator import OllamaEmulator

FAST = PollPolicy(interval=5.0, probe=0.2, fast=0.1, fast_rounds=2, down_max=0.8)


def next_snapshot(updates: queue.Queue[OllamaSnapshot], timeout: float = 5.0) -> OllamaSnapshot:
    return updates.get(timeout=timeout)


def test_the_first_poll_reports_version_models_and_loaded(ollama: OllamaEmulator) -> None:
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, FAST)
    monitor.start()
    try:
        snap = next_snapshot(updates)
        assert snap.up and snap.version == ollama.version
        assert [m.name for m in snap.models] == ollama.model_names()
        assert snap.loaded == ()
    finally:
        monitor.stop()


def test_ollama_going_down_is_reported_within_two_seconds_and_coming_back_too(ollama: OllamaEmulator) -> None:
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, FAST)
    monitor.start()
    try:
        assert next_snapshot(updates).up
        # Idle probing between full polls is the case that must still be quick.
        deadline = time.monotonic() + 5
        while monitor.schedule.pending is not Check.PROBE or monitor.schedule.fast_left:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stopped = time.monotonic()
        ollama.stop()
        down = next_snapshot(updates, timeout=2.0)
        assert not down.up and isinstance(down.error, OllamaUnreachable)
        assert time.monotonic() - stopped < 2.0
        ollama.start()
        assert next_snapshot(updates, timeout=3.0).up
    finally:
        monitor.stop()


def test_a_refused_key_is_reported_as_an_auth_error(ollama: OllamaEmulator) -> None:
    ollama.faults.require_key = "s3cret"
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, FAST)
    monitor.start()
    try:
        assert isinstance(next_snapshot(updates).error, OllamaAuthError)
    finally:
        monitor.stop()


def test_nothing_is_reported_while_nothing_changes(ollama: OllamaEmulator) -> None:
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, FAST)
    monitor.start()
    try:
        next_snapshot(updates)
        with pytest.raises(queue.Empty):
            updates.get(timeout=0.8)
    finally:
        monitor.stop()


def test_stop_returns_promptly_even_during_a_long_wait(ollama: OllamaEmulator) -> None:
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    slow = PollPolicy(interval=60, probe=60, fast=60, fast_rounds=1, down_max=60)
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, slow)
    monitor.start()
    next_snapshot(updates)
    started = time.monotonic()
    monitor.stop()
    assert time.monotonic() - started < 1.0


def test_a_poke_polls_at_once(ollama: OllamaEmulator) -> None:
    updates: queue.Queue[OllamaSnapshot] = queue.Queue()
    slow = PollPolicy(interval=60, probe=60, fast=60, fast_rounds=1, down_max=60)
    monitor = Monitor(OllamaPoller(ServerConfig(base_url=ollama.url)), updates.put, slow)
    monitor.start()
    try:
        assert next_snapshot(updates).models
        ollama.stop()
        monitor.poke()
        assert not next_snapshot(updates, timeout=2.0).up
    finally:
        monitor.stop()


def test_idle_and_up_the_schedule_probes_between_full_polls() -> None:
    policy = PollPolicy(interval=5.0, probe=1.0, fast=0.5, fast_rounds=0, down_max=8.0)
    schedule = Schedule(policy)
    schedule.after_full(0.0, changed=False, down=False)
    plan = []
    now = 0.0
    for _ in range(6):
        now = schedule.next_check
        plan.append((round(now, 1), schedule.pending))
        if schedule.pending is Check.PROBE:
            schedule.after_probe(now, reachable=True)
        else:
            schedule.after_full(now, changed=False, down=False)
    assert plan == [
        (1.0, Check.PROBE),
        (2.0, Check.PROBE),
        (3.0, Check.PROBE),
        (4.0, Check.PROBE),
        (5.0, Check.FULL),
        (6.0, Check.PROBE),
    ]


def test_a_failed_probe_triggers_a_full_poll_at_once() -> None:
    schedule = Schedule(PollPolicy(fast_rounds=0))
    schedule.after_full(0.0, changed=False, down=False)
    schedule.after_probe(1.0, reachable=False)
    assert (schedule.pending, schedule.next_check) == (Check.FULL, 1.0)


def test_while_down_the_probe_backs_off_to_a_ceiling() -> None:
    schedule = Schedule(PollPolicy(probe=1.0, fast_rounds=0, down_max=8.0))
    schedule.after_full(0.0, changed=True, down=True)
    waits = []
    last = 0.0
    for _ in range(6):
        waits.append(schedule.next_check - last)
        last = schedule.next_check
        schedule.after_probe(last, reachable=False)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_after_a_change_polls_are_fast_for_a_few_rounds() -> None:
    schedule = Schedule(PollPolicy(interval=5.0, probe=1.0, fast=0.5, fast_rounds=2))
    schedule.after_full(0.0, changed=True, down=False)
    assert (schedule.pending, schedule.next_check) == (Check.FULL, 0.5)
    schedule.after_full(0.5, changed=False, down=False)
    assert (schedule.pending, schedule.next_check) == (Check.FULL, 1.0)
    schedule.after_full(1.0, changed=False, down=False)
    assert schedule.pending is Check.PROBE


def test_equal_snapshots_are_not_a_change_but_a_new_error_text_is() -> None:
    a = OllamaSnapshot("u", None, error=OllamaUnreachable("x"))
    assert snapshot_key(a) == snapshot_key(OllamaSnapshot("u", None, error=OllamaUnreachable("x")))
    assert snapshot_key(a) != snapshot_key(OllamaSnapshot("u", None, error=OllamaUnreachable("y")))
