"""Fixtures for the resident's tests: a user with the resident turned on, and the cleanup of what ran."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ollama_emulator import OllamaEmulator
from tests.server.resident.kit import ResidentKit, resident_env


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def kit(tmp_path, ollama: OllamaEmulator) -> Iterator[ResidentKit]:
    home = tmp_path / "home"
    home.mkdir()
    found = ResidentKit(resident_env(home, ollama.url))
    try:
        yield found
    finally:
        found.cleanup()
