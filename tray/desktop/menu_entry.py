"""Put the app in the desktop's application menu: a freedesktop `.desktop` entry and hicolor theme icons.

`install_desktop()` writes `<data home>/applications/ollama-mcp-tray.desktop` and
`<data home>/icons/hicolor/<n>x<n>/apps/ollama-mcp-tray.png`; `uninstall_desktop()` removes exactly those
files. Both are idempotent. The data home is `$XDG_DATA_HOME`, else `~/.local/share`; home and environment
are parameters so tests work in a temporary tree. The entry's text is a pure function,
`render_desktop_entry()`, which the autostart entry can reuse. Packagers get the same text as a template in
`packaging/linux/ollama-mcp-tray.desktop.in` (a test keeps the two in step).

Desktop caches are refreshed with `update-desktop-database` / `gtk-update-icon-cache` when those tools exist;
their absence or failure never fails the install (desktops rescan these folders by themselves).
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ollama_mcp_tray.server.paths import make_private_dir

from ..launch import APP_ID, tray_command

ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 128, 256, 512)
_CACHE_TOOL_TIMEOUT_S = 20.0

# Characters after which an Exec argument must be quoted (Desktop Entry Specification, "The Exec key").
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


def quote_exec_argument(arg: str) -> str:
    r"""Quote one argument for a desktop entry's `Exec` key.

    >>> quote_exec_argument("/usr/bin/python3")
    '/usr/bin/python3'
    >>> quote_exec_argument("/home/ann b/venv/bin/python")
    '"/home/ann b/venv/bin/python"'
    >>> quote_exec_argument('/opt/$x"y')
    '"/opt/\\$x\\"y"'
    >>> quote_exec_argument("100%")
    '100%%'
    """
    # A literal percent sign is written %% whether quoted or not: % starts a field code.
    arg = arg.replace("%", "%%")
    if arg and not any(c in _RESERVED for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def _escape_value(value: str) -> str:
    """Escape a string value for a desktop entry (a newline would end the key)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def render_desktop_entry(
    command: Sequence[str],
    *,
    icon: str = APP_ID,
    name: str = "Ollama MCP Tray",
    comment: str = "Use your local Ollama models from Claude Code",
    extra: Mapping[str, str] | None = None,
) -> str:
    """The text of a desktop entry that runs `command`.

    Args:
        command: the absolute command line (one argument per item; quoted here as the spec requires).
        icon: an icon theme name, or an absolute path to an image.
        name: the entry's visible name.
        comment: its tooltip.
        extra: further keys appended in order, e.g. `{"X-GNOME-Autostart-enabled": "true"}` for autostart;
            a key given here replaces the default of the same name.

    Returns:
        The entry as text, ending with a newline.
    """
    keys: dict[str, str] = {
        "Type": "Application",
        "Version": "1.4",
        "Name": name,
        "GenericName": "MCP server for Ollama",
        "Comment": comment,
        "Exec": " ".join(quote_exec_argument(a) for a in command),
        "Icon": icon,
        "Terminal": "false",
        "Categories": "Development;",
        "Keywords": "ollama;mcp;claude;llm;ai;",
        "StartupNotify": "false",
    }
    for key, value in (extra or {}).items():
        keys[key] = value
    lines = ["[Desktop Entry]"]
    lines += [f"{key}={value if key == 'Exec' else _escape_value(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def data_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME` when set to an absolute path (the spec ignores relative ones), else `~/.local/share`."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    value = env.get("XDG_DATA_HOME", "")
    return Path(value) if value and Path(value).is_absolute() else home / ".local" / "share"


@dataclass(frozen=True)
class DesktopFiles:
    """Where the desktop entry and its icons go under one data home."""

    data_home: Path

    @property
    def entry(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    @property
    def icon_theme(self) -> Path:
        return self.data_home / "icons" / "hicolor"

    def icon(self, size: int) -> Path:
        return self.icon_theme / f"{size}x{size}" / "apps" / f"{APP_ID}.png"

    def all(self) -> list[Path]:
        return [self.entry, *(self.icon(size) for size in ICON_SIZES)]


@dataclass(frozen=True)
class DesktopResult:
    """What `install_desktop` or `uninstall_desktop` did."""

    changed: list[Path]
    """Files written or removed (unchanged files are not listed)."""
    cache_notes: list[str] = field(default_factory=list)
    """One line per cache tool that was missing or failed (harmless; for the verbose CLI)."""


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    # Menu entries and icons are read by the desktop and hold nothing private: 0644, never wider whatever the
    # umask; a folder we create is 0700 (others must not add entries that run at their click).
    make_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        if os.name == "posix":
            os.fchmod(fd, 0o644)
        fh.write(data)
    os.replace(tmp, path)
    return True


def _app_icon_png(size: int) -> bytes:
    return (importlib.resources.files("ollama_mcp_tray.assets") / "icons" / f"app-{size}.png").read_bytes()


def _refresh_caches(files: DesktopFiles, env: Mapping[str, str]) -> list[str]:
    notes: list[str] = []
    runs = [
        ("update-desktop-database", [str(files.entry.parent)]),
        # -t: refresh even though a user-level hicolor folder has no index.theme of its own.
        ("gtk-update-icon-cache", ["-f", "-t", "-q", str(files.icon_theme)]),
    ]
    for tool, args in runs:
        exe = shutil.which(tool, path=env.get("PATH"))
        if exe is None:
            notes.append(f"{tool} not found; the desktop will pick the change up on its own")
            continue
        if not (files.entry.parent if tool == "update-desktop-database" else files.icon_theme).is_dir():
            continue
        try:
            # The caches they write are read by the desktop: 0644 at most, whatever the user's umask.
            done = subprocess.run(
                [exe, *args],
                capture_output=True,
                text=True,
                timeout=_CACHE_TOOL_TIMEOUT_S,
                check=False,
                umask=0o022 if os.name == "posix" else -1,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            notes.append(f"{tool} did not run: {exc}")
            continue
        if done.returncode != 0:
            notes.append(f"{tool} exited {done.returncode}: {done.stderr.strip()[:200]}")
    return notes


def install_desktop(
    command: Sequence[str] | None = None,
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    refresh_caches: bool = True,
) -> DesktopResult:
    """Add the app to the application menu (idempotent: running it again rewrites nothing unchanged).

    Args:
        command: what the menu entry runs; by default the tray as this process would start it
            (`<python> -m ollama_mcp_tray.tray`, or the frozen binary).
        home: the user's home (default: the real one).
        env: the environment holding `XDG_DATA_HOME` and `PATH` (default: `os.environ`).
        refresh_caches: run the desktop cache tools when present.

    Returns:
        The files changed and notes about the cache tools.

    Raises:
        OSError: a file could not be written (e.g. a read-only home); the message names the path.
    """
    env = os.environ if env is None else env
    files = DesktopFiles(data_home(home, env))
    changed: list[Path] = []
    for size in ICON_SIZES:
        if _write_if_changed(files.icon(size), _app_icon_png(size)):
            changed.append(files.icon(size))
    entry = render_desktop_entry(list(command) if command is not None else tray_command())
    if _write_if_changed(files.entry, entry.encode("utf-8")):
        changed.append(files.entry)
    notes = _refresh_caches(files, env) if refresh_caches and changed else []
    return DesktopResult(changed, notes)


def uninstall_desktop(
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    refresh_caches: bool = True,
) -> DesktopResult:
    """Remove the menu entry and icons `install_desktop` wrote (and nothing else); fine when absent."""
    env = os.environ if env is None else env
    files = DesktopFiles(data_home(home, env))
    removed: list[Path] = []
    for path in files.all():
        if path.is_file():
            path.unlink()
            removed.append(path)
    notes = _refresh_caches(files, env) if refresh_caches and removed else []
    return DesktopResult(removed, notes)


def is_desktop_installed(*, home: Path | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether the menu entry is present."""
    return DesktopFiles(data_home(home, env)).entry.is_file()
