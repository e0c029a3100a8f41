"""The prompts (Claude Code's slash commands) and tools/list_changed, over real stdio with the handshake era
Claude Code speaks: the capability is declared, and the notification arrives when the installed models or the
management switch change while the server runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from ollama_mcp_tray.server import app
from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.descriptions import write_model_cache
from tests.emulator.catalog import EmulatedModel
from tests.ollama_emulator import OllamaEmulator
from tests.server.test_stdio import server_env

pytestmark = pytest.mark.anyio

WAIT_S = 20.0


def params(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=env)


async def test_the_prompts_are_listed_and_each_asks_for_its_material_tool_with_the_users_arguments(connect):
    async with connect() as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) >= {"summarise_folder", "ask_files", "review_diff", "digest_log"}
        assert [a.name for a in prompts["ask_files"].arguments or [] if a.required] == ["question"]
        expected = {
            ("summarise_folder", (("folder", "src docs"),)): ("ollama_summarize_files", '"paths": ["src", "docs"]'),
            ("ask_files", (("question", "Where is main?"), ("paths", "src"))): (
                "ollama_ask_files",
                '"question": "Where is main?", "paths": ["src"]',
            ),
            ("review_diff", (("revision", "main..HEAD"),)): ("ollama_review_diff", '"revision": "main..HEAD"'),
            ("review_diff", (("revision", "staged"),)): ("ollama_review_diff", '"staged": true'),
            ("digest_log", (("path", "/tmp/test.log"),)): ("ollama_digest_log", '"path": "/tmp/test.log"'),
        }
        for (name, arguments), (tool, shown) in expected.items():
            got = await client.get_prompt(name, dict(arguments))
            text = got.messages[0].content.text  # type: ignore[union-attr]
            assert got.messages[0].role == "user"
            assert f"`{tool}`" in text and shown in text, text
            assert "Do not read the material yourself" in text
        default = await client.get_prompt("summarise_folder", {})
        assert '"paths": ["."]' in default.messages[0].content.text  # type: ignore[union-attr]


async def watch(env: dict[str, str], change: Any, until: Any = lambda names: True) -> tuple[bool, list[str], list[str]]:
    """Connect like Claude Code (initialize handshake), list the tools, `change()` things, and wait for a
    tools/list_changed after which the list satisfies `until` (another notice, such as the one naming the
    installed models at start, may come first). Returns (capability declared, tool names before, tool names
    after the notice)."""
    notices = 0
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        nonlocal notices, changed
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            notices += 1
            changed.set()

    async with Client(params(env), mode="legacy", message_handler=on_message) as client:
        tools = client.server_capabilities.tools
        declared = bool(tools and tools.list_changed)
        before = sorted(t.name for t in (await client.list_tools()).tools)
        await change()
        with anyio.fail_after(WAIT_S):
            while True:
                await changed.wait()
                changed = anyio.Event()
                after = sorted(t.name for t in (await client.list_tools()).tools)
                if until(after):
                    break
    assert notices >= 1
    return declared, before, after


async def test_turning_the_management_switch_on_and_off_adds_and_removes_pull_and_delete_with_a_notice(
    tmp_path: Path, ollama: OllamaEmulator
):
    env = server_env(tmp_path, ollama.url)
    settings = Path(env["XDG_CONFIG_HOME"]) / "ollama-mcp-tray" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"allow_model_management": False}), encoding="utf-8")

    async def switch_on() -> None:
        await anyio.sleep(0.2)
        settings.write_text(json.dumps({"allow_model_management": True}), encoding="utf-8")

    declared, before, after = await watch(env, switch_on, lambda names: "ollama_pull" in names)
    assert declared
    assert "ollama_pull" not in before and {"ollama_pull", "ollama_delete"} <= set(after)

    async def switch_off() -> None:
        await anyio.sleep(0.2)
        settings.write_text(json.dumps({"allow_model_management": False}), encoding="utf-8")

    _, before, after = await watch(env, switch_off, lambda names: "ollama_pull" not in names)
    assert "ollama_pull" in before and "ollama_pull" not in after and "ollama_delete" not in after


async def test_a_model_installed_while_the_server_runs_brings_a_notice_and_new_descriptions(
    ollama: OllamaEmulator, app_paths, monkeypatch
):
    monkeypatch.setattr(app, "MODELS_POLL_S", 0.2)
    write_model_cache(app_paths.model_cache, ["old-model:1b"])
    notified = anyio.Event()

    async def on_message(message: Any) -> None:
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            notified.set()

    server = app.build_server(ServerConfig(base_url=ollama.url, default_model="qwen2.5-coder:3b"), app_paths)
    notices = 0

    async def description() -> str:
        return next(t.description or "" for t in (await client.list_tools()).tools if t.name == "ollama_generate")

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        await description()  # now a listener; the start refresh may or may not have been seen already
        with anyio.fail_after(WAIT_S):
            while "old-model:1b" in await description():
                await anyio.sleep(0.05)
        notified = anyio.Event()
        ollama.state.install(EmulatedModel("brand-new:7b"))
        with anyio.fail_after(WAIT_S):
            while "brand-new:7b" not in await description():
                await notified.wait()
                notified = anyio.Event()
                notices += 1
    assert notices >= 1


async def test_the_management_environment_switch_wins_and_is_not_followed(tmp_path: Path, ollama: OllamaEmulator):
    env = {**server_env(tmp_path, ollama.url), "OLLAMA_MCP_ALLOW_MANAGEMENT": "0"}
    settings = Path(env["XDG_CONFIG_HOME"]) / "ollama-mcp-tray" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"allow_model_management": True}), encoding="utf-8")
    async with Client(params(env), mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        await anyio.sleep(1.5)
        again = {t.name for t in (await client.list_tools()).tools}
    assert "ollama_pull" not in names and "ollama_pull" not in again
