"""Pieces the windows share: a scrolling frame, a debounced live check, a pull row with progress and cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig

from . import ollama_ops
from .toolkit import Worker

PAD = 8
WRAP = 520  # pixels: where long explanations wrap


def heading(parent: Any, text: str) -> Any:
    from tkinter import ttk

    label = ttk.Label(parent, text=text, font=("TkDefaultFont", 13, "bold"))
    label.pack(anchor="w", padx=PAD, pady=(PAD, 2))
    return label


def note(parent: Any, text: str = "", **pack: Any) -> Any:
    from tkinter import ttk

    label = ttk.Label(parent, text=text, wraplength=WRAP, justify="left")
    label.pack(anchor="w", padx=PAD, **pack)
    return label


class Debounced:
    """Runs a check a moment after the user stops typing, showing only the latest answer."""

    def __init__(self, root: Any, worker: Worker, show: Callable[[str], None], delay_ms: int = 500) -> None:
        self.root = root
        self.worker = worker
        self.show = show
        self.delay_ms = delay_ms
        self._pending: str | None = None
        self._generation = 0

    def schedule(self, job: Callable[[], str]) -> None:
        if self._pending is not None:
            self.root.after_cancel(self._pending)
        self._generation += 1
        generation = self._generation
        self.show("Checking…")

        def start() -> None:
            self._pending = None
            self.worker.run(
                job,
                lambda text: self._answer(generation, str(text)),
                lambda exc: self._answer(generation, f"✗ {exc}"),
            )

        self._pending = self.root.after(self.delay_ms, start)

    def _answer(self, generation: int, text: str) -> None:
        if generation == self._generation:  # an older, slower check must not overwrite a newer one
            self.show(text)


class PullRow:
    """A pull in progress: a bar, a line with size, speed and time left, and Cancel."""

    def __init__(
        self,
        parent: Any,
        worker: Worker,
        config: Callable[[], ServerConfig],
        on_done: Callable[[str, str | None], None],
    ) -> None:
        from tkinter import ttk

        self.worker = worker
        self.config = config
        self.on_done = on_done  # (model, error or None)
        self.frame = ttk.Frame(parent)
        self.bar = ttk.Progressbar(self.frame, length=360, maximum=1.0, mode="determinate")
        self.bar.pack(side="left", padx=(0, PAD))
        self.cancel_button = ttk.Button(self.frame, text="Cancel", command=self.cancel, state="disabled")
        self.cancel_button.pack(side="left")
        self.line = ttk.Label(parent, text="")
        self._cancel = threading.Event()
        self.running = False

    def pack(self, **options: Any) -> None:
        self.frame.pack(anchor="w", padx=PAD, **options)
        self.line.pack(anchor="w", padx=PAD)

    def start(self, model: str) -> None:
        if self.running:
            return
        self.running = True
        self._cancel = threading.Event()
        self.cancel_button.configure(state="normal")
        self.line.configure(text=f"Pulling {model}…")
        cancel = self._cancel
        config = self.config()

        def progress(p: ollama_ops.PullProgress) -> None:
            self.worker.call_soon(lambda: self._show(model, p))

        self.worker.run(
            lambda: ollama_ops.pull(config, model, progress, cancel),
            lambda _result: self._finish(model, None),
            lambda exc: self._finish(model, str(exc)),
        )

    def _show(self, model: str, progress: ollama_ops.PullProgress) -> None:
        self.bar.configure(value=progress.fraction)
        self.line.configure(text=f"{model}: {progress.text()}")

    def _finish(self, model: str, error: str | None) -> None:
        self.running = False
        self.cancel_button.configure(state="disabled")
        if error is None:
            self.bar.configure(value=1.0)
            self.line.configure(text=f"{model} is installed.")
        else:
            self.line.configure(text=error)
        self.on_done(model, error)

    def cancel(self) -> None:
        self._cancel.set()
