"""Fixtures for the server's protocol tests: the SDK's in-memory client against `build_server`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client

from ollama_mcp_tray.server.app import build_server
from ollama_mcp_tray.server.config import ServerConfig, Timeouts
from ollama_mcp_tray.server.paths import AppPaths
from tests.ollama_emulator import OllamaEmulator

ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app_paths(tmp_path) -> AppPaths:
    return AppPaths(config_dir=tmp_path / "config", data_dir=tmp_path / "data", log_dir=tmp_path / "log")


@pytest.fixture
def connect(ollama: OllamaEmulator, app_paths: AppPaths) -> ClientFactory:
    """`async with connect(**config_fields) as client`: a server for the emulator, connected in memory."""

    @asynccontextmanager
    async def factory(**fields: Any) -> AsyncIterator[Client]:
        timeouts = fields.pop("timeouts", Timeouts(connect=2.0, idle=10.0))
        config_error = fields.pop("config_error", None)
        follow = fields.pop("follow_settings", False)
        config = ServerConfig(base_url=fields.pop("base_url", ollama.url), timeouts=timeouts, **fields)
        server = build_server(config, app_paths, config_error=config_error, follow_settings=follow)
        async with Client(server, raise_exceptions=True) as client:
            yield client

    return factory
