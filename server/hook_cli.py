"""`ollama-mcp-hook prompt|bash`: the hooks as one console script, for the plugin's hooks.json (a plugin
cannot name our interpreter, but an install puts this script on PATH beside `ollama-mcp-server`)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["prompt"]:
        from .hook_prompt import main as run
    elif args == ["bash"]:
        from .hook_bash import main as run
    else:
        sys.stderr.write("usage: ollama-mcp-hook prompt|bash  (a Claude Code hook; reads its JSON on stdin)\n")
        return 0  # a hook never fails Claude's step
    return run()


if __name__ == "__main__":
    sys.exit(main())
