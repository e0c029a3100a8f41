"""Everything the CLI (and the tray) needs to know about this user's setup, gathered in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ollama_mcp_tray.server.config import ServerConfig, resolve_config
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import Settings, load_settings

from .clients.adoption_kit import Kit, KitPaths
from .clients.base import Machine
from .clients.catalog import CLIENTS, AnyRegistrar, ClientStatus, client_named, client_status, ordered
from .clients.claude_code import ClaudeHome
from .clients.engine import ClientRegistrar
from .clients.records import CLAUDE_CODE
from .clients.registrar import Registrar, RegistrationStatus, entry_env
from .configfile.safe_edit import SafeEditor
from .launch import ServerLaunch


@dataclass
class AppContext:
    """Paths, settings and the environment, resolved once per command."""

    paths: AppPaths
    claude: ClaudeHome
    launch: ServerLaunch
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _settings: Settings | None = None

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> AppContext:
        """The real user's folders, Claude Code's config (CLAUDE_CONFIG_DIR honoured) and our interpreter."""
        env = dict(os.environ if env is None else env)
        return cls(paths=AppPaths.default(), claude=ClaudeHome.from_env(env), launch=ServerLaunch.current(), env=env)

    @property
    def settings(self) -> Settings:
        """The saved settings (read on first use; raises ConfigError for a broken file)."""
        if self._settings is None:
            self._settings = load_settings(self.paths.settings_file)
        return self._settings

    def reload_settings(self) -> Settings:
        self._settings = None
        return self.settings

    def use_settings(self, settings: Settings) -> Settings:
        """Carry on with these settings (the tray's defaults while the user's file does not parse)."""
        self._settings = settings
        return settings

    def server_config(self) -> ServerConfig:
        """What our server would resolve in this environment (env, then settings, then key file)."""
        return resolve_config(self.env, self.paths, self.settings)

    @property
    def editor(self) -> SafeEditor:
        return SafeEditor(backups_dir=self.paths.backups_dir, lock_dir=self.paths.data_dir / "locks")

    def registrar(self, settings: Settings | None = None) -> Registrar:
        """Claude Code's registrar, writing what `settings` (default: the loaded ones) ask for."""
        env = entry_env(settings or self.settings)
        return Registrar(self.paths, self.claude, self.launch, env=env, editor=self.editor)

    def registrar_for(self, client: str = CLAUDE_CODE, settings: Settings | None = None) -> AnyRegistrar:
        """The registrar of the client named `client` (raises UnknownClient for a name we do not know)."""
        if client == CLAUDE_CODE:
            return self.registrar(settings)
        env = entry_env(settings or self.settings)
        spec = client_named(client)
        return ClientRegistrar(spec, self.paths, self.machine, self.launch, env=env, editor=self.editor)

    def client_statuses(
        self, name: str | None = None, known: Mapping[str, Sequence[RegistrationStatus]] | None = None
    ) -> list[ClientStatus]:
        """Every client we know, in the CLI's order, with its state now for the server `name` (default: the
        settings' name). `known`: registrations the caller has just read, by client name, read again otherwise."""
        name = name or self.settings.server_name
        known = known or {}
        return [
            client_status(c, self.machine, self.registrar_for(c.name), name, known.get(c.name))
            for c in ordered(CLIENTS)
        ]

    @property
    def machine(self) -> Machine:
        return Machine(self.home, self.env)

    def kit(self) -> Kit:
        """The adoption kit (skill, subagent, hooks) for this user's Claude Code."""
        return Kit(self.editor, KitPaths(self.claude.config_dir), self.settings.server_name, self.launch)

    @property
    def home(self) -> Path:
        return Path(self.env.get("HOME") or Path.home())
