"""The server factory: `build_server()` wires the configuration, the Ollama client and the tools into an MCPServer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from ._version import __version__
from .config import ServerConfig
from .descriptions import STATIC, generation_description, read_model_cache, write_model_cache
from .errors import ConfigError, OllamaError
from .instructions import server_instructions
from .mcp_server import OllamaMCPServer
from .ollama_client import OllamaClient
from .paths import AppPaths
from .tools import ToolContext, build_tools
from .usage import UsageLog

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 3.0  # the background model-list refresh at start gives up after this

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
GENERATING = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False)

MODEL_AWARE = ("generate", "chat")
"""The tools whose descriptions name the installed models (descriptions.generation_description); every other
tool's description is its entry in descriptions.STATIC."""

ANNOTATIONS: dict[str, ToolAnnotations] = {
    "generate": GENERATING,
    "chat": GENERATING,
    "list_models": READ_ONLY,
    "show": READ_ONLY,
    "ps": READ_ONLY,
    "embed": READ_ONLY,
    "pull": ToolAnnotations(read_only_hint=False, open_world_hint=True),
    "delete": ToolAnnotations(destructive_hint=True, open_world_hint=False),
}
"""Each tool's hints to the client, by the name `build_tools` gives it (a test keeps the tables in step)."""


def describe(short: str, models: list[str], default: str | None) -> str:
    """The description of the tool `short`, naming `models` where it chooses among them."""
    return generation_description(short, models, default) if short in MODEL_AWARE else STATIC[short]


def build_server(
    config: ServerConfig,
    paths: AppPaths | None = None,
    *,
    config_error: ConfigError | None = None,
    refresh_models: bool = True,
    follow_settings: bool = False,
) -> MCPServer[Any]:
    """Build the MCP server.

    Args:
        config: the resolved configuration.
        paths: where usage records and the model cache live; None writes neither (tests).
        config_error: a configuration problem found at start; every tool then reports it instead of
            the server failing to start (Claude Code would only say "failed to connect").
        refresh_models: refresh the model names in the descriptions in the background after start.
        follow_settings: the default model comes from the settings file (not the environment), so pick up
            changes to it while running.
    """
    client = OllamaClient(config) if config_error is None else None
    cache = paths.model_cache if paths else None
    tc = ToolContext(
        config=config,
        client=client,
        usage=UsageLog(paths.usage_file) if paths else None,
        model_cache=cache,
        config_error=config_error,
        settings_file=paths.settings_file if paths and follow_settings else None,
    )
    known = read_model_cache(cache) if cache else []

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        try:
            async with anyio.create_task_group() as tg:
                if refresh_models and client is not None:
                    tg.start_soon(_refresh_descriptions, server, client, config, cache)
                yield
                tg.cancel_scope.cancel()
        finally:
            if client is not None:
                await client.aclose()
            if tc.usage is not None:
                tc.usage.close()

    tools = build_tools(tc)
    server: MCPServer[Any] = OllamaMCPServer(
        name="ollama",
        title="Ollama (local models)",
        version=__version__,
        instructions=server_instructions([f"ollama_{short}" for short in tools], known, config.default_model),
        lifespan=lifespan,
    )
    for short, fn in tools.items():
        description = describe(short, known, config.default_model)
        server.add_tool(fn, name=f"ollama_{short}", description=description, annotations=ANNOTATIONS[short])
    return server


def set_generation_descriptions(server: MCPServer[Any], models: list[str], default: str | None) -> None:
    """Rewrite the model names in the generate/chat descriptions (seen by the next tools/list)."""
    for short in MODEL_AWARE:
        tool = server._tool_manager.get_tool(f"ollama_{short}")
        if tool is not None:
            tool.description = describe(short, models, default)


async def _refresh_descriptions(server: MCPServer[Any], client: OllamaClient, config: ServerConfig, cache: Any) -> None:
    with anyio.move_on_after(REFRESH_TIMEOUT_S):
        try:
            models = [m.name for m in await client.list_models()]
        except OllamaError as exc:
            log.info("Ollama not ready at start (%s); tool descriptions use the cached model list.", exc)
            return
        set_generation_descriptions(server, models, config.default_model)
        if cache is not None:
            write_model_cache(cache, models)
