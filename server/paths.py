"""Where the app keeps its files: one place that both the server and the tray ask.

The folders come from platformdirs (XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows), so
tests point them at a temporary tree through the usual XDG variables or by building `AppPaths` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_NAME = "ollama-mcp-tray"


@dataclass(frozen=True)
class AppPaths:
    """The app's per-user folders."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> AppPaths:
        """The platform's folders for this user (imports platformdirs lazily: it is only needed here)."""
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @property
    def settings_file(self) -> Path:
        """The app's settings (JSON), written by the tray and the CLI, read by the server too."""
        return self.config_dir / "settings.json"

    @property
    def key_file(self) -> Path:
        """The Ollama key, when the user stores one: a file readable by the user alone (0600)."""
        return self.config_dir / "ollama.key"

    @property
    def usage_file(self) -> Path:
        """Usage records of tool calls (JSON lines, bounded), for the tray's glance."""
        return self.data_dir / "usage.jsonl"

    @property
    def model_cache(self) -> Path:
        """Names of the installed models, so the server's tool descriptions have them at start."""
        return self.data_dir / "models.json"

    @property
    def server_log(self) -> Path:
        return self.log_dir / "server.log"

    @property
    def tray_log(self) -> Path:
        return self.log_dir / "tray.log"

    @property
    def backups_dir(self) -> Path:
        """Timestamped copies of Claude Code's files taken before each edit."""
        return self.data_dir / "backups"
