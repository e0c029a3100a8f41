"""Where the resident lives, computed with the standard library alone (stdlib).

The relay runs before anything heavy is imported, so it cannot ask platformdirs where the app's folders are.
`app_dirs` gives the same answers platformdirs gives `AppPaths.default()` (tests compare them on Linux and
through platformdirs' macOS class), `Places` adds the socket and lock paths, and `resident_enabled` reads the
on/off switch from the environment and the settings file.

The socket folder must be private: `$XDG_RUNTIME_DIR/ollama-mcp-tray` when the runtime folder is a real
folder of ours, else `<data dir>/run`; when that makes the socket path too long for AF_UNIX,
`/tmp/ollama-mcp-tray-<uid>`, which is refused unless it is a real folder (not a symlink), ours and 0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from .digest import sha256

APP_NAME = "ollama-mcp-tray"
MAX_SOCKET_PATH = 100  # bytes; AF_UNIX allows 104 on macOS and 108 on Linux, with the terminating NUL
DEFAULT_IDLE_S = 900.0
_OFF = frozenset({"0", "false", "off", "no"})
_ON = frozenset({"1", "true", "on", "yes"})


class PlaceError(OSError):
    """The socket folder cannot be made private; the resident is not used (the session is served in-process)."""


class AppDirs(NamedTuple):
    """The app's per-user folders, as `paths.AppPaths` has them."""

    config_dir: Path
    data_dir: Path
    log_dir: Path


def _home(env: Mapping[str, str]) -> str:
    home = env.get("HOME", "")
    if posixpath.isabs(home):
        return home
    import pwd  # only when HOME is missing or relative, as platformdirs does

    return pwd.getpwuid(os.getuid()).pw_dir


def _xdg(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "")
    return value if posixpath.isabs(value) else None


def app_dirs(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> AppDirs:
    """The config, data and log folders platformdirs gives this app for `env` on `platform`."""
    env = os.environ if env is None else env
    if platform == "win32":
        # platformdirs asks the shell for LOCALAPPDATA; the variable holds the same folder. No resident runs
        # on Windows yet, so only `status` and tests read this.
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / APP_NAME
        return AppDirs(config_dir=base, data_dir=base, log_dir=base / "Logs")
    home = _home(env)
    if platform == "darwin":
        support = posixpath.join(home, "Library", "Application Support")
        return AppDirs(
            config_dir=Path(_xdg(env, "XDG_CONFIG_HOME") or support) / APP_NAME,
            data_dir=Path(_xdg(env, "XDG_DATA_HOME") or support) / APP_NAME,
            log_dir=Path(home) / "Library" / "Logs" / APP_NAME,
        )
    state = _xdg(env, "XDG_STATE_HOME") or posixpath.join(home, ".local", "state")
    return AppDirs(
        config_dir=Path(_xdg(env, "XDG_CONFIG_HOME") or posixpath.join(home, ".config")) / APP_NAME,
        data_dir=Path(_xdg(env, "XDG_DATA_HOME") or posixpath.join(home, ".local", "share")) / APP_NAME,
        log_dir=Path(state) / APP_NAME / "log",
    )


def folder_set_key(dirs: AppDirs) -> str:
    """10 hex digits naming this set of app folders: each set (a test's, another XDG_CONFIG_HOME) has its own
    resident, which reads that set's settings and key file."""
    text = f"{os.path.realpath(dirs.config_dir)}\0{os.path.realpath(dirs.data_dir)}"
    return sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:10]


def _usable_runtime_dir(env: Mapping[str, str]) -> Path | None:
    """$XDG_RUNTIME_DIR when it is a real folder owned by us that others cannot write to (sticky aside)."""
    value = _xdg(env, "XDG_RUNTIME_DIR")
    if value is None:
        return None
    try:
        st = os.lstat(value)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return None
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return None
    return Path(value) / APP_NAME


class Places(NamedTuple):
    """Every path the relay and the resident use, for one set of app folders."""

    dirs: AppDirs
    socket_dir: Path
    key: str
    strict_dir: bool  # the /tmp fallback: refused unless it already is (or is made) a private folder of ours

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, platform: str = sys.platform) -> Places:
        """The places for the app folders `env` points at (computes paths only; creates nothing)."""
        env = os.environ if env is None else env
        dirs = app_dirs(env, platform)
        key = folder_set_key(dirs)
        folder = _usable_runtime_dir(env) or dirs.data_dir / "run"
        strict = False
        if len(os.fsencode(folder / f"resident-{key}.sock")) > MAX_SOCKET_PATH:
            folder, strict = Path(f"/tmp/{APP_NAME}-{os.getuid()}"), True
        return cls(dirs=dirs, socket_dir=folder, key=key, strict_dir=strict)

    @property
    def socket(self) -> Path:
        return self.socket_dir / f"resident-{self.key}.sock"

    @property
    def lock(self) -> Path:
        """Held (flock) by the resident for its life; holds its pid."""
        return self.socket_dir / f"resident-{self.key}.lock"

    @property
    def settings_file(self) -> Path:
        return self.dirs.config_dir / "settings.json"

    @property
    def server_log(self) -> Path:
        return self.dirs.log_dir / "server.log"

    def ensure_socket_dir(self) -> Path:
        """Create the socket folder private (0700) if needed and check it is ours.

        Raises:
            PlaceError: the folder is not a real folder of ours, or cannot be made private.
        """
        folder = self.socket_dir
        try:
            if self.strict_dir:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder, 0o700)
            else:
                ensure_private_dir(folder)
            st = os.lstat(folder)
        except OSError as exc:
            raise PlaceError(f"Cannot create the resident's folder {folder}: {exc}") from exc
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise PlaceError(f"The resident's folder {folder} is not a folder of this user; not using it.")
        if stat.S_IMODE(st.st_mode) != 0o700:
            if self.strict_dir:
                raise PlaceError(f"The resident's folder {folder} is not private (0700); not using it.")
            os.chmod(folder, 0o700)
        return folder


def ensure_private_dir(folder: Path) -> None:
    """mkdir -p with 0700 for every folder created (whatever the umask); existing parents are left alone.

    Raises:
        OSError: a folder cannot be created.
    """
    missing: list[Path] = []
    probe = folder
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)


def _switch(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return False if text in _OFF else True if text in _ON else None


def _read_settings(settings_file: Path) -> dict[str, object]:
    """The settings file's object, or {} when it is missing or does not parse (the server reports that)."""
    try:
        with open(settings_file, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def resident_enabled(
    env: Mapping[str, str] | None = None, settings_file: Path | None = None, platform: str = sys.platform
) -> bool:
    """Whether sessions go through the resident: OLLAMA_MCP_RESIDENT, else the settings' "resident" (default on).

    Never on Windows (no named-pipe resident yet).
    """
    if platform == "win32":
        return False
    env = os.environ if env is None else env
    chosen = _switch(env.get("OLLAMA_MCP_RESIDENT"))
    if chosen is not None:
        return chosen
    if settings_file is None:
        return True
    value = _read_settings(settings_file).get("resident", True)
    return value if isinstance(value, bool) else True


def idle_seconds(env: Mapping[str, str] | None = None, settings_file: Path | None = None) -> float:
    """How long the resident waits with no session before it exits: OLLAMA_MCP_RESIDENT_IDLE_S, else the
    settings' `resident_idle_minutes`, else 15 minutes."""
    env = os.environ if env is None else env
    raw = env.get("OLLAMA_MCP_RESIDENT_IDLE_S", "").strip()
    try:
        if raw and float(raw) >= 0:
            return float(raw)
    except ValueError:
        pass
    if settings_file is not None:
        minutes = _read_settings(settings_file).get("resident_idle_minutes")
        if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes >= 0:
            return float(minutes) * 60.0
    return DEFAULT_IDLE_S
