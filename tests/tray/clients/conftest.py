"""The real clients start our registered command with their own idea of the environment (Gemini and Qwen pass
the parent's on, Claude Code its own): the relay then starts a resident for the test's HOME, as it would for a
user. That is the path worth testing, so it is left on; each test's residents are stopped when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import home_guard


@pytest.fixture(autouse=True)
def _stop_the_residents_the_clients_started(tmp_path: Path) -> Iterator[None]:
    yield
    home_guard.stop_residents(tmp_path)
