"""Loading Tk, theming it, and handing work to threads without touching Tk off its own thread.

Tk with ttk because it ships with Python on macOS and Windows and is one package away on Linux; the Sun Valley
theme (`sv-ttk`: pure Python and Tcl, one small wheel, no dependencies) makes ttk look current. Without the
theme the windows still work in ttk's own.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ollama_mcp_tray.server.errors import OllamaMcpError

POLL_MS = 50  # how often the Tk thread collects what workers finished
NO_TRAY_VARIABLE = "OLLAMA_MCP_TRAY_NO_TRAY"  # set by the app when it opens a window because no tray can show


class ToolkitMissing(OllamaMcpError):
    """Tk is not installed for this Python: the message names the package to install."""


def install_hint(platform: str = sys.platform) -> str:
    if platform.startswith("linux"):
        return (
            "Install Tk for Python: `sudo apt install python3-tk` (Debian, Ubuntu), `sudo dnf install python3-tkinter` "
            "(Fedora) or `sudo pacman -S tk` (Arch), then open the window again."
        )
    if platform == "darwin":
        # Homebrew's Tk bindings are per Python version; the unversioned alias follows one Python only.
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return f"Use the Python from python.org, or with Homebrew's Python `brew install python-tk@{version}`."
    return "Reinstall Python from python.org with 'tcl/tk and IDLE' ticked."


def load_tk() -> ModuleType:
    """The `tkinter` module, or a clear `ToolkitMissing` (never an ImportError's traceback).

    Raises:
        ToolkitMissing: Tk is not installed, or no display can be opened.
    """
    try:
        import tkinter
        from tkinter import ttk

        del ttk  # only checked here: some builds ship tkinter without ttk
    except ImportError as exc:
        raise ToolkitMissing(f"The app's windows need Tk, which this Python lacks. {install_hint()}") from exc
    return tkinter


def make_root(title: str) -> Any:
    """A themed Tk root window.

    Raises:
        ToolkitMissing: no Tk, or no display to open it on.
    """
    tkinter = load_tk()
    try:
        root = tkinter.Tk(className="ollama-mcp-tray")
    except tkinter.TclError as exc:
        raise ToolkitMissing(f"The window cannot open: {exc}. Start it from your desktop session.") from exc
    root.title(title)
    no_tray = os.environ.get(NO_TRAY_VARIABLE, "").strip()
    if no_tray:
        from tkinter import ttk

        # Packed first, so it sits on top of whatever the window packs after it; the whole text (what to
        # install) scrolls in a box of its own, the first paragraph stands above it.
        first = no_tray.split("\n\n", 1)[0]
        banner = ttk.Label(root, text=f"No tray icon can show here: {first}", wraplength=600, padding=(8, 8, 8, 0))
        banner.pack(side="top", fill="x")
        details = tkinter.Text(root, height=5, wrap="word", borderwidth=0)
        details.insert("1.0", no_tray)
        details.configure(state="disabled")
        details.pack(side="top", fill="x", padx=8, pady=(0, 8))
        root.no_tray_banner = banner
    try:
        import sv_ttk

        sv_ttk.set_theme("light", root)
    except (ImportError, tkinter.TclError):
        pass  # plain ttk still works
    return root


class Worker:
    """Runs slow jobs (HTTP to Ollama, file writes) on threads and their results on the Tk thread."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._done: queue.Queue[Callable[[], None]] = queue.Queue()
        self._alive = True
        root.after(POLL_MS, self._drain)

    def run(self, job: Callable[[], Any], then: Callable[[Any], None], failed: Callable[[Exception], None]) -> None:
        """`job()` on a thread; `then(result)` or `failed(error)` later on the Tk thread."""

        def work() -> None:
            try:
                result = job()
            except Exception as exc:  # noqa: BLE001 - shown in the window, never a traceback
                error = exc
                self._done.put(lambda: failed(error))
                return
            self._done.put(lambda: then(result))

        threading.Thread(target=work, daemon=True).start()

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the Tk thread (safe from any thread)."""
        self._done.put(callback)

    def _drain(self) -> None:
        while True:
            try:
                callback = self._done.get_nowait()
            except queue.Empty:
                break
            callback()
        if self._alive:
            self.root.after(POLL_MS, self._drain)

    def stop(self) -> None:
        self._alive = False


LAYOUT_VARIABLE = "OLLAMA_MCP_TRAY_WINDOW_LAYOUT"


class Layout:
    """Where the named widgets of a window are on screen, and what they say, written to a file for desktop
    tests when `OLLAMA_MCP_TRAY_WINDOW_LAYOUT` names one (otherwise nothing is written).

    The tests still act through the X server (pointer and keyboard); this only tells them where to click and
    lets them read a label without OCR.
    """

    def __init__(self, root: Any, path: str | None) -> None:
        self.root = root
        self.path = path
        self.widgets: dict[str, Any] = {}
        if path:
            root.after(200, self._write)

    def name(self, name: str, widget: Any) -> Any:
        self.widgets[name] = widget
        return widget

    def snapshot(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for name, widget in list(self.widgets.items()):
            try:
                if not widget.winfo_exists() or not widget.winfo_ismapped():
                    continue
                entry: dict[str, Any] = {
                    "x": widget.winfo_rootx(),
                    "y": widget.winfo_rooty(),
                    "width": widget.winfo_width(),
                    "height": widget.winfo_height(),
                }
                for option in ("text", "value"):  # not every widget has them
                    if option in widget.keys():  # noqa: SIM118 - Tk widgets have keys() but no __contains__
                        entry[option] = str(widget.cget(option))
                if widget.winfo_class() == "Treeview":
                    rows = {}
                    for iid in widget.get_children():
                        box = widget.bbox(iid)
                        if box:
                            rows[str(iid)] = [entry["x"] + box[0], entry["y"] + box[1], box[2], box[3]]
                    entry["rows"] = rows
                    # What each row says (its text, then its columns), so a test reads a table as a user does.
                    entry["values"] = {
                        str(iid): [str(widget.item(iid, "text")), *(str(v) for v in widget.item(iid, "values"))]
                        for iid in widget.get_children()
                    }
                found[name] = entry
            except Exception:  # noqa: BLE001 - a widget destroyed between the checks
                continue
        return found

    def _write(self) -> None:
        import json

        assert self.path is not None
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(self.snapshot(), out)
        os.replace(temporary, self.path)
        self.root.after(200, self._write)


def layout_for(root: Any) -> Layout:
    layout = Layout(root, os.environ.get(LAYOUT_VARIABLE) or None)
    banner = getattr(root, "no_tray_banner", None)
    if banner is not None:
        layout.name("no_tray", banner)
    return layout
