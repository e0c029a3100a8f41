"""What the windows ask of Ollama, as plain blocking calls for worker threads, over the server's client.

Each call opens its own `OllamaClient` in its own event loop: a window's worker thread has none, and the calls
are few (a click, a check as the user types).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import OllamaAuthError, OllamaError
from ollama_mcp_tray.server.ollama_client import OllamaClient, OllamaSnapshot
from ollama_mcp_tray.server.units import human_size


def snapshot(config: ServerConfig) -> OllamaSnapshot:
    async def run() -> OllamaSnapshot:
        async with OllamaClient(config) as client:
            return await client.snapshot()

    return asyncio.run(run())


def delete(config: ServerConfig, model: str) -> None:
    async def run() -> None:
        async with OllamaClient(config) as client:
            await client.delete(model)

    asyncio.run(run())


def unload(config: ServerConfig, model: str) -> None:
    async def run() -> None:
        async with OllamaClient(config) as client:
            await client.unload(model)

    asyncio.run(run())


def keep_loaded(config: ServerConfig, model: str) -> None:
    """Load the model and keep it in memory until Ollama stops (keep_alive -1)."""

    async def run() -> None:
        async with OllamaClient(config) as client:
            await client.request_json("POST", "/api/generate", {"model": model, "keep_alive": -1}, model=model)

    asyncio.run(run())


def check(config: ServerConfig, *, address_only: bool = False) -> str:
    """One sentence on whether Ollama answers at `config` with its key, and if not, what is wrong.

    Used by the settings window's live checks of the address (`address_only`: a proxy asking for a key is a
    right address) and of the key.
    """
    snap = snapshot(config)
    if isinstance(snap.error, OllamaAuthError) and address_only:
        return f"✓ Something answers at {config.base_url}: a proxy that wants a key (type it below)."
    if isinstance(snap.error, OllamaAuthError):
        return f"✗ The proxy refused the key: {snap.error}"
    if not snap.up:
        return f"✗ {snap.error}"
    models = len(snap.models)
    key = "the key was accepted; " if config.key else ""
    return f"✓ Ollama {snap.version} answers: {key}{models} model{'s' if models != 1 else ''} installed."


@dataclass(frozen=True)
class PullProgress:
    """Where a pull stands: bytes done of all layers seen, the rate, and the time left at that rate."""

    status: str
    completed: int = 0
    total: int = 0
    rate: float | None = None  # bytes per second

    @property
    def fraction(self) -> float:
        return self.completed / self.total if self.total else 0.0

    @property
    def seconds_left(self) -> float | None:
        if not self.rate or not self.total:
            return None
        return max(0.0, (self.total - self.completed) / self.rate)

    def text(self) -> str:
        """What the progress line says, e.g. '1.2 GB of 1.9 GB · 35 MB/s · 20 s left'."""
        if not self.total:
            return self.status
        parts = [f"{human_size(self.completed)} of {human_size(self.total)}"]
        if self.rate:
            parts.append(f"{human_size(int(self.rate))}/s")
        left = self.seconds_left
        if left is not None:
            parts.append(f"{left / 60:.0f} min left" if left >= 90 else f"{left:.0f} s left")
        return " · ".join(parts)


class PullTracker:
    """Folds Ollama's pull stream (one line per layer update) into one `PullProgress`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._layers: dict[str, tuple[int, int]] = {}
        self._start = clock()

    def update(self, chunk: dict[str, Any]) -> PullProgress:
        digest = chunk.get("digest")
        if isinstance(digest, str) and isinstance(chunk.get("total"), int):
            self._layers[digest] = (int(chunk.get("completed") or 0), int(chunk["total"]))
        completed = sum(c for c, _ in self._layers.values())
        total = sum(t for _, t in self._layers.values())
        elapsed = self.clock() - self._start
        rate = completed / elapsed if elapsed > 0 and completed else None
        return PullProgress(str(chunk.get("status", "")), completed, total, rate)


class PullCancelled(OllamaError):
    """The user cancelled the pull (Ollama keeps what it downloaded and resumes next time)."""


def pull(
    config: ServerConfig,
    model: str,
    on_progress: Callable[[PullProgress], None],
    cancel: threading.Event,
) -> None:
    """Pull `model`, reporting progress; leaving early closes the stream, which stops Ollama's download.

    Raises:
        PullCancelled: `cancel` was set.
        OllamaError: Ollama refused or failed the pull (an unknown model, no network on its side).
    """

    tracker = PullTracker()

    async def run() -> None:
        async with OllamaClient(config) as client:
            async for chunk in client.stream("/api/pull", {"model": model}, model=model):
                if cancel.is_set():
                    raise PullCancelled(f"The pull of {model} was cancelled.")
                on_progress(tracker.update(chunk))

    asyncio.run(run())
