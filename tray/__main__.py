"""`ollama-mcp-tray` / `python -m ollama_mcp_tray.tray`: a CLI command, or the tray app when none is given.

A command never imports the GUI (pystray, Pillow): it must work over SSH and in a headless CI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .launch import CHILD_ARGUMENT, HOOK_ARGUMENT


def main(argv: Sequence[str] | None = None) -> int:
    """Run a CLI command, or, with no arguments, the tray app."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [CHILD_ARGUMENT]:
        from .gui.connection_test import child_main

        return child_main()
    if args[:1] == [HOOK_ARGUMENT]:  # a Claude Code hook (the frozen app's entry script also dispatches this)
        from ollama_mcp_tray.server.hook_cli import main as hook_main

        return hook_main(args[1:])
    if args:
        from .cli import main as cli_main

        return cli_main(args)
    try:
        from ollama_mcp_tray.tray.gui.app import main as app_main
    except ImportError as exc:
        sys.stderr.write(
            f"ollama-mcp-tray: the tray app cannot start here ({exc}).\n"
            "Its desktop parts may be missing (on Linux: PyGObject / AppIndicator; see the README).\n"
            "Every feature also works from the command line: `ollama-mcp-tray --help`.\n"
        )
        return 1
    result = app_main()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
