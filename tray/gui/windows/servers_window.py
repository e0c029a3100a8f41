"""The servers window: the Ollamas the user saved (this machine, a GPU box behind a proxy), and which one is active.

Add, edit, test, remove, make active. Every change goes through `tray/servers.py`, which writes the settings file
atomically (through `save_settings`) and keeps keys in private files; the tray sees the files change and follows,
and so do the running servers of Claude Code. The address and key are tried a moment after the user stops typing
(and again on Test), as in the Settings window.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig, Timeouts
from ollama_mcp_tray.server.errors import ConfigError, OllamaMcpError
from ollama_mcp_tray.server.settings import DEFAULT_KEY_HEADER

from ... import app_settings, servers
from ...app_context import AppContext
from . import ollama_ops
from .toolkit import Worker, layout_for, make_root
from .widgets import PAD, WRAP, Debounced, heading, note

COLUMNS = ("address", "key", "active")
FIELD_WIDTH = 40


def environment_override(env: Any) -> str | None:
    """The variable that sets the tray's Ollama address whatever is active here, with its value; None if none."""
    for name in ("OLLAMA_URL", "OLLAMA_HOST"):
        value = str(env.get(name, "")).strip()
        if value:
            return f"{name}={value}"
    return None


class ServersWindow:
    def __init__(self, ctx: AppContext, root: Any | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.ctx = ctx
        self.root = root or make_root("Ollama MCP Tray: servers")
        self.worker = Worker(self.root)
        self.layout = name = layout_for(self.root)
        self.editing: str | None = None  # the id of the server in the form; None: a new one
        self.book: servers.ServerBook | None = None

        outer = ttk.Frame(self.root, padding=PAD)
        outer.pack(fill="both", expand=True)
        heading(outer, "Ollama servers")
        note(
            outer,
            "Claude Code's server and the tray talk to the active one; switch from here or from the tray's "
            "Ollama server menu. Keys stay in private files, never in settings.json.",
        )
        override = environment_override(ctx.env)
        if override:
            name.name(
                "env_note",
                note(
                    outer,
                    f"⚠ {override} is set in the environment: it wins over the active server for the tray (and for "
                    "Claude Code's server if its environment sets it too).",
                    pady=(4, 0),
                ),
            )
        self.table = ttk.Treeview(outer, columns=COLUMNS, height=3, selectmode="browse")
        self.table.heading("#0", text="name")
        self.table.column("#0", width=150)
        for column, width in zip(COLUMNS, (230, 140, 60), strict=True):
            self.table.heading(column, text=column)
            self.table.column(column, width=width)
        self.table.pack(fill="x", padx=PAD, pady=(PAD, 0))
        self.table.bind("<<TreeviewSelect>>", lambda _e: self._selected())
        name.name("list", self.table)

        row = ttk.Frame(outer)
        row.pack(anchor="w", padx=PAD, pady=4)
        self.activate_button = name.name("activate", ttk.Button(row, text="Make active", command=self.activate))
        self.activate_button.pack(side="left")
        name.name("new", ttk.Button(row, text="New", command=self.new)).pack(side="left", padx=PAD)
        name.name("remove", ttk.Button(row, text="Remove…", command=self.ask_remove)).pack(side="left")
        self.confirm = ttk.Frame(row)
        self.confirm_text = ttk.Label(self.confirm, text="")
        self.confirm_text.pack(side="left", padx=(PAD, 0))
        name.name("confirm_remove", ttk.Button(self.confirm, text="Remove", command=self.remove)).pack(
            side="left", padx=PAD
        )
        ttk.Button(self.confirm, text="Keep it", command=self.confirm.pack_forget).pack(side="left")

        self.form_title = heading(outer, "New server")
        form = ttk.Frame(outer)
        form.pack(fill="x", padx=PAD)
        form.columnconfigure(1, weight=1)
        self.vars = {
            "name": tk.StringVar(),
            "url": tk.StringVar(),
            "auth_scheme": tk.StringVar(value="header"),
            "key_header": tk.StringVar(value=DEFAULT_KEY_HEADER),
            "key": tk.StringVar(),
        }
        self.forget_key = tk.BooleanVar(value=False)

        # Compact: the window fits a 800x600 screen (two fields share a row, the hint shares one with its box).
        def label(text: str, row: int) -> None:
            ttk.Label(form, text=text).grid(row=row, column=0, sticky="w", padx=(0, PAD), pady=2)

        label("Name", 0)
        name.name("field:name", ttk.Entry(form, textvariable=self.vars["name"], width=FIELD_WIDTH)).grid(
            row=0, column=1, sticky="we", pady=2
        )
        label("Address", 1)
        name.name("field:url", ttk.Entry(form, textvariable=self.vars["url"], width=FIELD_WIDTH)).grid(
            row=1, column=1, sticky="we", pady=2
        )
        self.url_error = name.name("error:url", ttk.Label(form, text="", wraplength=WRAP - 120))
        self.url_error.grid(row=2, column=1, sticky="w")
        label("Send the key", 3)
        how = ttk.Frame(form)
        how.grid(row=3, column=1, sticky="we", pady=2)
        scheme = ttk.Combobox(
            how, textvariable=self.vars["auth_scheme"], values=("header", "bearer"), state="readonly", width=8
        )
        scheme.pack(side="left")
        name.name("field:auth_scheme", scheme)
        ttk.Label(how, text="header name").pack(side="left", padx=PAD)
        self.header_entry = header = ttk.Entry(how, textvariable=self.vars["key_header"], width=18)
        header.pack(side="left", fill="x", expand=True)
        name.name("field:key_header", header)
        label("Key (for a proxy)", 4)
        name.name("field:key", ttk.Entry(form, textvariable=self.vars["key"], show="•", width=FIELD_WIDTH)).grid(
            row=4, column=1, sticky="we", pady=2
        )
        hint_row = ttk.Frame(form)
        hint_row.grid(row=5, column=1, sticky="we")
        self.key_hint = name.name("key_hint", ttk.Label(hint_row, text=""))
        self.key_hint.pack(side="left")
        self.forget_box = forget = ttk.Checkbutton(hint_row, text="remove it", variable=self.forget_key)
        forget.pack(side="right")
        name.name("field:forget_key", forget)
        self.check_line = name.name("check", ttk.Label(form, text="", wraplength=WRAP - 120))
        self.check_line.grid(row=6, column=1, sticky="w", pady=(4, 0))

        buttons = ttk.Frame(outer)
        buttons.pack(fill="x", padx=PAD, pady=(PAD, 0))
        name.name("test", ttk.Button(buttons, text="Test", command=self.test)).pack(side="left")
        name.name("save", ttk.Button(buttons, text="Save", command=self.save)).pack(side="left", padx=PAD)
        name.name("close", ttk.Button(buttons, text="Close", command=self.root.destroy)).pack(side="right")
        self.status = name.name("status", note(outer, "", pady=(PAD, 0)))

        self.checker = Debounced(self.root, self.worker, lambda text: self.check_line.configure(text=text))
        for var in self.vars.values():
            var.trace_add("write", lambda *_a: self._changed())
        self.reload()

    # ---- the list ---------------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        """Read the saved servers again and show them; select `select` (default: the active one)."""
        try:
            self.book = servers.read_book(self.ctx.paths)
        except ConfigError as exc:
            self.book = None
            self.status.configure(text=f"The saved servers cannot be read: {exc}")
            return
        book = self.book
        self.table.delete(*self.table.get_children())
        for server in book.servers:
            key = "stored" if servers.has_key(self.ctx.paths, book, server.id) else "none"
            if key == "stored":
                key += f", {'bearer' if server.auth_scheme == 'bearer' else server.key_header}"
            values = (server.url, key, "✓" if server.id == book.active_id else "")
            self.table.insert("", "end", iid=server.id, text=server.name, values=values)
        chosen = select if select in {s.id for s in book.servers} else book.active_id
        self.table.selection_set(chosen)
        self._fill(book.find(chosen))

    def _selected(self) -> None:
        chosen = self.table.selection()
        if self.book is not None and chosen and chosen[0] != self.editing:
            self._fill(self.book.find(chosen[0]))

    def _fill(self, server: servers.SavedServer) -> None:
        assert self.book is not None
        self.editing = server.id
        active = server.id == self.book.active_id
        self.form_title.configure(text=f"{server.name}{' (active)' if active else ''}")
        for field, value in (
            ("name", server.name),
            ("url", server.url),
            ("auth_scheme", server.auth_scheme),
            ("key_header", server.key_header),
            ("key", ""),
        ):
            self.vars[field].set(value)
        self.forget_key.set(False)
        stored = servers.has_key(self.ctx.paths, self.book, server.id)
        self.forget_box.configure(state="normal" if stored else "disabled")
        self.key_hint.configure(
            text="a key is stored; type a new one to replace it" if stored else "no key stored; leave empty if none"
        )

    def new(self) -> None:
        """An empty form: Save adds a new server."""
        self.editing = None
        self.table.selection_remove(*self.table.selection())
        self.form_title.configure(text="New server")
        for field, value in (("name", ""), ("url", ""), ("auth_scheme", "header"), ("key", "")):
            self.vars[field].set(value)
        self.vars["key_header"].set(DEFAULT_KEY_HEADER)
        self.forget_key.set(False)
        self.forget_box.configure(state="disabled")
        self.key_hint.configure(text="leave empty if the server takes no key")
        self.check_line.configure(text="")
        self.status.configure(text="")

    # ---- checking ---------------------------------------------------------------------------------------

    def stored_key(self) -> str | None:
        if self.editing is None or self.book is None or self.forget_key.get():
            return None
        try:
            return servers.key_of(self.ctx.paths, self.book, self.editing)
        except ConfigError:
            return None

    def candidate_config(self) -> ServerConfig | None:
        """The connection the form describes (None while the address is not one)."""
        try:
            url = app_settings.check_url("address", self.vars["url"].get())
            header = app_settings.parse_setting("key_header", self.vars["key_header"].get() or DEFAULT_KEY_HEADER)
        except app_settings.InvalidValue as exc:
            self.url_error.configure(text=f"✗ {exc}" if self.vars["url"].get().strip() else "")
            return None
        self.url_error.configure(text="")
        try:
            base = self.ctx.server_config()
        except ConfigError:
            base = ServerConfig()
        key = self.vars["key"].get().strip() or self.stored_key()
        timeouts = dataclasses.replace(Timeouts(), connect=base.timeouts.connect, idle=min(base.timeouts.idle, 15.0))
        scheme = self.vars["auth_scheme"].get() or "header"
        return dataclasses.replace(
            base, base_url=url, key=key, key_header=header, auth_scheme=scheme, timeouts=timeouts
        )

    def _changed(self) -> None:
        # A bearer key goes in Authorization: the header name then means nothing.
        self.header_entry.configure(state="disabled" if self.vars["auth_scheme"].get() == "bearer" else "normal")
        if self.vars["url"].get().strip():
            self.test()

    def test(self) -> None:
        """Try the address (and the key, when there is one) against Ollama or its proxy."""
        config = self.candidate_config()
        if config is None:
            self.check_line.configure(text="")
            return
        self.checker.schedule(lambda: ollama_ops.check(config, address_only=not config.key))

    # ---- changing -----------------------------------------------------------------------------------------

    def save(self) -> bool:
        """Add the server in the form, or save its changes. False: nothing saved (the status says why)."""
        fields = {f: self.vars[f].get() for f in ("name", "url", "key_header", "auth_scheme")}
        key = self.vars["key"].get().strip() or None
        try:
            if self.editing is None:
                saved = servers.add_server(self.ctx.paths, **fields, key=key)
            else:
                saved = servers.update_server(
                    self.ctx.paths, self.editing, **fields, key=key, forget_key=bool(self.forget_key.get())
                )
        except (OllamaMcpError, OSError) as exc:
            self.status.configure(text=f"Not saved: {exc}")
            return False
        self.reload(select=saved.id)
        self.status.configure(text=f"Saved {saved.name}.")
        return True

    def _chosen(self) -> servers.SavedServer | None:
        chosen = self.table.selection()
        if self.book is None or not chosen:
            self.status.configure(text="Choose a server in the list first.")
            return None
        return self.book.find(chosen[0])

    def activate(self) -> None:
        server = self._chosen()
        if server is None:
            return
        try:
            servers.activate(self.ctx.paths, server.id)
        except (OllamaMcpError, OSError) as exc:
            self.status.configure(text=f"Not switched: {exc}")
            return
        self.reload(select=server.id)
        self.status.configure(text=f"{server.name} is active: Claude Code's server and the tray use it now.")

    def ask_remove(self) -> None:
        server = self._chosen()
        if server is None:
            return
        self.confirm_text.configure(text=f"Remove {server.name} and its stored key?")
        self.confirm.pack(side="left")

    def remove(self) -> None:
        self.confirm.pack_forget()
        server = self._chosen()
        if server is None:
            return
        try:
            servers.remove_server(self.ctx.paths, server.id)
        except (OllamaMcpError, OSError) as exc:
            self.status.configure(text=f"Not removed: {exc}")
            return
        self.reload()
        self.status.configure(text=f"Removed {server.name}.")


def run(ctx: AppContext) -> int:
    window = ServersWindow(ctx)
    window.root.mainloop()
    return 0
