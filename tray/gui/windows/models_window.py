"""The models window: what Ollama has installed and in memory, and pull, delete, unload, keep loaded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.ollama_client import LoadedModel, ModelInfo, OllamaSnapshot
from ollama_mcp_tray.server.units import human_size

from ...app_context import AppContext
from .. import menu_model
from . import ollama_ops
from .toolkit import Worker, layout_for, make_root
from .widgets import PAD, PullRow, heading, note

INSTALLED_COLUMNS = ("size", "parameters", "quantization", "capabilities", "where")
LOADED_COLUMNS = ("memory", "vram", "context", "expires")
WIDTHS = {"size": 70, "parameters": 80, "quantization": 90, "capabilities": 170, "where": 55}


def is_cloud(model: ModelInfo) -> bool:
    """Ollama's cloud models run on ollama.com: they are listed with a `-cloud` tag and weigh almost nothing."""
    return model.name.endswith("-cloud") or ":cloud" in model.name


def installed_row(model: ModelInfo) -> tuple[str, ...]:
    return (
        human_size(model.size),
        model.parameter_size or "",
        model.quantization or "",
        ", ".join(model.capabilities),
        "cloud" if is_cloud(model) else "local",
    )


def loaded_row(model: LoadedModel, now: dt.datetime) -> tuple[str, ...]:
    return (
        human_size(model.size),
        f"{human_size(model.size_vram)} ({menu_model.placement(model)})",
        f"{model.context_length:,}" if model.context_length else "",
        menu_model.unloads_in(model.expires_at, now) or "",
    )


class ModelsWindow:
    def __init__(self, ctx: AppContext, root: Any | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.ctx = ctx
        self.root = root or make_root("Ollama MCP Tray: models")
        self.worker = Worker(self.root)
        self.layout = name = layout_for(self.root)
        self.snap: OllamaSnapshot | None = None
        outer = ttk.Frame(self.root, padding=PAD)
        outer.pack(fill="both", expand=True)

        heading(outer, "Installed")
        self.installed = ttk.Treeview(outer, columns=INSTALLED_COLUMNS, height=6, selectmode="browse")
        self.installed.heading("#0", text="model")
        self.installed.column("#0", width=190)
        for column in INSTALLED_COLUMNS:
            self.installed.heading(column, text=column)
            self.installed.column(column, width=WIDTHS.get(column, 80))
        self.installed.pack(fill="x", padx=PAD)
        name.name("installed", self.installed)
        row = ttk.Frame(outer)
        row.pack(anchor="w", padx=PAD, pady=4)
        self.delete_button = ttk.Button(row, text="Delete…", command=self.ask_delete)
        self.delete_button.pack(side="left")
        name.name("delete", self.delete_button)
        self.keep_button = ttk.Button(row, text="Keep loaded", command=self.keep_loaded)
        self.keep_button.pack(side="left", padx=PAD)
        name.name("keep", self.keep_button)
        ttk.Button(row, text="Refresh", command=self.refresh).pack(side="left")

        heading(outer, "In memory")
        self.loaded = ttk.Treeview(outer, columns=LOADED_COLUMNS, height=2, selectmode="browse")
        self.loaded.heading("#0", text="model")
        self.loaded.column("#0", width=190)
        for column in LOADED_COLUMNS:
            self.loaded.heading(column, text=column)
            self.loaded.column(column, width=120)
        self.loaded.pack(fill="x", padx=PAD)
        name.name("loaded", self.loaded)
        self.unload_button = ttk.Button(outer, text="Unload", command=self.unload)
        self.unload_button.pack(anchor="w", padx=PAD, pady=4)
        name.name("unload", self.unload_button)

        heading(outer, "Pull a model")
        pull = ttk.Frame(outer)
        pull.pack(anchor="w", padx=PAD)
        self.pull_name = tk.StringVar()
        self.pull_entry = ttk.Entry(pull, textvariable=self.pull_name, width=32)
        self.pull_entry.pack(side="left")
        name.name("pull_name", self.pull_entry)
        self.pull_entry.bind("<Return>", lambda _e: self.pull())
        self.pull_button = ttk.Button(pull, text="Pull", command=self.pull)
        self.pull_button.pack(side="left", padx=PAD)
        name.name("pull", self.pull_button)
        self.pull_row = PullRow(outer, self.worker, self.config, self._pulled)
        self.pull_row.pack(pady=(4, 0))
        name.name("pull_bar", self.pull_row.bar)
        name.name("pull_line", self.pull_row.line)
        name.name("pull_cancel", self.pull_row.cancel_button)

        self.confirm = ttk.Frame(row)  # beside the buttons, where the eye already is
        self.confirm_text = ttk.Label(self.confirm, text="")
        self.confirm_text.pack(side="left")
        self.confirm_yes = ttk.Button(self.confirm, text="Delete", command=self.delete)
        self.confirm_yes.pack(side="left", padx=PAD)
        name.name("confirm_delete", self.confirm_yes)
        ttk.Button(self.confirm, text="Keep it", command=self.confirm.pack_forget).pack(side="left")
        self.status = name.name("status", note(outer, "", pady=(PAD, 0)))
        self.refresh()

    def config(self) -> ServerConfig:
        try:
            return self.ctx.server_config()
        except ConfigError:
            return ServerConfig()

    def say(self, text: str) -> None:
        self.status.configure(text=text)

    # ---- reading ----------------------------------------------------------------------------------------

    def refresh(self) -> None:
        config = self.config()
        self.worker.run(lambda: ollama_ops.snapshot(config), self.show, lambda exc: self.say(f"✗ {exc}"))

    def show(self, snap: OllamaSnapshot) -> None:
        self.snap = snap
        if not snap.up:
            self.say(f"✗ {snap.error}")
        now = dt.datetime.now(dt.timezone.utc)
        self.installed.delete(*self.installed.get_children())
        for model in snap.models:
            self.installed.insert("", "end", iid=model.name, text=model.name, values=installed_row(model))
        self.loaded.delete(*self.loaded.get_children())
        for loaded in snap.loaded:
            self.loaded.insert("", "end", iid=loaded.name, text=loaded.name, values=loaded_row(loaded, now))

    def selected(self, tree: Any) -> str | None:
        chosen = tree.selection()
        return str(chosen[0]) if chosen else None

    # ---- acting -----------------------------------------------------------------------------------------

    def _after(self, done: str) -> Any:
        def then(_result: object) -> None:
            self.say(done)
            self.refresh()

        return then

    def ask_delete(self) -> None:
        model = self.selected(self.installed)
        if model is None:
            self.say("Choose a model in the list first.")
            return
        self.confirm_text.configure(text=f"Delete {model} and its files?")
        self.confirm.pack(side="left", padx=PAD)
        self._to_delete = model

    def delete(self) -> None:
        self.confirm.pack_forget()
        model, config = self._to_delete, self.config()
        self.say(f"Deleting {model}…")
        self.worker.run(
            lambda: ollama_ops.delete(config, model), self._after(f"{model} deleted."), lambda e: self.say(f"✗ {e}")
        )

    def keep_loaded(self) -> None:
        model = self.selected(self.installed)
        if model is None:
            self.say("Choose a model in the list first.")
            return
        config = self.config()
        self.say(f"Loading {model} to keep it in memory…")
        self.worker.run(
            lambda: ollama_ops.keep_loaded(config, model),
            self._after(f"{model} stays in memory until Ollama stops or you unload it."),
            lambda e: self.say(f"✗ {e}"),
        )

    def unload(self) -> None:
        model = self.selected(self.loaded)
        if model is None:
            self.say("Choose a model in memory first.")
            return
        config = self.config()
        self.worker.run(
            lambda: ollama_ops.unload(config, model), self._after(f"{model} unloaded."), lambda e: self.say(f"✗ {e}")
        )

    def pull(self) -> None:
        model = self.pull_name.get().strip()
        if not model or any(c.isspace() for c in model):
            self.say("Type a model's name as ollama.com/library shows it, e.g. qwen2.5-coder:3b.")
            return
        self.pull_row.start(model)

    def _pulled(self, model: str, error: str | None) -> None:
        self.say(f"✗ {error}" if error else f"{model} is installed.")
        self.refresh()


def run(ctx: AppContext) -> int:
    window = ModelsWindow(ctx)
    window.root.mainloop()
    return 0
