"""The welcome window: from a fresh install to Claude Code using a local model, in four pages.

1. Ollama: found and answering, or how to start it (a Start button when the program is installed), or where
   to get it. 2. A model: the installed ones to choose the default from, or a short list of small models
   (marked by whether they fit this machine's memory) pulled here with progress. 3. Claude Code: enable it for
   all projects. 4. What changed, and how to undo it.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.ollama_client import OllamaSnapshot
from ollama_mcp_tray.server.units import human_size

from ... import app_settings
from ...app_context import AppContext
from ...clients.registrar import Scope, Target
from ...default_model import choose_default_model
from ...desktop.ollama_process import find_ollama, start_ollama
from ...doctor import OllamaState, ollama_state
from . import ollama_ops
from .toolkit import Worker, layout_for, make_root
from .widgets import PAD, PullRow, heading, note


@dataclass(frozen=True)
class Recommended:
    name: str
    download: int  # bytes
    memory: int  # bytes of RAM it wants to run comfortably
    why: str


GB = 1_000_000_000
RECOMMENDED = (
    Recommended("qwen2.5-coder:3b", int(1.9 * GB), 8 * GB, "a coder model: the best first choice for Claude Code"),
    Recommended("qwen2.5-coder:1.5b", int(1.0 * GB), 4 * GB, "a smaller coder model for laptops"),
    Recommended("llama3.2:3b", int(2.0 * GB), 8 * GB, "a general model, good at summaries"),
    Recommended("smollm2:135m", 270_000_000, 1 * GB, "tiny: runs anywhere, for trying things out"),
)


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, where the system says (None when it does not)."""
    if sys.platform == "win32":
        return _windows_memory()
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _windows_memory() -> int | None:
    """Windows has no sysconf: GlobalMemoryStatusEx fills a MEMORYSTATUSEX whose ullTotalPhys is the answer."""
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        ok = ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None
    return int(status.ullTotalPhys) if ok else None


def fits(model: Recommended, memory: int | None) -> str:
    if memory is None:
        return "memory unknown"
    return "fits this machine" if model.memory <= memory else f"wants {human_size(model.memory)} of memory"


class WelcomeWindow:
    def __init__(self, ctx: AppContext, root: Any | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.ctx = ctx
        self.root = root or make_root("Welcome to Ollama MCP Tray")
        self.worker = Worker(self.root)
        self.root.geometry("640x580" if getattr(self.root, "no_tray_banner", None) else "640x440")
        self.layout = layout_for(self.root)
        self.page = ttk.Frame(self.root, padding=PAD)
        self.nav = ttk.Frame(self.root, padding=PAD)
        self.nav.pack(side="bottom", fill="x")  # packed first: a long page never pushes it out of the window
        self.page.pack(fill="both", expand=True)
        self.next_button = ttk.Button(self.nav, text="Next", command=lambda: None, state="disabled")
        self.next_button.pack(side="right")
        self.layout.name("next", self.next_button)
        self.model = tk.StringVar()
        self.enable_var = tk.BooleanVar(value=True)
        self.snap: OllamaSnapshot | None = None
        self.changes: list[str] = []
        self.show_ollama()

    def config(self) -> ServerConfig:
        try:
            return self.ctx.server_config()
        except ConfigError:
            return ServerConfig()

    def _clear(self) -> None:
        for child in self.page.winfo_children():
            child.destroy()

    def _next(self, text: str, command: Any, enabled: bool = True) -> None:
        self.next_button.configure(text=text, command=command, state="normal" if enabled else "disabled")

    # ---- 1. Ollama --------------------------------------------------------------------------------------

    def show_ollama(self) -> None:
        self._clear()
        heading(self.page, "1 · Ollama")
        self.ollama_line = self.layout.name("ollama_line", note(self.page, "Looking for Ollama…"))
        self._next("Next", self.show_models, enabled=False)
        self._probe()

    def _probe(self) -> None:
        config = self.config()
        self.worker.run(
            lambda: ollama_ops.snapshot(config), self._probed, lambda e: self.ollama_line.configure(text=str(e))
        )

    def _probed(self, snap: OllamaSnapshot) -> None:
        from tkinter import ttk

        self.snap = snap
        state = ollama_state(snap)
        if state is OllamaState.UP:
            self.ollama_line.configure(text=f"✓ Ollama {snap.version} answers at {snap.base_url}.")
            self._next("Next", self.show_models)
            return
        if state is OllamaState.KEY_REFUSED:
            self.ollama_line.configure(
                text=f"Ollama at {snap.base_url} refused the key ({snap.error}). Set the key in Settings, then retry."
            )
        else:
            executable = find_ollama(self.ctx.env)
            if executable:
                self.ollama_line.configure(text=f"Ollama is installed ({executable}) but not running.")
                if not getattr(self, "_start_shown", False):
                    self._start_shown = True
                    start = ttk.Button(self.page, text="Start Ollama", command=lambda: self._start(executable))
                    start.pack(anchor="w", padx=PAD, pady=PAD)
                    self.layout.name("start_ollama", start)
            else:
                self.ollama_line.configure(
                    text="Ollama is not installed. Get it from https://ollama.com/download "
                    "(Linux: curl -fsSL https://ollama.com/install.sh | sh), then come back: this page checks again."
                )
        self.root.after(2000, self._probe)  # keep looking until it answers

    def _start(self, executable: str) -> None:
        try:
            proc = start_ollama(
                executable, self.ctx.paths.log_dir / "ollama-serve.log", self.config().base_url, self.ctx.env
            )
        except OSError as exc:
            self.ollama_line.configure(text=f"Could not start {executable}: {exc}")
            return
        # Waited on while the window is open, so an `ollama serve` that exits is reaped, not left a zombie.
        threading.Thread(target=proc.wait, name="ollama-serve", daemon=True).start()
        self.ollama_line.configure(text="Starting Ollama…")
        self.changes.append("Started Ollama (it keeps running; stop it as you would any program).")

    # ---- 2. a model -------------------------------------------------------------------------------------

    def show_models(self) -> None:
        from tkinter import ttk

        self._clear()
        heading(self.page, "2 · A model for Claude Code to use")
        snap = self.snap
        models = [m for m in snap.models if not m.embedding_only] if snap else []
        if models:
            note(self.page, "Choose the default model (the one a tool call uses when it names none):")
            best = self.ctx.settings.default_model or choose_default_model(models) or models[0].name
            self.model.set(best)
            for m in models:
                choice = ttk.Radiobutton(
                    self.page, text=f"{m.name}  ({human_size(m.size)})", value=m.name, variable=self.model
                )
                choice.pack(anchor="w", padx=PAD * 2)
                self.layout.name(f"choice:{m.name}", choice)
            self._next("Next", self.show_claude)
            return
        memory = machine_memory()
        have = f" This machine has {human_size(memory)} of memory." if memory else ""
        note(self.page, f"No model is installed yet. Pick one to download.{have}")
        self.model.set(
            next((r.name for r in RECOMMENDED if memory is None or r.memory <= memory), RECOMMENDED[-1].name)
        )
        for r in RECOMMENDED:
            text = f"{r.name}: {r.why}\n{human_size(r.download)} download · {fits(r, memory)}"
            choice = ttk.Radiobutton(self.page, text=text, value=r.name, variable=self.model)
            choice.pack(anchor="w", padx=PAD * 2)
            self.layout.name(f"choice:{r.name}", choice)
        self.pull_button = ttk.Button(self.page, text="Download", command=self._pull)
        self.pull_button.pack(anchor="w", padx=PAD, pady=PAD)
        self.pull_row = PullRow(self.page, self.worker, self.config, self._pulled)
        self.pull_row.pack()
        self.layout.name("download", self.pull_button)
        self.layout.name("pull_line", self.pull_row.line)
        self.layout.name("pull_bar", self.pull_row.bar)
        self._next("Next", self.show_claude, enabled=False)

    def _pull(self) -> None:
        self.pull_button.configure(state="disabled")
        self.pull_row.start(self.model.get())

    def _pulled(self, model: str, error: str | None) -> None:
        if error:
            self.pull_button.configure(state="normal")
            return
        self.changes.append(f"Downloaded {model} into Ollama (remove it in the Models window).")
        self._next("Next", self.show_claude)

    # ---- 3. Claude Code ---------------------------------------------------------------------------------

    def show_claude(self) -> None:
        from tkinter import ttk

        self._clear()
        heading(self.page, "3 · Claude Code")
        note(self.page, f"Default model: {self.model.get()}")
        ttk.Checkbutton(self.page, text="Enable Ollama in Claude Code for all projects", variable=self.enable_var).pack(
            anchor="w", padx=PAD, pady=PAD
        )
        note(self.page, f'This adds one entry, "{self.ctx.settings.server_name}", to {self.ctx.claude.config_file}.')
        self.finish_line = self.layout.name("finish_line", note(self.page, ""))
        self._next("Finish", self.finish)

    def finish(self) -> None:
        self._next("Finish", self.finish, enabled=False)
        model = self.model.get()
        enable = bool(self.enable_var.get())
        self.worker.run(lambda: self._apply(model, enable), lambda _r: self.show_done(), self._failed)

    def _apply(self, model: str, enable: bool) -> None:
        path = self.ctx.paths.settings_file
        self.ctx.use_settings(app_settings.save_settings(path, {"default_model": model}))
        self.changes.append(f"Set the default model to {model} in {path}.")
        if enable:
            target = Target(Scope.USER, self.ctx.settings.server_name)
            self.ctx.registrar().enable(target)
            self.changes.append(f'Registered the server "{target.name}" in {self.ctx.claude.config_file}.')

    def _failed(self, exc: Exception) -> None:
        self.finish_line.configure(text=f"✗ {exc}")
        self._next("Finish", self.finish)

    # ---- 4. done ----------------------------------------------------------------------------------------

    def show_done(self) -> None:
        self._clear()
        self.layout.name("done", heading(self.page, "4 · Done"))
        note(self.page, "What changed:")
        for change in self.changes or ["Nothing."]:
            note(self.page, f"• {change}")
        note(
            self.page,
            "To undo: untick Claude Code > Enabled for all projects in the tray menu (or run "
            "`ollama-mcp-tray disable --all`); change the default model in Settings; delete a model in Models. "
            "Open Claude Code and ask it to use Ollama: the tools are named mcp__"
            f"{self.ctx.settings.server_name}__….",
            pady=(PAD, 0),
        )
        self._next("Close", self.root.destroy)


def run(ctx: AppContext) -> int:
    window = WelcomeWindow(ctx)
    window.root.mainloop()
    return 0
