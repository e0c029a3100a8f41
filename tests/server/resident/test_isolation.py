"""Sessions that share one resident never see each other's key, default model or roots: each runs with the
environment its own relay was started with, and the client's own roots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp.client import Client

from tests.ollama_emulator import OllamaEmulator
from tests.server.resident.kit import ResidentKit

pytestmark = pytest.mark.anyio


def _roots(folder: Path) -> Any:
    async def list_roots(context: Any) -> mcp_types.ListRootsResult:
        return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=folder.as_uri(), name=folder.name)])

    return list_roots


async def test_two_concurrent_sessions_keep_their_own_key_default_model_and_roots(
    kit: ResidentKit, ollama: OllamaEmulator, tmp_path: Path
):
    pid = kit.start_resident()
    folders = {name: tmp_path / name for name in ("alpha", "beta")}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / f"{name}.txt").write_text(f"the {name} notes\n", encoding="utf-8")
    sessions = {
        "alpha": kit.params(OLLAMA_KEY="key-alpha", OLLAMA_DEFAULT_MODEL="qwen2.5-coder:3b"),
        "beta": kit.params(OLLAMA_KEY="key-beta", OLLAMA_DEFAULT_MODEL="llama3.2:latest"),
    }
    seen: dict[str, Any] = {}
    ollama.token_delay, ollama.response_tokens = 0.05, 10  # both calls overlap in the resident

    async def session(name: str, ready: anyio.Event, go: anyio.Event) -> None:
        async with Client(sessions[name], list_roots_callback=_roots(folders[name])) as client:
            ready.set()
            await go.wait()
            seen[f"{name}:generate"] = await client.call_tool("ollama_generate", {"prompt": f"from {name}"})
            other = "beta" if name == "alpha" else "alpha"
            seen[f"{name}:own"] = await client.call_tool(
                "ollama_ask_files", {"question": "what is it?", "paths": [f"{name}.txt"]}
            )
            seen[f"{name}:other"] = await client.call_tool(
                "ollama_ask_files", {"question": "what is it?", "paths": [str(folders[other] / f"{other}.txt")]}
            )
            seen[f"{name}:sessions"] = kit.wait_status(pid=pid).sessions

    with anyio.fail_after(120):
        go = anyio.Event()
        ready = {name: anyio.Event() for name in sessions}
        async with anyio.create_task_group() as tg:
            for name in sessions:
                tg.start_soon(session, name, ready[name], go)
            for event in ready.values():
                await event.wait()
            go.set()

    assert seen["alpha:sessions"] == 2 or seen["beta:sessions"] == 2, "both sessions ran in the one resident"
    for name in sessions:
        assert not seen[f"{name}:generate"].is_error
        assert not seen[f"{name}:own"].is_error, seen[f"{name}:own"].content[0].text
        assert seen[f"{name}:other"].is_error, "a session cannot read inside another session's roots"
    keys_by_model: dict[str, set[str]] = {}
    for request in ollama.requests:
        body = request.body
        if request.path == "/api/generate" and isinstance(body, dict) and "from " in str(body.get("prompt")):
            keys_by_model.setdefault(body["model"], set()).add(request.headers.get("x-ollama-key", ""))
    assert keys_by_model == {"qwen2.5-coder:3b": {"key-alpha"}, "llama3.2:latest": {"key-beta"}}
