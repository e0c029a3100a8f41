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
from .material_tools import build_material_tools
from .ollama_client import OllamaClient
from .paths import AppPaths
from .tools import ToolContext, build_tools
from .usage import UsageLog

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 3.0  # the background model-list refresh at start gives up after this

INSTRUCTIONS = (
    "Tools for the user's own Ollama models. To summarise, question, extract from, review or label files, "
    "folders, git diffs or saved logs, pass their paths to ollama_summarize_files, ollama_ask_files, "
    "ollama_extract_json, ollama_review_diff, ollama_label_items or ollama_digest_log instead of reading them "
    "yourself: the server reads them on this machine and returns only the result. Delegate other work that "
    "should stay private or is cheap and high-volume to ollama_generate / ollama_chat. Check their answers: "
    "local models are smaller than you."
)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
GENERATING = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False)
MATERIAL = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False)


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

    server: MCPServer[Any] = MCPServer(
        name="ollama",
        title="Ollama (local models)",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
    )
    for short, fn in build_tools(tc).items():
        if short in ("generate", "chat"):
            description = generation_description(short, known, config.default_model)
        else:
            description = STATIC[short]
        annotations = GENERATING if short in ("generate", "chat") else READ_ONLY
        if short == "delete":
            annotations = ToolAnnotations(destructive_hint=True, open_world_hint=False)
        elif short == "pull":
            annotations = ToolAnnotations(read_only_hint=False, open_world_hint=True)
        server.add_tool(fn, name=f"ollama_{short}", description=description, annotations=annotations)
    for short, tool in build_material_tools(tc).items():
        server.add_tool(tool.fn, name=f"ollama_{short}", description=tool.description, annotations=MATERIAL)
    return server


def set_generation_descriptions(server: MCPServer[Any], models: list[str], default: str | None) -> None:
    """Rewrite the model names in the generate/chat descriptions (seen by the next tools/list)."""
    for short in ("generate", "chat"):
        tool = server._tool_manager.get_tool(f"ollama_{short}")
        if tool is not None:
            tool.description = generation_description(short, models, default)


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
