"""Item 11 of issue 8: a default num_predict ceiling stops a model that never ends, and returns what it said.

Against the emulator on real loopback HTTP: a "runaway" model there is one whose answer runs to a million tokens
(it never emits its end token), as a model caught repeating itself does.
"""

from __future__ import annotations

import anyio
import pytest
from mcp.client import Client

from ollama_mcp_tray.server import config as server_config
from ollama_mcp_tray.server.app import build_server
from ollama_mcp_tray.server.config import resolve_config
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.settings import Settings

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"
RUNAWAY = 1_000_000  # tokens: longer than any test may wait for


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def generations(ollama) -> list[dict]:
    return [r.body for r in ollama.requests if r.path in ("/api/generate", "/api/chat")]


def server_for(ollama, **env: str):
    config = resolve_config({"OLLAMA_URL": ollama.url, **env}, settings=Settings())
    return build_server(config, None, refresh_models=False)


async def test_a_runaway_model_stops_at_the_default_ceiling_and_its_answer_comes_back(ollama):
    ollama.response_tokens = RUNAWAY
    with anyio.fail_after(30):
        async with Client(server_for(ollama, OLLAMA_DEFAULT_NUM_PREDICT="64")) as client:
            result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "loop forever"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["done_reason"] == "length" and data["output_tokens"] == 64
    text = text_of(result)
    assert text.startswith("loop forever loop")
    assert "[cut off: num_predict reached after 64 tokens" in text
    assert "OLLAMA_DEFAULT_NUM_PREDICT=64" in text and "Pass a larger num_predict" in text
    assert generations(ollama)[-1]["options"]["num_predict"] == 64


async def test_the_default_ceiling_applies_to_generate_and_chat_when_nothing_is_set(ollama):
    assert resolve_config({}, settings=Settings()).default_num_predict == server_config.DEFAULT_NUM_PREDICT == 8192
    async with Client(server_for(ollama)) as client:
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
        await client.call_tool("ollama_chat", {"model": CODER, "messages": [{"role": "user", "content": "hi"}]})
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi", "options": {"top_k": 3}})
    assert [body["options"]["num_predict"] for body in generations(ollama)] == [8192, 8192, 8192]


async def test_a_num_predict_the_caller_sets_wins_over_the_default_and_minus_one_still_means_no_limit(ollama):
    async with Client(server_for(ollama)) as client:
        short = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "a b c", "num_predict": 2})
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi", "num_predict": -1})
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi", "options": {"num_predict": 30}})
    assert [body["options"]["num_predict"] for body in generations(ollama)] == [2, -1, 30]
    # A limit the caller chose is not blamed on the default.
    assert "num_predict reached after 2 tokens]" in text_of(short)


async def test_the_ceiling_can_be_turned_off_and_a_malformed_value_is_a_config_error(ollama):
    async with Client(server_for(ollama, OLLAMA_DEFAULT_NUM_PREDICT="-1")) as client:
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
    assert "options" not in generations(ollama)[-1]
    for bad in ("abc", "0", "-3", "1.5", str(2**31)):
        with pytest.raises(ConfigError, match="OLLAMA_DEFAULT_NUM_PREDICT must be a number of tokens"):
            resolve_config({"OLLAMA_DEFAULT_NUM_PREDICT": bad}, settings=Settings())
