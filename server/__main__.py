"""`python -m ollama_mcp_tray.server` / `ollama-mcp-server`: serve one MCP session over stdio.

With no argument (what a registration runs) the session goes through the user's resident server when one
can take it (server/resident/relay.py, standard library only, so nothing heavy is imported before that is
known); otherwise, or with the resident turned off (`OLLAMA_MCP_RESIDENT=0`, the "resident" setting), this
process serves it itself, as it always did. Hidden arguments: `--direct` serves in-process without asking
(the relay's fallback child), `--resident` runs the resident service.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ._version import __version__

USAGE = """usage: ollama-mcp-server [--version]

The stdio MCP server of Ollama MCP Tray. Claude Code starts it; register it with `ollama-mcp-tray enable`.
Configured by OLLAMA_URL (or OLLAMA_HOST), OLLAMA_KEY, OLLAMA_DEFAULT_MODEL and the app's settings file.
"""


def main(argv: list[str] | None = None) -> int:
    """Serve one session over stdio until the client closes stdin (or run the resident with `--resident`)."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"ollama-mcp-server {__version__}\n")
        return 0
    if args == ["--direct"]:
        return serve_direct()
    if args == ["--resident"]:
        from .resident.service import run_resident

        return run_resident()
    if args:
        sys.stderr.write(USAGE)
        return 0 if args[0] in ("-h", "--help") else 2
    from .resident.relay import Outcome, run

    relayed = run()
    if relayed.outcome is Outcome.SERVED:
        return relayed.exit_code
    return serve_direct(relayed.reason)


def serve_direct(why: str = "") -> int:
    """Today's server: this process serves the session.

    Args:
        why: why the resident does not serve it (logged), empty when not asked.
    """
    import logging

    from .config import ServerConfig, resolve_config
    from .errors import ConfigError
    from .logs import setup_logging
    from .paths import AppPaths

    paths = AppPaths.default()
    setup_logging(paths.server_log, os.environ.get("OLLAMA_MCP_LOG_LEVEL", "INFO").upper())
    log = logging.getLogger("ollama_mcp_tray.server")
    config_error: ConfigError | None = None
    try:
        config = resolve_config(paths=paths)
    except ConfigError as exc:
        log.error("%s", exc)
        config, config_error = ServerConfig(), exc
    log.info("Starting ollama-mcp-server %s for %s%s", __version__, config.base_url, f" ({why})" if why else "")

    import anyio

    from .app import build_server, follows
    from .stdio_transport import serve_stdio

    follow, management = follows(os.environ)
    server = build_server(
        config,
        paths,
        config_error=config_error,
        follow_settings=follow,
        follow_management=management,
        follow_connection=config_error is None,  # the tray's Server menu switches Ollama under a running session
    )
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve_stdio, server)
    log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
