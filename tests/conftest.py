"""Shared pytest fixtures.

Imports: `tests/` is a package, so helpers are imported as `from tests.ollama_emulator import ...` (pytest puts the
repository root on sys.path because of `tests/__init__.py`; scripts in `bench/` add the root themselves).

No test touches the real HOME: `_private_home` gives each test a temporary HOME and XDG folders (a test that
sets its own, with monkeypatch or an explicit subprocess environment, wins), and the session fails if the real
HOME's app folders changed during the run (see tests/home_guard.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import home_guard
from tests.ollama_emulator import OllamaEmulator, default_models

_REAL_FOLDERS = home_guard.app_folders(os.environ)
_BEFORE: home_guard.Snapshot = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(home_guard.snapshot(_REAL_FOLDERS))
    # The SDK's stdio client starts a server with a few inherited variables and the test's own: carry the
    # resident switch too, so servers started with an explicit environment stay direct as well.
    from mcp.client import stdio

    if "OLLAMA_MCP_RESIDENT" not in stdio.DEFAULT_INHERITED_ENV_VARS:
        stdio.DEFAULT_INHERITED_ENV_VARS.append("OLLAMA_MCP_RESIDENT")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = home_guard.stop_residents(session.config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "Tests left resident servers running (stopped now): pids " + ", ".join(map(str, left))
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    touched = home_guard.changes(_BEFORE, home_guard.snapshot(_REAL_FOLDERS))
    if touched:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "The test run touched the real HOME's app folders:\n  " + "\n  ".join(touched)
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary HOME and XDG folders for the test and every process it starts."""
    root = tmp_path_factory.mktemp("home")
    for name, value in home_guard.private_environment(root).items():
        monkeypatch.setenv(name, value)
    for name in home_guard.CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # Every server a test starts would start a resident of its own (each test has its own app folders) and
    # leave it running for its idle time: the suite runs the direct server unless a test turns the resident on.
    monkeypatch.setenv("OLLAMA_MCP_RESIDENT", "0")


@pytest.fixture
def ollama() -> Iterator[OllamaEmulator]:
    """A running Ollama emulator with `default_models()`, fresh for each test, stopped afterwards."""
    with OllamaEmulator(default_models()) as emulator:
        yield emulator
