"""The server factory: `build_server()` wires the configuration, the Ollama client and the tools into an MCPServer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts import Prompt
from mcp_types import ToolAnnotations

from ._version import __version__
from .config import ServerConfig, resolve_config
from .descriptions import STATIC, generation_description, read_model_cache, write_model_cache
from .errors import ConfigError, OllamaError
from .instructions import server_instructions
from .material_tools import MATERIAL_TOOLS, build_material_tools
from .mcp_server import OllamaMCPServer
from .ollama_client import OllamaClient
from .paths import AppPaths
from .prompts import PROMPTS
from .tools import MANAGEMENT, ToolContext, build_tools
from .usage import UsageLog

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 3.0  # the background model-list refresh at start gives up after this
MODELS_POLL_S = 30.0  # how often the installed models are looked at again (one small /api/tags request)
SETTINGS_POLL_S = 1.0  # how often the management switch in the settings file is looked at (one stat call)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
GENERATING = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False)
MATERIAL = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False)

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
    **dict.fromkeys(MATERIAL_TOOLS, MATERIAL),
}
"""Each tool's hints to the client, by the name `build_tools` gives it (a test keeps the tables in step)."""


def describe(short: str, models: list[str], default: str | None) -> str:
    """The description of the tool `short`, naming `models` where it chooses among them."""
    return generation_description(short, models, default) if short in MODEL_AWARE else STATIC[short]


def follows(env: Mapping[str, str]) -> tuple[bool, bool]:
    """(follow_settings, follow_management) for a session started with `env`: what the environment does not
    set (the default model, the management switch) follows the settings file while the session runs."""
    return not env.get("OLLAMA_DEFAULT_MODEL", "").strip(), env.get("OLLAMA_MCP_ALLOW_MANAGEMENT") is None


def build_server(
    config: ServerConfig,
    paths: AppPaths | None = None,
    *,
    config_error: ConfigError | None = None,
    refresh_models: bool = True,
    follow_settings: bool = False,
    follow_management: bool = False,
    follow_connection: bool = False,
    env: Mapping[str, str] | None = None,
    shared_client: OllamaClient | None = None,
    shared_usage: UsageLog | None = None,
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
        follow_management: the management switch comes from the settings file too: turning it on or off
            while running adds or removes the pull/delete tools and tells the client (tools/list_changed).
        follow_connection: the address and key follow the settings and key files while running (the tray's
            Server menu switches Ollama); the environment still wins where it sets them.
        env: the environment this session was started with (a resident's session: the relay's, not the
            resident's own); None means this process's.
        shared_client, shared_usage: the resident's connection pool and usage log, shared by its sessions: this
            server uses them and leaves closing them to their owner. Otherwise the server makes its own.
    """
    client = (shared_client or OllamaClient(config)) if config_error is None else None
    usage = shared_usage or (UsageLog(paths.usage_file) if paths else None)
    cache = paths.model_cache if paths else None
    tc = ToolContext(
        config=config,
        client=client,
        usage=usage,
        model_cache=cache,
        config_error=config_error,
        settings_file=paths.settings_file
        if paths and (follow_settings or follow_management or follow_connection)
        else None,
        follow_management=follow_management,
        key_file=paths.key_file if paths and follow_connection else None,
        resolve=(lambda: resolve_config(env=env, paths=paths)) if paths and follow_connection and client else None,
    )
    known = read_model_cache(cache) if cache else []

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        try:
            async with anyio.create_task_group() as tg:
                if refresh_models and client is not None:
                    tg.start_soon(_refresh_descriptions, ours, tc, cache, known)
                if follow_management and tc.settings_file is not None:
                    tg.start_soon(_follow_management, ours, tc, every)
                yield
                tg.cancel_scope.cancel()
        finally:
            for used in [*tc.retired, tc.client]:
                if used is not None and used is not shared_client:
                    await used.aclose()
            if tc.usage is not None and tc.usage is not shared_usage:
                tc.usage.close()

    every = build_tools(tc, every=True)
    tools = {short: fn for short, fn in every.items() if short not in MANAGEMENT or tc.management_allowed()}
    material = build_material_tools(tc)
    names = [f"ollama_{short}" for short in [*tools, *material]]
    server = ours = OllamaMCPServer(
        name="ollama",
        title="Ollama (local models)",
        version=__version__,
        instructions=server_instructions(names, known, config.default_model),
        lifespan=lifespan,
    )
    for short, fn in tools.items():
        description = describe(short, known, config.default_model)
        server.add_tool(fn, name=f"ollama_{short}", description=description, annotations=ANNOTATIONS[short])
    for short, tool in material.items():
        server.add_tool(tool.fn, name=f"ollama_{short}", description=tool.description, annotations=ANNOTATIONS[short])
    for name, spec in PROMPTS.items():
        server.add_prompt(Prompt.from_function(spec.fn, name=name, title=spec.title, description=spec.description))
    return server


def set_generation_descriptions(server: MCPServer[Any], models: list[str], default: str | None) -> None:
    """Rewrite the model names in the generate/chat descriptions (seen by the next tools/list)."""
    for short in MODEL_AWARE:
        tool = server._tool_manager.get_tool(f"ollama_{short}")
        if tool is not None:
            tool.description = describe(short, models, default)


async def _refresh_descriptions(server: OllamaMCPServer, tc: ToolContext, cache: Any, known: list[str]) -> None:
    """Name the installed models in the descriptions, at start and then every MODELS_POLL_S; tell the client
    (tools/list_changed) whenever they differ from what it was last shown. The client is asked for each round:
    a switch of server (see ToolContext) lists the new one's models."""
    shown = known
    while True:
        models: list[str] | None = None
        with anyio.move_on_after(REFRESH_TIMEOUT_S):
            try:
                models = [m.name for m in await tc.require_client().list_models()]
            except OllamaError as exc:
                log.info("Ollama not reachable (%s); tool descriptions keep the model list they have.", exc)
        if models is not None and models != shown:
            set_generation_descriptions(server, models, tc.config.default_model)
            if cache is not None:
                write_model_cache(cache, models)
            shown = models
            await server.tools_changed()
        await anyio.sleep(MODELS_POLL_S)


async def _follow_management(server: OllamaMCPServer, tc: ToolContext, every: dict[str, Any]) -> None:
    """Offer or withdraw pull/delete when the management switch in the settings file changes."""
    offered = tc.management_allowed()
    while True:
        await anyio.sleep(SETTINGS_POLL_S)
        allowed = tc.management_allowed()
        if allowed == offered:
            continue
        offered = allowed
        for short in MANAGEMENT:
            name = f"ollama_{short}"
            if allowed:
                server.add_tool(every[short], name=name, description=STATIC[short], annotations=ANNOTATIONS[short])
            elif server._tool_manager.get_tool(name) is not None:
                server.remove_tool(name)
        log.info("Model management turned %s: the tool list changed.", "on" if allowed else "off")
        await server.tools_changed()
