"""The frozen app's single entry point.

`<binary> serve [...]` runs the stdio MCP server and imports nothing of the GUI (it must start fast and keep
stdout for the protocol); anything else goes to the tray and its command line (`ollama_mcp_tray.tray`).
Registrations made by a frozen app therefore use `[sys.executable, "serve"]`. `<binary> _hook prompt|bash` runs
a Claude Code hook (the adoption kit writes that command for a frozen install), also without the tray: a hook
that decides not to act must cost no more than the start.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Dispatch on the first argument."""
    args = sys.argv[1:]
    if args[:1] == ["serve"]:
        from ollama_mcp_tray.server.__main__ import main as serve

        return serve(args[1:])
    if args[:1] == ["_hook"]:  # tray.launch.HOOK_ARGUMENT, spelled out: a quiet hook imports the least
        from ollama_mcp_tray.server.hook_cli import main as hook

        return hook(args[1:])
    from ollama_mcp_tray.tray.__main__ import main as tray_main

    return int(tray_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
