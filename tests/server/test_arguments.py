"""Item 9 of issue 8: the MCP specification's error answers, strict tool arguments and plain messages.

Through the SDK's in-memory client, against the Ollama emulator on real loopback HTTP.
"""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from ollama_mcp_tray.server.app import build_server
from ollama_mcp_tray.server.config import ServerConfig

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def test_prompts_get_with_an_unknown_name_is_invalid_params(connect):
    async with connect() as client:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("no-such-prompt")
    assert caught.value.code == INVALID_PARAMS
    assert "no-such-prompt" in caught.value.message


async def test_a_prompt_without_its_required_argument_is_invalid_params_and_a_good_one_renders(ollama):
    from mcp.client import Client

    server = build_server(ServerConfig(base_url=ollama.url), None, refresh_models=False)

    @server.prompt(name="review")
    def review(code: str) -> str:
        return f"Review this: {code}"

    @server.prompt(name="repeat")
    def repeat(count: int) -> str:
        return "again " * count

    @server.prompt(name="broken")
    def broken() -> str:
        raise RuntimeError("boom")

    async with Client(server) as client:
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("review", {})
        rendered = await client.get_prompt("review", {"code": "x = 1"})
        with pytest.raises(MCPError) as failing:
            await client.get_prompt("broken")
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("repeat", {"count": "many"})
    assert missing.value.code == INVALID_PARAMS and "code" in missing.value.message
    assert "x = 1" in rendered.messages[0].content.text
    assert failing.value.code == -32603  # an internal error, not JSON-RPC code 0
    assert refused.value.code == INVALID_PARAMS
    assert "count: Input should be a valid integer" in refused.value.message and '(got "many")' in refused.value.message
    assert "pydantic" not in refused.value.message


async def test_calling_an_unknown_tool_is_invalid_params(connect):
    async with connect() as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("ollama_nonexistent", {})
    assert caught.value.code == INVALID_PARAMS
    assert "ollama_nonexistent" in caught.value.message and "ollama_generate" in caught.value.message


async def test_reading_an_unknown_resource_is_invalid_params(connect):
    async with connect() as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ollama://nothing-here")
    assert caught.value.code == INVALID_PARAMS


REFUSED = [
    ({"temperature": True}, "temperature must be a number between 0 and 2 (got true)"),
    ({"temperature": 1e308}, "temperature must be a number between 0 and 2 (got 1e+308)"),
    ({"temperature": "0.5"}, 'temperature must be a number between 0 and 2 (got "0.5")'),
    ({"temperature": -0.1}, "temperature must be a number between 0 and 2"),
    ({"seed": 2**64}, f"seed must be a whole number between {-(2**63)} and {2**63 - 1} (got {2**64})"),
    ({"seed": True}, "seed must be a whole number"),
    ({"num_ctx": 0}, "num_ctx must be a whole number between 1 and 16777216 (got 0)"),
    ({"num_ctx": "4096"}, 'num_ctx must be a whole number between 1 and 16777216 (got "4096")'),
    ({"num_ctx": 4096.5}, "num_ctx must be a whole number"),
    ({"num_predict": -3}, "num_predict must be a whole number between -2 and 2147483647 (got -3)"),
    ({"keep_alive": "10"}, 'keep_alive must be a string such as "5m" or "1h30m", or a whole number'),
    ({"keep_alive": True}, "keep_alive must be"),
    ({"think": "maybe"}, 'think must be true or false, or one of "low", "medium", "high", "max" (got "maybe")'),
    ({"options": {"top_p": 3}}, "options.top_p must be a number between 0 and 1 (got 3)"),
    ({"options": {"temperature": 1e308}}, "options.temperature must be a number between 0 and 2"),
    ({"options": {"num_ctx": True}}, "options.num_ctx must be a whole number"),
    ({"temprature": 0.5}, "temprature is not an argument of this tool (it takes: prompt, model,"),
    ({"prompt": None}, "prompt must be a string (got null)"),
    ({"prompt": 5}, "prompt must be a string (got 5)"),
]


@pytest.mark.parametrize(("arguments", "message"), REFUSED, ids=[m for _, m in REFUSED])
async def test_loose_or_out_of_range_arguments_are_refused_in_plain_words(connect, ollama, arguments, message):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi", **arguments})
    text = text_of(result)
    assert result.is_error
    assert message in text
    assert text.startswith("Invalid arguments for ollama_generate: ")
    assert "pydantic" not in text and "https://" not in text and "[type=" not in text
    assert not [r for r in ollama.requests if r.path == "/api/generate"], "nothing reached Ollama"


async def test_every_wrong_argument_is_named_in_one_message_and_nested_ones_by_their_path(connect):
    async with connect() as client:
        many = await client.call_tool("ollama_generate", {"prompt": "p", "temperature": 9, "seed": "1"})
        chat = await client.call_tool("ollama_chat", {"messages": [{"role": "robot", "content": 1}]})
        empty = await client.call_tool("ollama_chat", {"messages": []})
        missing = await client.call_tool("ollama_show", {"model": CODER, "verbose": True})
        embed = await client.call_tool("ollama_embed", {"input": "x", "truncate": "yes"})
    assert "temperature must be" in text_of(many) and "seed must be" in text_of(many)
    assert 'messages[0].role must be one of "system", "user", "assistant", "tool" (got "robot")' in text_of(chat)
    assert "messages[0].content must be a string (got 1)" in text_of(chat)
    assert "messages must be a list of at least 1 item (got [])" in text_of(empty)
    assert "verbose is not an argument of this tool (it takes: model)" in text_of(missing)
    assert 'truncate must be true or false (got "yes")' in text_of(embed)


ACCEPTED = [
    {"temperature": 0},
    {"temperature": 2},
    {"temperature": 0.7, "seed": -1, "num_predict": -2, "num_ctx": 8192},
    {"seed": 2**63 - 1},
    {"keep_alive": "1h30m"},
    {"keep_alive": -1},
    {"keep_alive": "0"},
    {"think": False},
    {"options": {"top_k": 40, "top_p": 0.9, "repeat_penalty": 1.1, "mirostat": 2}},
]


@pytest.mark.parametrize("arguments", ACCEPTED, ids=[str(a) for a in ACCEPTED])
async def test_values_in_range_still_reach_ollama_unchanged(connect, ollama, arguments):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi", **arguments})
    assert not result.is_error, text_of(result)
    body = [r for r in ollama.requests if r.path == "/api/generate"][-1].body
    for key, value in arguments.items():
        if key in ("temperature", "seed", "num_predict", "num_ctx"):
            assert body["options"][key] == value
            assert isinstance(body["options"][key], float if key == "temperature" else int)
        elif key == "options":
            assert value.items() <= body["options"].items()
        else:
            assert body[key] == value


async def test_the_input_schema_advertises_the_bounds_and_refuses_unknown_arguments(connect):
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["ollama_generate"].input_schema
    assert schema["additionalProperties"] is False
    props = schema["properties"]

    def number(name: str) -> dict:
        return next(s for s in props[name]["anyOf"] if s.get("type") in ("number", "integer"))

    assert (number("temperature")["minimum"], number("temperature")["maximum"]) == (0, 2)
    assert (number("seed")["minimum"], number("seed")["maximum"]) == (-(2**63), 2**63 - 1)
    assert number("num_ctx")["minimum"] == 1 and number("num_predict")["minimum"] == -2
    options = schema["$defs"]["OllamaOptions"]["properties"]
    assert next(s for s in options["top_p"]["anyOf"] if s.get("type") == "number")["maximum"] == 1
    for tool in tools.values():
        assert tool.input_schema.get("additionalProperties") is False, tool.name
