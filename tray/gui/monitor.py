"""Watch Ollama from a background thread and report each change.

Polling costs CPU in a process that should cost nothing while idle, and "Ollama went down" should show
within two seconds. So there are two kinds of check:

- a full poll (`/api/version`, `/api/tags`, `/api/ps` through the shared Ollama client), every `interval`
  seconds while Ollama is up, and every `fast` seconds for a few rounds right after a change or a poke;
- a probe between full polls: a bare TCP connect to Ollama's port, every `probe` seconds. A refused
  connection triggers a full poll at once. While Ollama is down only the probe runs, backing off to
  `down_max` seconds.

The thread waits on an event between checks (`poke()` and `stop()` set it), never in a sleep loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import OllamaTimeout, OllamaUnreachable
from ollama_mcp_tray.server.ollama_client import OllamaClient, OllamaSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollPolicy:
    """How often to check, in seconds."""

    interval: float = 5.0  # full poll while up and steady
    probe: float = 1.0  # TCP probe between full polls, and the first back-off step while down
    fast: float = 0.5  # full poll right after a change or a poke
    fast_rounds: int = 6
    down_max: float = 10.0  # back-off ceiling of the probe while down


class Check(Enum):
    FULL = "full"
    PROBE = "probe"


def snapshot_key(snap: OllamaSnapshot) -> Hashable:
    """What makes two snapshots "the same" for the tray (exceptions compare by identity, so use their text)."""
    error = None if snap.error is None else (type(snap.error).__name__, str(snap.error))
    return (snap.base_url, snap.version, snap.models, snap.loaded, error)


def is_down(snap: OllamaSnapshot) -> bool:
    """Nothing answers at the address (as opposed to answering with an error, such as a refused key)."""
    return isinstance(snap.error, OllamaUnreachable) or (
        isinstance(snap.error, OllamaTimeout) and snap.error.kind == "connect"
    )


class Schedule:
    """When to check next and how: the pure core of the monitor (the clock is the caller's)."""

    def __init__(self, policy: PollPolicy) -> None:
        self.policy = policy
        self.fast_left = policy.fast_rounds
        self.down = False
        self.down_wait = policy.probe
        self.next_full = 0.0
        self.next_check = 0.0
        self.pending = Check.FULL

    def poke(self, now: float) -> None:
        """Something happened (a user action): poll now, then quickly for a while."""
        self.fast_left = self.policy.fast_rounds
        self.down_wait = self.policy.probe
        self.pending = Check.FULL
        self.next_check = now

    def after_full(self, now: float, *, changed: bool, down: bool) -> None:
        p = self.policy
        if changed:
            self.fast_left = p.fast_rounds
        if down and not self.down:
            self.down_wait = p.probe
        self.down = down
        if self.fast_left > 0:
            self.fast_left -= 1
            self._plan(now, Check.FULL, p.fast)
        elif down:
            self._plan_down(now)
        else:
            self.next_full = now + p.interval
            self._plan(now, Check.PROBE, min(p.probe, p.interval))

    def after_probe(self, now: float, *, reachable: bool) -> None:
        p = self.policy
        if self.down:
            if reachable:
                self._plan(now, Check.FULL, 0.0)
            else:
                self._plan_down(now)
            return
        if not reachable:
            self._plan(now, Check.FULL, 0.0)
        elif now + p.probe >= self.next_full:
            self._plan(now, Check.FULL, max(0.0, self.next_full - now))
        else:
            self._plan(now, Check.PROBE, p.probe)

    def _plan_down(self, now: float) -> None:
        self._plan(now, Check.PROBE, self.down_wait)
        self.down_wait = min(self.down_wait * 2, self.policy.down_max)

    def _plan(self, now: float, check: Check, wait: float) -> None:
        self.pending = check
        self.next_check = now + wait


def _host_port(base_url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "127.0.0.1", port


class OllamaPoller:
    """Synchronous face of the shared async client, for one thread (it owns a private event loop)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: OllamaClient | None = None

    def snapshot(self) -> OllamaSnapshot:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._client = OllamaClient(self.config)
        assert self._client is not None
        return self._loop.run_until_complete(self._client.snapshot())

    def reachable(self) -> bool:
        """Does anything accept a TCP connection at Ollama's address? (About 0.1 ms of CPU.)"""
        host, port = _host_port(self.config.base_url)
        try:
            with socket.create_connection((host, port), timeout=min(self.config.timeouts.connect, 2.0)):
                return True
        except OSError:
            return False

    def close(self) -> None:
        if self._loop is not None:
            if self._client is not None:
                self._loop.run_until_complete(self._client.aclose())
            self._loop.close()
            self._loop = None
            self._client = None


class Monitor:
    """The polling thread. `on_change` receives each snapshot that differs from the last one (and the first).

    Args:
        poller: the checks (an `OllamaPoller`, or anything with `snapshot()`, `reachable()`, `close()`).
        on_change: called on the monitor thread; it must only hand the snapshot over (e.g. queue it).
        policy: the intervals.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        poller: OllamaPoller,
        on_change: Callable[[OllamaSnapshot], None],
        policy: PollPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poller = poller
        self.on_change = on_change
        self.schedule = Schedule(policy or PollPolicy())
        self.clock = clock
        self._wake = threading.Event()
        self._stopping = False
        self._poked = False
        self._lock = threading.Lock()
        self._last_key: Hashable = object()
        self._thread = threading.Thread(target=self._run, name="ollama-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """Check now and stay quick for a few rounds (after the user changed something)."""
        with self._lock:
            self._poked = True
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (bounded: a poll in flight ends within the client's timeouts)."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._step()
                wait = max(0.0, self.schedule.next_check - self.clock())
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            self.poller.close()

    def _step(self) -> None:
        with self._lock:
            poked, self._poked = self._poked, False
        schedule = self.schedule
        now = self.clock()
        if poked:
            schedule.poke(now)
        if now < schedule.next_check:
            return
        if schedule.pending is Check.PROBE:
            schedule.after_probe(self.clock(), reachable=self.poller.reachable())
            return
        snap = self.poller.snapshot()
        key = snapshot_key(snap)
        changed = key != self._last_key
        if changed:
            self._last_key = key
            log.info("Ollama: %s", "up " + str(snap.version) if snap.up else f"not available ({snap.error})")
            self.on_change(snap)
        schedule.after_full(self.clock(), changed=changed, down=is_down(snap))
