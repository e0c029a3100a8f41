"""The app's windows (welcome, settings, models, usage, servers), each run in a child process of its own.

The tray starts `ollama-mcp-tray <window>` (see `launch.window_command`); the window talks to the tray only
through the files the tray already watches (settings.json, the key file, Claude Code's config), so pystray
keeps its one thread and macOS gets Tk on the main thread. Tk comes with Python on macOS and Windows and is
the `python3-tk` package on Debian and Ubuntu.
"""

WINDOWS = ("welcome", "settings", "models", "usage", "servers")
