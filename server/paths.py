"""Where the app keeps its files: one place that both the server and the tray ask.

The folders come from platformdirs (XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows), so
tests point them at a temporary tree through the usual XDG variables or by building `AppPaths` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "ollama-mcp-tray"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(folder: Path, *, narrow: bool = False) -> Path:
    """Create `folder` and any missing parents readable by the user alone (0700), whatever the umask.

    `mkdir`'s mode is filtered by the umask only to remove bits, so each folder we create is chmod-ed after.
    With `narrow`, for the app's own folders, an existing folder with wider rights (an older version made
    them 0755) is narrowed to 0700 too; parents that existed already are not ours and are left as they are.

    Raises:
        OSError: a folder cannot be created or changed.
    """
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        try:
            path.mkdir(PRIVATE_DIR)
        except FileExistsError:
            continue  # another process made it meanwhile
        if os.name == "posix":
            os.chmod(path, PRIVATE_DIR)
    if narrow and os.name == "posix" and not missing and folder.stat().st_mode & 0o077:
        os.chmod(folder, PRIVATE_DIR)
    return folder


def open_private(path: Path, flags: int) -> int:
    """`os.open` a file of ours (O_CREAT added) so that it is 0600 whatever the umask, also when an older
    version created it wider; its folder is made private first.

    Raises:
        OSError: the file cannot be opened.
    """
    make_private_dir(path.parent, narrow=True)
    fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    if os.name == "posix":
        try:
            os.fchmod(fd, PRIVATE_FILE)
        except OSError:
            os.close(fd)
            raise
    return fd


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
