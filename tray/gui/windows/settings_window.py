"""The settings window: every setting of `app_settings.SETTINGS` with its meaning, checked as it is typed.

Values are checked by the same parsers `config set` uses, so the window and the CLI cannot disagree; the
address and the key are also tried against Ollama (or its proxy) a moment after the user stops typing; where the
environment overrides them (OLLAMA_URL, OLLAMA_HOST, OLLAMA_KEY...), the window says so and tries what is in effect,
since that is what the tray and a server started with it use. Save
writes the settings file atomically through `save_settings` (the tray sees the change and applies it), the key
through `store_key`, and the login item through `Autostart`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ollama_mcp_tray.server.config import ServerConfig, Timeouts
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.resident import status as resident

from ... import app_settings
from ...app_context import AppContext
from ...desktop.autostart import Autostart
from . import ollama_ops
from .toolkit import Worker, layout_for, make_root
from .widgets import PAD, Debounced

FIELD_WRAP = 380  # pixels: a field's explanation wraps under it, keeping the window within a small screen

TABS = {
    "Connection": ("ollama_url", "key_header", "auth_scheme", "ca_file"),
    "Claude Code": ("default_model", "server_name", "allow_model_management", "guard"),
    "Timeouts": ("poll_interval", "connect_timeout", "idle_timeout", "max_time"),
    "Local server": ("resident", "resident_idle_minutes"),
}  # a setting in neither (a newer one: allowed folders, cloud models) goes to "More"
BOOLEAN = {"allow_model_management", "guard", "resident"}
CHOICES = {"auth_scheme": ("header", "bearer")}
LABELS = {
    "ollama_url": "Ollama address",
    "default_model": "Default model",
    "server_name": "Name in Claude Code",
    "key_header": "Key header",
    "auth_scheme": "Send the key as",
    "allow_model_management": "Let Claude pull and delete models",
    "guard": "Restore the registration when it vanishes",
    "poll_interval": "Check Ollama every (s)",
    "connect_timeout": "Connect timeout (s)",
    "idle_timeout": "Idle timeout (s)",
    "max_time": "Longest generation (s)",
    "ca_file": "CA certificate file",
    "resident": "Share one server between sessions",
    "resident_idle_minutes": "Stop it after idle (min)",
    # Settings added by other parts of the app (allowed folders for the material tools, cloud models) appear
    # here under their own name until they are given a label: every entry of SETTINGS gets a row.
}


ENVIRONMENT = {
    "ollama_url": ("OLLAMA_URL", "OLLAMA_HOST"),
    "key": ("OLLAMA_KEY",),
    "key_header": ("OLLAMA_KEY_HEADER",),
    "auth_scheme": ("OLLAMA_AUTH_SCHEME",),
}  # the variables that win over a connection field (see server/config.py)


def overridden(env: Any) -> dict[str, str]:
    """The connection fields the environment overrides: field -> the variable that does it.

    >>> overridden({"OLLAMA_HOST": "gpu:11434", "OLLAMA_KEY": " "})
    {'ollama_url': 'OLLAMA_HOST'}
    """
    found: dict[str, str] = {}
    for field, variables in ENVIRONMENT.items():
        variable = next((v for v in variables if str(env.get(v, "")).strip()), None)
        if variable is not None:
            found[field] = variable
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


class SettingsWindow:
    def __init__(self, ctx: AppContext, root: Any | None = None, autostart: Autostart | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.ctx = ctx
        self.root = root or make_root("Ollama MCP Tray: settings")
        self.worker = Worker(self.root)
        self.layout = layout_for(self.root)
        self.autostart = autostart or Autostart(env=ctx.env)
        self.overrides = overridden(ctx.env)  # connection fields the environment wins over
        try:
            settings = ctx.reload_settings()
            self.load_problem: str | None = None
        except ConfigError as exc:
            settings = ctx.settings
            self.load_problem = str(exc)
        current = settings.to_dict()
        self.vars: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        self.widgets: dict[str, Any] = {}

        outer = ttk.Frame(self.root, padding=PAD)
        outer.pack(fill="both", expand=True)
        self.tabs = ttk.Notebook(outer)
        self.tabs.pack(fill="both", expand=True)
        self.tabs.enable_traversal()  # Ctrl+Tab moves between the tabs
        forms: dict[str, Any] = {}
        rows: dict[str, int] = {}
        for name, spec in app_settings.SETTINGS.items():
            tab = next((t for t, names in TABS.items() if name in names), "More")
            if tab not in forms:
                forms[tab] = ttk.Frame(self.tabs, padding=PAD)
                forms[tab].columnconfigure(1, weight=1)
                self.tabs.add(forms[tab], text=tab)
                rows[tab] = 0
            form, row = forms[tab], rows[tab]
            ttk.Label(form, text=LABELS.get(name, name)).grid(row=row, column=0, sticky="nw", padx=(0, PAD), pady=2)
            var: Any
            widget: Any
            if name in BOOLEAN:
                var = tk.BooleanVar(value=bool(current[name]))
                widget = ttk.Checkbutton(form, variable=var, text="on")
            elif name in CHOICES:
                var = tk.StringVar(value=_text(current[name]))
                widget = ttk.Combobox(form, textvariable=var, values=CHOICES[name], state="readonly", width=34)
            elif name == "default_model":
                var = tk.StringVar(value=_text(current[name]))
                widget = ttk.Combobox(form, textvariable=var, values=(), width=34)
            else:
                var = tk.StringVar(value=_text(current[name]))
                widget = ttk.Entry(form, textvariable=var, width=36)
            widget.grid(row=row, column=1, sticky="we", pady=2)
            self.vars[name] = var
            self.widgets[name] = self.layout.name(f"field:{name}", widget)
            row += 1
            if name in BOOLEAN:  # a check box needs no checking: its meaning only
                meaning = ttk.Label(form, text=spec.meaning, wraplength=FIELD_WRAP, foreground="#555")
                meaning.grid(row=row, column=1, sticky="w")
                row += 1
            else:
                error = ttk.Label(form, text=spec.meaning, wraplength=FIELD_WRAP, foreground="#555")
                error.grid(row=row, column=1, sticky="w")
                self.errors[name] = self.layout.name(f"error:{name}", error)
                row += 1
                var.trace_add("write", lambda *_a, n=name: self._validate(n))
            if name == "ollama_url":
                row = self._key_rows(form, row)
            rows[tab] = row

        self._resident_row(forms["Local server"], rows["Local server"])
        form, row = forms["Claude Code"], rows["Claude Code"]
        ttk.Label(form, text="Start at login").grid(row=row, column=0, sticky="w", pady=2)
        self.autostart_var = tk.BooleanVar(value=self.autostart.is_enabled())
        self.widgets["autostart"] = self.layout.name(
            "field:autostart", ttk.Checkbutton(form, variable=self.autostart_var, text="open the tray when you log in")
        )
        self.widgets["autostart"].grid(row=row, column=1, sticky="w")
        for tab, form in forms.items():
            self.layout.name(f"tab:{tab}", form)

        buttons = ttk.Frame(outer)
        buttons.pack(fill="x", pady=(PAD, 0))
        self.status = self.layout.name(
            "status", ttk.Label(buttons, text=self.load_problem or "", wraplength=FIELD_WRAP)
        )
        self.status.pack(side="left", fill="x", expand=True)
        ttk.Button(buttons, text="Close", command=self.root.destroy).pack(side="right")
        self.save_button = self.layout.name("save", ttk.Button(buttons, text="Save", command=self.save))
        self.save_button.pack(side="right", padx=PAD)

        self.url_check = Debounced(self.root, self.worker, lambda t: self._say(self.url_status, t))
        self.key_check = Debounced(self.root, self.worker, lambda t: self._say(self.key_status, t))
        for name in ("ollama_url", "key_header", "auth_scheme"):
            self.vars[name].trace_add("write", lambda *_a: self._live_checks())
        self.key_var.trace_add("write", lambda *_a: self._live_checks(key_only=True))
        self._live_checks()
        self._load_models()

    def _key_rows(self, form: Any, row: int) -> int:
        import tkinter as tk
        from tkinter import ttk

        self.url_status = self.layout.name("url_status", ttk.Label(form, text="", wraplength=FIELD_WRAP))
        self.url_status.grid(row=row, column=1, sticky="w")
        row += 1
        row = self._override_note(form, row)
        ttk.Label(form, text="Key (for a proxy)").grid(row=row, column=0, sticky="w", pady=2)
        self.key_var = tk.StringVar(value="")
        self.widgets["key"] = self.layout.name(
            "field:key", ttk.Entry(form, textvariable=self.key_var, show="•", width=36)
        )
        self.widgets["key"].grid(row=row, column=1, sticky="we", pady=2)
        row += 1
        stored = self.ctx.paths.key_file.exists()
        hint = "a key is stored; type a new one to replace it" if stored else "no key stored; leave empty if none"
        self.key_status = self.layout.name("key_status", ttk.Label(form, text=hint, wraplength=FIELD_WRAP))
        self.key_status.grid(row=row, column=1, sticky="w")
        return row + 1

    def _override_note(self, form: Any, row: int) -> int:
        """Say which connection fields the environment overrides: the checks are of what is in effect."""
        from tkinter import ttk

        if not self.overrides:
            return row
        try:
            in_effect = self.ctx.server_config().base_url
        except ConfigError:
            in_effect = "(unreadable)"
        parts = []
        if "ollama_url" in self.overrides:
            variable = self.overrides["ollama_url"]
            parts.append(
                f"{variable} in the environment sets the address in effect, {in_effect}: the tray (and a server "
                f"started with it) uses that one whatever is saved here, so the check above is of it."
            )
        others = [v for f, v in self.overrides.items() if f != "ollama_url"]
        if others:
            parts.append(f"{', '.join(others)} in the environment win over the key fields too.")
        note = ttk.Label(form, text="⚠ " + " ".join(parts), wraplength=FIELD_WRAP, foreground="#8a5a00")
        note.grid(row=row, column=1, sticky="w")
        self.layout.name("url_override", note)
        return row + 1

    def _resident_row(self, form: Any, row: int) -> None:
        """How the shared server is now (asked on a worker: the question may take up to a second)."""
        from tkinter import ttk

        ttk.Label(form, text="Now").grid(row=row, column=0, sticky="nw", padx=(0, PAD), pady=2)
        self.resident_status = self.layout.name(
            "resident_status", ttk.Label(form, text="asking…", wraplength=FIELD_WRAP)
        )
        self.resident_status.grid(row=row, column=1, sticky="w", pady=2)
        self.worker.run(
            lambda: resident.status_for(self.ctx.env).describe(),
            lambda text: self._say(self.resident_status, text[:1].upper() + text[1:] + "."),
            lambda exc: self._say(self.resident_status, f"Cannot tell: {exc}"),
        )

    @staticmethod
    def _say(label: Any, text: str) -> None:
        label.configure(text=text)

    # ---- checking ---------------------------------------------------------------------------------------

    def _validate(self, name: str) -> bool:
        spec = app_settings.SETTINGS[name]
        if name not in self.errors:  # a check box holds a valid value whatever its state
            return True
        try:
            app_settings.parse_setting(name, _text(self.vars[name].get()))
        except app_settings.InvalidValue as exc:
            self.errors[name].configure(text=f"✗ {exc}", foreground="#b00020")
            return False
        self.errors[name].configure(text=spec.meaning, foreground="#555")
        return True

    def candidate_config(self) -> ServerConfig | None:
        """The connection the fields describe now (None while one of them is invalid)."""
        try:
            base = self.ctx.server_config()
        except ConfigError:
            base = ServerConfig()
        try:
            url = app_settings.parse_setting("ollama_url", self.vars["ollama_url"].get())
            header = app_settings.parse_setting("key_header", self.vars["key_header"].get())
            scheme = app_settings.parse_setting("auth_scheme", self.vars["auth_scheme"].get())
            connect = app_settings.parse_setting("connect_timeout", _text(self.vars["connect_timeout"].get()))
        except app_settings.InvalidValue:
            return None
        key = self.key_var.get().strip() or base.key
        # What the environment sets is in effect whatever the fields say: check that (base resolved it).
        env = self.overrides
        url = base.base_url if "ollama_url" in env else url
        key = base.key if "key" in env else key
        header = base.key_header if "key_header" in env else header
        scheme = base.auth_scheme if "auth_scheme" in env else scheme
        timeouts = dataclasses.replace(Timeouts(), connect=connect, idle=min(base.timeouts.idle, 15.0))
        return dataclasses.replace(
            base, base_url=url, key=key, key_header=header, auth_scheme=scheme, timeouts=timeouts
        )

    def _live_checks(self, key_only: bool = False) -> None:
        config = self.candidate_config()
        if config is None:
            self.url_status.configure(text="")
            return
        if not key_only:
            self.url_check.schedule(lambda: ollama_ops.check(dataclasses.replace(config, key=None), address_only=True))
        if config.key:
            self.key_check.schedule(lambda: ollama_ops.check(config))

    def _load_models(self) -> None:
        config = self.candidate_config()
        if config is None:
            return

        def fill(snap: Any) -> None:
            names = [m.name for m in snap.models if not m.embedding_only]
            self.widgets["default_model"].configure(values=names)

        self.worker.run(lambda: ollama_ops.snapshot(config), fill, lambda _exc: None)

    # ---- saving -----------------------------------------------------------------------------------------

    def save(self) -> bool:
        """Check every field; write the settings (atomically), the key and the login item. False: nothing saved."""
        if self.load_problem:
            self.status.configure(text=f"Not saved: {self.load_problem}")
            return False
        updates: dict[str, Any] = {}
        bad = [name for name in app_settings.SETTINGS if not self._validate(name)]
        if bad:
            self.status.configure(text=f"Not saved: fix {', '.join(LABELS.get(n, n) for n in bad)}.")
            return False
        for name in app_settings.SETTINGS:
            updates[name] = app_settings.parse_setting(name, _text(self.vars[name].get()))
        key = self.key_var.get().strip()
        try:
            saved = app_settings.save_settings(self.ctx.paths.settings_file, updates)
            if key:
                app_settings.store_key(self.ctx.paths.key_file, key)
            if self.autostart_var.get() != self.autostart.is_enabled():
                self.autostart.set_enabled(bool(self.autostart_var.get()))
        except (ConfigError, app_settings.InvalidValue, OSError) as exc:
            self.status.configure(text=f"Not saved: {exc}")
            return False
        self.ctx.use_settings(saved)
        self.key_var.set("")
        self.status.configure(text=f"Saved to {self.ctx.paths.settings_file}. The tray applies it at once.")
        return True


def run(ctx: AppContext) -> int:
    window = SettingsWindow(ctx)
    window.root.mainloop()
    return 0
