"""What the emulated Ollama knows and what tests observe.

Installed, pullable and loaded models, recorded requests and counters (cancellations, generations in flight).
Every handler thread goes through one condition variable, so `wait_until` wakes on any change.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tests.emulator.catalog import EmulatedModel, model_key


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names lower-cased
    raw: bytes

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None when it is empty or not JSON."""
        try:
            return json.loads(self.raw) if self.raw.strip() else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A model in memory, as `/api/ps` shows it."""

    model: EmulatedModel
    expires: float  # epoch seconds; math.inf when kept forever
    context_length: int


class EmulatorState:
    """Thread-safe state of one emulated Ollama.

    Args:
        installed: the models `/api/tags` lists.
        pullable: the models `/api/pull` can fetch.
        clock: epoch seconds, for keep-alive expiry.
    """

    def __init__(
        self, installed: Sequence[EmulatedModel], pullable: Sequence[EmulatedModel], clock: Callable[[], float]
    ) -> None:
        self.cond = threading.Condition()
        self.clock = clock
        self._models = {model_key(m.name): m for m in installed}
        self._registry = {model_key(m.name): m for m in pullable}
        self._loaded: dict[str, Loaded] = {}
        self._requests: list[RecordedRequest] = []
        self._cancelled = 0
        self._active = 0
        self._peak_active = 0
        self._first_lines: list[float] = []

    # -- models ---------------------------------------------------------------------------------------------

    def installed(self) -> list[EmulatedModel]:
        """Installed models, newest first."""
        with self.cond:
            return sorted(self._models.values(), key=lambda m: -m.modified_at)

    def find(self, name: str) -> EmulatedModel | None:
        """The installed model `name` refers to (case-insensitive, default tag `latest`)."""
        if not name:
            return None
        with self.cond:
            return self._models.get(model_key(name))

    def install(self, model: EmulatedModel, *, pullable: bool = False) -> None:
        """Add or replace an installed model."""
        with self.cond:
            self._models[model_key(model.name)] = model
            if pullable:
                self._registry[model_key(model.name)] = model

    def remove(self, name: str) -> bool:
        """Uninstall; False when there was no such model."""
        with self.cond:
            return self._models.pop(model_key(name), None) is not None

    def pullable(self, name: str) -> EmulatedModel | None:
        """The registry's model for `name`, if the registry has it."""
        with self.cond:
            return self._registry.get(model_key(name))

    # -- loaded models --------------------------------------------------------------------------------------

    def loaded(self) -> list[Loaded]:
        """Loaded models, longest remaining keep-alive first; expired ones are dropped first."""
        now = self.clock()
        with self.cond:
            for key in [k for k, e in self._loaded.items() if e.expires <= now]:
                del self._loaded[key]
            return sorted(self._loaded.values(), key=lambda e: -e.expires)

    def is_loaded(self, model: EmulatedModel) -> bool:
        """Whether `model` is in memory now."""
        return any(e.model.name == model.name for e in self.loaded())

    def mark_loaded(self, model: EmulatedModel, seconds: float, context_length: int) -> None:
        """Put `model` in memory for `seconds` (math.inf: for ever) from now."""
        with self.cond:
            self._loaded[model_key(model.name)] = Loaded(model, self.clock() + seconds, context_length)
            self.cond.notify_all()

    def unload(self, model: EmulatedModel) -> None:
        """Take `model` out of memory."""
        with self.cond:
            self._loaded.pop(model_key(model.name), None)
            self.cond.notify_all()

    def unload_all(self) -> None:
        """Forget every loaded model, as an Ollama restart does."""
        with self.cond:
            self._loaded.clear()
            self.cond.notify_all()

    # -- observations ---------------------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        """Remember a request."""
        with self.cond:
            self._requests.append(request)
            self.cond.notify_all()

    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first (a copy)."""
        with self.cond:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self.cond:
            self._requests.clear()

    def note_cancelled(self) -> None:
        """Count a reply abandoned because its client went away."""
        with self.cond:
            self._cancelled += 1
            self.cond.notify_all()

    def note_first_line(self) -> None:
        """Remember when a stream's first line went out (time.monotonic(), the clock asyncio's loops use)."""
        with self.cond:
            self._first_lines.append(time.monotonic())
            self.cond.notify_all()

    @property
    def first_lines(self) -> list[float]:
        """When each stream's first line was sent, oldest first (a copy)."""
        with self.cond:
            return list(self._first_lines)

    @property
    def cancelled(self) -> int:
        """Replies abandoned because the client went away."""
        with self.cond:
            return self._cancelled

    @property
    def active(self) -> int:
        """Generations (and pulls) running now."""
        with self.cond:
            return self._active

    @property
    def peak_active(self) -> int:
        """The most generations that ran at the same time."""
        with self.cond:
            return self._peak_active

    @contextmanager
    def generating(self) -> Iterator[None]:
        """Count a generation as running for the duration of the block."""
        with self.cond:
            self._active += 1
            self._peak_active = max(self._peak_active, self._active)
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self._active -= 1
                self.cond.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Block until `predicate()` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self.cond.wait(min(remaining, 0.05))  # a short slice also re-checks conditions that depend on time
