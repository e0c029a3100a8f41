"""The few small dialogs the tray needs, through the desktop's own tools, each in a child process.

Opening a file or folder uses the platform's opener. Choosing a folder and typing the key use zenity or
kdialog on Linux, AppleScript on macOS, and Tk elsewhere. A child process keeps GUI toolkits out of the
long-running tray (memory) and away from pystray's thread.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


class DialogUnavailable(Exception):
    """No tool to show this dialog; the message names what to install or what to do instead."""


def open_path(path: Path) -> None:
    """Open a file or folder with the desktop's default application (returns at once).

    Raises:
        DialogUnavailable: no opener found.
    """
    if sys.platform == "win32":
        import os

        os.startfile(path)  # type: ignore[attr-defined,unused-ignore]
        return
    opener = "open" if sys.platform == "darwin" else shutil.which("xdg-open")
    if opener is None:
        raise DialogUnavailable(f"No xdg-open to open {path}; open it yourself (install xdg-utils).")
    subprocess.Popen(
        [opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _run(cmd: list[str]) -> str | None:
    """Run a dialog; its answer on stdout, None when the user cancelled."""
    done = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer else None


_TK_FOLDER = "import tkinter as t, tkinter.filedialog as f; r=t.Tk(); r.withdraw(); print(f.askdirectory(title={!r}))"
_TK_SECRET = (
    "import tkinter as t, tkinter.simpledialog as s; r=t.Tk(); r.withdraw(); v=s.askstring({!r}, {!r}, show='*'); "
    "print(v or '')"
)


def choose_folder(title: str = "Enable Ollama for which project?") -> Path | None:
    """Ask for a folder; None when cancelled.

    Raises:
        DialogUnavailable: no dialog tool found.
    """
    if sys.platform == "darwin":
        script = f'POSIX path of (choose folder with prompt "{title}")'
        answer = _run(["osascript", "-e", script])
    elif sys.platform != "win32" and shutil.which("zenity"):
        answer = _run(["zenity", "--file-selection", "--directory", f"--title={title}"])
    elif sys.platform != "win32" and shutil.which("kdialog"):
        answer = _run(["kdialog", "--getexistingdirectory", str(Path.home()), "--title", title])
    else:
        answer = _tk([sys.executable, "-c", _TK_FOLDER.format(title)])
    return Path(answer) if answer else None


def ask_secret(title: str = "Ollama key", prompt: str = "Key for the proxy in front of Ollama:") -> str | None:
    """Ask for a secret without echoing it; None when cancelled.

    Raises:
        DialogUnavailable: no dialog tool found.
    """
    if sys.platform == "darwin":
        script = (
            f'text returned of (display dialog "{prompt}" default answer "" with hidden answer with title "{title}")'
        )
        return _run(["osascript", "-e", script])
    if sys.platform != "win32" and shutil.which("zenity"):
        return _run(["zenity", "--password", f"--title={title}"])
    if sys.platform != "win32" and shutil.which("kdialog"):
        return _run(["kdialog", "--password", prompt, "--title", title])
    return _tk([sys.executable, "-c", _TK_SECRET.format(title, prompt)])


def _tk(cmd: list[str]) -> str | None:
    done = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
    if done.returncode != 0 and "tkinter" in done.stderr:
        raise DialogUnavailable(
            "No dialog tool found: install zenity (or kdialog), or use the command line "
            "(`ollama-mcp-tray enable --project DIR`, `ollama-mcp-tray set-key`)."
        )
    answer = done.stdout.strip()
    return answer or None
