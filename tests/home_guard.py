"""Keeps the test run out of the developer's real HOME.

Every test (and every process it starts without an environment of its own) gets a temporary HOME and XDG
folders; at the end of the session the real HOME's app folders are compared with a snapshot taken at its
start, so a test that writes there anyway fails the run instead of going unnoticed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

from ollama_mcp_tray.server.paths import APP_NAME

# What decides where the app (and platformdirs) put files, on every platform.
HOME_VARIABLES = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA")
XDG_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
# Pointing somewhere real from the runner's shell would send Claude Code's files there.
CLEARED_VARIABLES = ("CLAUDE_CONFIG_DIR", "OLLAMA_URL", "OLLAMA_HOST", "OLLAMA_KEY")

Snapshot = dict[str, tuple[int, int, int]]


def app_folders(env: Mapping[str, str]) -> list[Path]:
    """The folders of ours that the real user's environment points at (Linux/XDG and macOS forms)."""
    home = Path(env.get("HOME") or Path.home())

    def xdg(name: str, fallback: str) -> Path:
        value = env.get(name, "")
        return Path(value) if os.path.isabs(value) else home / fallback

    return [
        xdg("XDG_CONFIG_HOME", ".config") / APP_NAME,
        xdg("XDG_DATA_HOME", ".local/share") / APP_NAME,
        xdg("XDG_STATE_HOME", ".local/state") / APP_NAME,
        xdg("XDG_CACHE_HOME", ".cache") / APP_NAME,
        home / "Library" / "Application Support" / APP_NAME,
        home / "Library" / "Logs" / APP_NAME,
    ]


def snapshot(folders: list[Path]) -> Snapshot:
    """Every file and folder under `folders`: (mode, size, mtime_ns), by path."""
    seen: Snapshot = {}
    for folder in folders:
        if not folder.exists():
            continue
        for path in [folder, *folder.rglob("*")]:
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            seen[str(path)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return seen


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What was created, changed or removed between two snapshots, one line each."""
    lines = [f"created {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"removed {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"changed {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return lines


def private_environment(root: Path) -> dict[str, str]:
    """The variables a test runs with: HOME and the XDG folders inside `root`."""
    env = {name: str(root) for name in HOME_VARIABLES}
    env.update({name: str(root / name.lower()) for name in XDG_VARIABLES})
    return env


def stop_residents(root: Path) -> list[int]:
    """Kill the resident servers whose HOME lies under `root` (a test run's temporary folders); their pids.

    Linux only (reads /proc); elsewhere nothing is found."""
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    prefix = f"HOME={root}".encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"--resident" not in command or not any(b"ollama" in part for part in command):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(prefix) for item in environ):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue
            found.append(int(entry.name))
    return found
