"""Shared pytest fixtures.

Imports: `tests/` is a package, so helpers are imported as `from tests.ollama_emulator import ...` (pytest puts the
repository root on sys.path because of `tests/__init__.py`; scripts in `bench/` add the root themselves).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ollama_emulator import OllamaEmulator, default_models


@pytest.fixture
def ollama() -> Iterator[OllamaEmulator]:
    """A running Ollama emulator with `default_models()`, fresh for each test, stopped afterwards."""
    with OllamaEmulator(default_models()) as emulator:
        yield emulator
