"""`python -m ollama_mcp_tray.server` / `ollama-mcp-server`: run the stdio MCP server."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from ._version import __version__

USAGE = """usage: ollama-mcp-server [--version]

The stdio MCP server of Ollama MCP Tray. Claude Code starts it; register it with `ollama-mcp-tray enable`.
Configured by OLLAMA_URL (or OLLAMA_HOST), OLLAMA_KEY, OLLAMA_DEFAULT_MODEL and the app's settings file.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the server over stdio until the client closes stdin."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"ollama-mcp-server {__version__}\n")
        return 0
    if args:
        sys.stderr.write(USAGE)
        return 0 if args[0] in ("-h", "--help") else 2

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
    log.info("Starting ollama-mcp-server %s for %s", __version__, config.base_url)

    import anyio

    from .app import build_server
    from .stdio_transport import serve_stdio

    follow = not os.environ.get("OLLAMA_DEFAULT_MODEL", "").strip()
    management = os.environ.get("OLLAMA_MCP_ALLOW_MANAGEMENT") is None  # else the environment decides
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
