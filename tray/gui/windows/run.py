"""Open one window by name: what `ollama-mcp-tray welcome|settings|models|usage|servers` runs (in its own process)."""

from __future__ import annotations

from collections.abc import Callable

from ...app_context import AppContext
from .toolkit import load_tk


def run_window(name: str, ctx: AppContext) -> int:
    """Show the window until the user closes it; returns 0.

    Raises:
        ToolkitMissing: no Tk or no display (the message says what to install or do).
        KeyError: no window of that name.
    """
    load_tk()  # before importing the windows, so a missing Tk is one clear message
    from . import models_window, servers_window, settings_window, usage_window, welcome_window

    windows: dict[str, Callable[[AppContext], int]] = {
        "welcome": welcome_window.run,
        "settings": settings_window.run,
        "models": models_window.run,
        "usage": usage_window.run,
        "servers": servers_window.run,
    }
    return windows[name](ctx)
