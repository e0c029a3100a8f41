"""Keep the user's resident server warm while the tray runs, and report how it is.

Each round asks the resident for its status (the wire's `status` op: a connect and one line, bounded by the
status module's timeouts). When the resident is on and none runs, the watch starts one, so the first Claude
Code session of the day finds it warm; at most once per `retry` seconds, so a resident that cannot start is
not restarted in a loop (the log says why). After a start it asks quickly for a few rounds, so the menu goes
from "starting…" to "resident" within a second of the resident's answer.

A resident the tray started is its child: when it exits (idle, retired, killed) it would stay a zombie for as
long as the tray runs, one more at each restart. So the watch reaps each resident it saw running once another
(or none) answers; a pid that is not our child is only forgotten.

The thread waits on an event between rounds (`poke()` and `stop()` set it), never in a sleep loop.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ollama_mcp_tray.server.resident.status import NotRunning, OtherVersion, ResidentStatus, Running

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchPolicy:
    """How often to ask, in seconds."""

    interval: float = 5.0  # while steady
    fast: float = 0.5  # right after a start or a poke
    fast_rounds: int = 10
    retry: float = 30.0  # the least time between two starts


def should_start(status: ResidentStatus, last_start: float | None, now: float, retry: float) -> bool:
    """Start a resident when the switch is on (the status says so) and none runs, not twice within `retry`.

    >>> should_start(NotRunning("/s", "no socket"), None, 100.0, 30.0)
    True
    >>> should_start(NotRunning("/s", "no socket"), 90.0, 100.0, 30.0)
    False
    """
    return isinstance(status, NotRunning) and (last_start is None or now - last_start >= retry)


def reap(pids: set[int], current: int | None) -> set[int]:
    """Reap those of `pids` (residents seen running) that exited and are our children; the ones still to watch."""
    left: set[int] = set()
    for pid in pids:
        if pid == current:
            left.add(pid)
            continue
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue  # not our child (a session started it): nothing to reap
        if done == 0:
            left.add(pid)  # ours and still running (finishing its sessions): look again later
    return left


class ResidentWatch:
    """The watching thread.

    Args:
        ask: the resident's status now (never raises, bounded in time).
        start: starts a detached resident; False when one was already starting (raises OSError when it cannot).
        on_change: called on the watch thread with (status, starting) when either differs from the last call;
            it must only hand them over (e.g. post them to the controller).
        policy: the intervals.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        ask: Callable[[], ResidentStatus],
        start: Callable[[], bool],
        on_change: Callable[[ResidentStatus, bool], None],
        policy: WatchPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ask = ask
        self.start_resident = start
        self.on_change = on_change
        self.policy = policy or WatchPolicy()
        self.clock = clock
        self.starts = 0  # residents this watch started (for tests and the log)
        self._last_start: float | None = None
        self._fast_left = 0
        self._last: tuple[ResidentStatus, bool] | None = None
        self._seen: set[int] = set()  # pids of residents seen running, to reap once they exit
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="resident-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """Ask now and quickly for a few rounds (after the user changed the switch)."""
        self._fast_left = self.policy.fast_rounds
        self._last_start = None  # a user's change may start one at once
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping:
            try:
                self.step()
            except Exception:  # one failed round must not end the watch; the log keeps it
                log.exception("The resident watch failed a round")
            wait = self.policy.fast if self._fast_left > 0 else self.policy.interval
            self._fast_left = max(0, self._fast_left - 1)
            self._wake.wait(wait)
            self._wake.clear()

    def step(self) -> None:
        """One round: ask, start one if needed, report a change."""
        status = self.ask()
        now = self.clock()
        answering = status.pid if isinstance(status, Running | OtherVersion) else None
        if answering is not None:
            self._seen.add(answering)
        if len(self._seen) > (answering is not None):
            self._seen = reap(self._seen, answering)
        starting = self._last_start is not None and isinstance(status, NotRunning)
        if should_start(status, self._last_start, now, self.policy.retry):
            try:
                if self.start_resident():
                    self.starts += 1
                    log.info("Started a resident server (it was %s)", status.describe())
            except OSError as exc:
                log.warning("Could not start the resident server: %s", exc)
            self._last_start = now
            self._fast_left = self.policy.fast_rounds
            starting = True
        elif isinstance(status, Running | OtherVersion):
            self._last_start = None  # it came up: a later loss of it may start one at once
        current = (status, starting)
        if current != self._last:
            self._last = current
            self.on_change(status, starting)
