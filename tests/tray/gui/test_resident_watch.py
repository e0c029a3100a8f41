"""The tray's resident watch over a real Unix socket: it starts a resident when none runs, once, and reports the
change from "starting" to "running"; with the switch off it starts nothing.

The "resident" here is the wire stand-in (`wire_peer.WirePeer`), started by the watch's `start` the way the
tray's real one starts a process; the tray with the real resident is tested in test_controller_resident.py.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_mcp_tray.server._version import __version__
from ollama_mcp_tray.server.resident import status as rs
from ollama_mcp_tray.tray.gui.resident_watch import ResidentWatch, WatchPolicy
from tests.desktop_session import wait_for
from tests.server.resident.wire_peer import WirePeer, short_socket_dir, status_line

BUILD = f"{__version__}+0123456789ab"
QUICK = WatchPolicy(interval=0.2, fast=0.05, fast_rounds=5, retry=0.6)


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    folder = short_socket_dir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[rs.ResidentStatus, bool]] = []
        self.lock = threading.Lock()

    def __call__(self, status: rs.ResidentStatus, starting: bool) -> None:
        with self.lock:
            self.seen.append((status, starting))

    def last(self) -> tuple[rs.ResidentStatus, bool] | None:
        with self.lock:
            return self.seen[-1] if self.seen else None


def test_with_none_running_the_watch_starts_one_and_reports_starting_then_running(sock_dir: Path) -> None:
    path = sock_dir / "r.sock"
    peers: list[WirePeer] = []

    def start() -> bool:
        peers.append(WirePeer(path, lambda hello: status_line(BUILD, sessions=0, uptime_s=1)).__enter__())
        return True

    seen = Recorder()
    watch = ResidentWatch(lambda: rs.query_status(path, build=BUILD), start, seen, QUICK)
    watch.start()
    try:
        wait_for(lambda: isinstance((seen.last() or (None,))[0], rs.Running), 5, "the watch to see it running")
    finally:
        watch.stop()
        for peer in peers:
            peer.__exit__(None, None, None)
    assert watch.starts == 1
    assert isinstance(seen.seen[0][0], rs.NotRunning) and seen.seen[0][1] is True  # "starting…" first
    assert seen.seen[-1] == (rs.Running(str(path), 4242, __version__, BUILD, 0, 1.0), False)


def test_a_resident_that_never_comes_up_is_started_again_only_after_the_retry_time(sock_dir: Path) -> None:
    path = sock_dir / "r.sock"
    times: list[float] = []
    clock = iter(i * 0.25 for i in range(10_000)).__next__
    watch = ResidentWatch(lambda: rs.query_status(path, build=BUILD), lambda: times.append(1) is None, Recorder(),
                          QUICK, clock=clock)  # fmt: skip
    for _ in range(8):  # 8 rounds of 0.25 s: starts at 0, 0.75 (retry 0.6 passed), 1.5
        watch.step()
    assert watch.starts == 3


def test_with_the_switch_off_the_watch_starts_nothing(sock_dir: Path) -> None:
    settings = sock_dir / "settings.json"
    settings.write_text('{"resident": false}', encoding="utf-8")
    started: list[int] = []
    seen = Recorder()
    ask = lambda: rs.resident_status({}, settings, sock_dir / "r.sock", build=BUILD)  # noqa: E731
    watch = ResidentWatch(ask, lambda: started.append(1) is None, seen, QUICK)
    for _ in range(3):
        watch.step()
    assert started == [] and seen.seen == [(rs.Off("the setting resident is false"), False)]


def test_a_start_that_fails_is_logged_and_the_watch_goes_on(sock_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    def start() -> bool:
        raise PermissionError(13, "Permission denied")

    seen = Recorder()
    watch = ResidentWatch(lambda: rs.query_status(sock_dir / "r.sock", build=BUILD), start, seen, QUICK)
    watch.step()
    assert watch.starts == 0 and "Could not start the resident server" in caplog.text
    assert isinstance(seen.seen[-1][0], rs.NotRunning)
