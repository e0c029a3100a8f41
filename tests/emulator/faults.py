"""Fault switches: the ways the emulator can be told to misbehave."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any


@dataclasses.dataclass
class Faults:
    """Switches that make the emulator misbehave; each request reads one consistent snapshot.

    Assign single attributes directly, or use `update()` to change several at once atomically.
    """

    first_byte_delay: float = 0.0  # seconds before the first byte of generate/chat/pull replies
    load_delay: float = 0.0  # extra seconds when a model is not loaded yet (shows in load_duration)
    fail_status: int | None = None  # every /api call answers this status with {"error": fail_message}
    fail_message: str = "emulated server failure"
    garbage: bool = False  # /api calls answer 200 with a non-JSON body (or a non-JSON NDJSON line)
    drop_after_chunks: int | None = None  # cut streams after N lines (no final chunk); drop non-stream replies
    # A reply cut off the way a crashing Ollama leaves it: "before" closes the connection without answering any
    # /api request; "mid" sends a non-streamed reply's head (with its Content-Length) and half its body (a cut head
    # when the body is empty), then closes.
    cut_reply: str | None = None
    require_key: str | None = None  # a reverse proxy in front: 401 without the key, 403 with a wrong one
    key_header: str = "X-Ollama-Key"
    accept_bearer: bool = False  # the proxy also accepts `Authorization: Bearer <key>`
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def snapshot(self) -> Faults:
        """A consistent copy for one request."""
        with self._lock:
            return dataclasses.replace(self)

    def update(self, **changes: Any) -> None:
        """Change several switches at once."""
        with self._lock:
            for key, value in changes.items():
                if key.startswith("_") or key not in self.__dataclass_fields__:
                    raise AttributeError(f"no fault switch named {key!r}")
                setattr(self, key, value)

    def reset(self) -> None:
        """Turn every fault off."""
        self.update(**{f.name: f.default for f in dataclasses.fields(self) if f.init})
