"""The process boundary: the exact command a registration uses, over real stdio, with the SDK's client."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

pytestmark = pytest.mark.anyio

TAP = Path(__file__).resolve().parents[1] / "stdio_tap.py"


def server_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "OLLAMA_URL": url,
        "OLLAMA_DEFAULT_MODEL": "qwen2.5-coder:3b",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


async def test_the_registered_command_serves_tools_and_writes_only_json_rpc_to_stdout(tmp_path, ollama):
    record = tmp_path / "stdout.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(TAP), str(record), "--", sys.executable, "-m", "ollama_mcp_tray.server"],
        env=server_env(tmp_path, ollama.url),
    )
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    ollama.token_delay = 0.25
    ollama.response_tokens = 6
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "ollama_generate" in names
            answer = await client.call_tool("ollama_generate", {"prompt": "hello"}, progress_callback=on_progress)
            assert not answer.is_error and answer.structured_content["output_tokens"] > 0
            missing = await client.call_tool("ollama_show", {"model": "no-such-model"})
            assert missing.is_error and "ollama pull" in missing.content[0].text
            ollama.stop()
            down = await client.call_tool("ollama_ps", {})
            assert down.is_error and "Cannot reach Ollama" in down.content[0].text
            ollama.start()
            assert not (await client.call_tool("ollama_ps", {})).is_error
    assert progress, "progress notifications reached the client"
    lines = record.read_bytes().splitlines()
    assert len(lines) >= 6
    for line in lines:
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", line


async def test_the_server_logs_to_its_log_file_not_stdout(tmp_path, ollama):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=server_env(tmp_path, ollama.url)
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            await client.call_tool("ollama_show", {"model": "nope"})
    logs = list((tmp_path / "state").rglob("server.log"))
    assert logs, "a server.log under the user log folder"
    text = logs[0].read_text(encoding="utf-8")
    assert "Starting ollama-mcp-server" in text and "nope" in text


async def test_version_flag_prints_the_version(tmp_path):
    from ollama_mcp_tray.server import __version__

    result = await anyio.run_process([sys.executable, "-m", "ollama_mcp_tray.server", "--version"])
    assert result.stdout.decode().strip() == f"ollama-mcp-server {__version__}"


async def test_over_stdio_unknown_names_are_invalid_params_and_bad_arguments_read_plainly(tmp_path, ollama):
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ollama_mcp_tray.server"], env=server_env(tmp_path, ollama.url)
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            with pytest.raises(MCPError) as prompt:
                await client.get_prompt("no-such-prompt")
            with pytest.raises(MCPError) as tool:
                await client.call_tool("no_such_tool", {})
            bad = await client.call_tool("ollama_generate", {"prompt": "hi", "temperature": 1e308, "seed": True})
    assert prompt.value.code == INVALID_PARAMS and tool.value.code == INVALID_PARAMS
    text = bad.content[0].text
    assert bad.is_error and "temperature must be a number between 0 and 2 (got 1e+308)" in text
    assert "seed must be a whole number" in text and "errors.pydantic.dev" not in text
