"""The bundled stdio MCP server: Ollama as tools for Claude Code.

Imports nothing from the tray, pystray or Pillow: Claude Code starts it on demand, so it must start fast.
"""

from ._version import __version__

__all__ = ["__version__"]
