"""Every tool through the SDK's in-memory client, against the Ollama emulator on real loopback HTTP."""

from __future__ import annotations

import itertools
import json
import math
import os
import socket

import anyio
import pytest

from ollama_mcp_tray.server.config import Timeouts
from ollama_mcp_tray.server.usage import read_usage

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"


def last(ollama, path: str):
    """The last request to `path` (the background model-list refresh may interleave GET /api/tags)."""
    return [r for r in ollama.requests if r.path == path][-1]


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def test_the_server_lists_its_tools_with_schemas_and_short_descriptions(connect):
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "ollama_generate", "ollama_chat", "ollama_list_models", "ollama_show", "ollama_ps", "ollama_embed",
        "ollama_ask_files", "ollama_summarize_files", "ollama_extract_json", "ollama_review_diff",
        "ollama_label_items", "ollama_digest_log",
    }  # fmt: skip
    for tool in tools.values():
        assert tool.output_schema is not None
        assert 0 < len((tool.description or "").encode()) <= 2048
    assert "private code" in (tools["ollama_generate"].description or "")
    assert tools["ollama_list_models"].annotations.read_only_hint is True


async def test_pull_and_delete_exist_only_when_model_management_is_enabled(connect):
    async with connect(allow_model_management=True) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert {"ollama_pull", "ollama_delete"} <= names


async def test_generate_returns_the_answer_as_text_and_the_metrics_as_structured_content(connect, ollama):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "Say hello to the tests"})
    assert not result.is_error
    data = result.structured_content
    assert data["model"] == CODER and data["done_reason"] == "stop"
    assert text_of(result) == data["response"] and data["response"]
    assert data["output_tokens"] > 0 and data["prompt_tokens"] > 0
    assert data["tokens_per_second"] and data["tokens_per_second"] > 0
    assert data["thinking"] is None
    assert last(ollama, "/api/generate").body["stream"] is True


async def test_generate_passes_the_useful_options_to_ollama(connect, ollama):
    args = {
        "model": CODER, "prompt": "p", "system": "be brief", "temperature": 0.2, "num_ctx": 4096,
        "num_predict": 50, "seed": 7, "stop": ["\n\n"], "keep_alive": "10m", "options": {"top_k": 5},
    }  # fmt: skip
    async with connect() as client:
        assert not (await client.call_tool("ollama_generate", args)).is_error
    body = last(ollama, "/api/generate").body
    assert body["system"] == "be brief" and body["keep_alive"] == "10m"
    assert body["options"] == {
        "temperature": 0.2,
        "num_ctx": 4096,
        "num_predict": 50,
        "seed": 7,
        "stop": ["\n\n"],
        "top_k": 5,
    }


async def test_the_default_model_is_used_when_the_call_names_none(connect, ollama):
    async with connect(default_model="llama3.2") as client:
        result = await client.call_tool("ollama_generate", {"prompt": "hi"})
    assert not result.is_error and last(ollama, "/api/generate").body["model"] == "llama3.2"


async def test_without_a_model_or_default_the_error_says_how_to_set_one(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"prompt": "hi"})
    assert result.is_error and "OLLAMA_DEFAULT_MODEL" in text_of(result)


async def test_an_answer_cut_by_num_predict_says_so(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "a b c d e", "num_predict": 2})
    assert result.structured_content["done_reason"] == "length"
    assert "num_predict reached" in text_of(result)


async def test_thinking_is_kept_apart_from_the_answer(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": "qwen3:4b", "prompt": "why?", "think": True})
    data = result.structured_content
    assert data["thinking"] and data["response"]
    assert data["thinking"] not in text_of(result)


async def test_format_json_and_a_schema_give_parseable_answers(connect):
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    async with connect() as client:
        plain = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "x", "format": "json"})
        shaped = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "x", "format": schema})
    json.loads(text_of(plain))
    assert "label" in json.loads(text_of(shaped))


async def test_chat_sends_the_conversation_and_returns_the_reply(connect, ollama):
    messages = [
        {"role": "system", "content": "You label tickets."},
        {"role": "user", "content": "Printer on fire"},
    ]
    async with connect() as client:
        result = await client.call_tool("ollama_chat", {"model": CODER, "messages": messages})
    assert not result.is_error and text_of(result)
    assert last(ollama, "/api/chat").body["messages"] == messages


async def test_list_models_shows_details_and_which_model_is_loaded(connect):
    async with connect(default_model=CODER) as client:
        await client.call_tool("ollama_generate", {"prompt": "warm up"})
        result = await client.call_tool("ollama_list_models", {})
    models = {m["name"]: m for m in result.structured_content["models"]}
    assert set(models) == {CODER, "llama3.2:latest", "qwen3:4b", "nomic-embed-text:latest"}
    coder = models[CODER]
    assert coder["loaded"] and coder["is_default"] and not models["llama3.2:latest"]["loaded"]
    assert (coder["family"], coder["parameter_size"], coder["quantization"]) == ("qwen2", "3.1B", "Q4_K_M")
    assert coder["size"] == "1.9 GB" and "tools" in coder["capabilities"]


async def test_show_reports_context_length_and_capabilities(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_show", {"model": "qwen3:4b"})
    data = result.structured_content
    assert data["context_length"] == 40_960 and "thinking" in data["capabilities"]


async def test_ps_lists_loaded_models_with_memory_and_expiry(connect):
    async with connect() as client:
        assert (await client.call_tool("ollama_ps", {})).structured_content["models"] == []
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "load me"})
        loaded = (await client.call_tool("ollama_ps", {})).structured_content["models"]
    assert [m["name"] for m in loaded] == [CODER]
    assert loaded[0]["size_bytes"] > 0 and loaded[0]["expires_at"]


async def test_embed_returns_one_normalised_vector_per_input(connect):
    async with connect() as client:
        result = await client.call_tool(
            "ollama_embed", {"model": "nomic-embed-text", "input": ["one", "two"], "dimensions": 64}
        )
    data = result.structured_content
    assert len(data["embeddings"]) == 2 and data["dimensions"] == 64
    assert math.isclose(sum(x * x for x in data["embeddings"][0]), 1.0, rel_tol=1e-4)


async def test_pull_reports_progress_and_the_model_is_then_installed(connect):
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with connect(allow_model_management=True) as client:
        result = await client.call_tool("ollama_pull", {"model": "smollm2:135m"}, progress_callback=on_progress)
        listed = await client.call_tool("ollama_list_models", {})
    assert not result.is_error and result.structured_content["status"] == "success"
    assert any(total for _, total, _ in updates) and any("pulling" in (m or "") for *_, m in updates)
    assert "smollm2:135m" in {m["name"] for m in listed.structured_content["models"]}


async def test_delete_removes_a_model(connect, ollama):
    async with connect(allow_model_management=True) as client:
        result = await client.call_tool("ollama_delete", {"model": "llama3.2"})
    assert result.structured_content == {"model": "llama3.2", "deleted": True}
    assert "llama3.2:latest" not in ollama.model_names()


# ---- errors: each is a tool error the model can act on, and the process survives ------------------------


async def test_ollama_down_names_the_url_and_how_to_start_it_and_the_server_recovers(connect, ollama):
    async with connect() as client:
        ollama.stop()
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
        assert result.is_error
        assert ollama.url in text_of(result) and "ollama serve" in text_of(result)
        ollama.start()
        assert not (await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})).is_error


async def test_a_proxy_refusing_the_request_says_to_check_the_key(connect, ollama):
    ollama.faults.update(require_key="right-key")
    async with connect() as client:
        missing = await client.call_tool("ollama_list_models", {})
    async with connect(key="wrong-key") as client:
        wrong = await client.call_tool("ollama_list_models", {})
    async with connect(key="right-key") as client:
        right = await client.call_tool("ollama_list_models", {})
    assert missing.is_error and "HTTP 401" in text_of(missing) and "OLLAMA_KEY" in text_of(missing)
    assert wrong.is_error and "HTTP 403" in text_of(wrong) and "X-Ollama-Key was refused" in text_of(wrong)
    assert not right.is_error
    assert "right-key" not in text_of(wrong) and "wrong-key" not in text_of(wrong)


async def test_the_key_can_travel_as_a_bearer_token(connect, ollama):
    ollama.faults.update(require_key="k", accept_bearer=True)
    async with connect(key="k", auth_scheme="bearer") as client:
        assert not (await client.call_tool("ollama_ps", {})).is_error
    assert last(ollama, "/api/ps").header("authorization") == "Bearer k"


async def test_an_unknown_model_lists_the_installed_ones_and_the_pull_that_fixes_it(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": "mistral:7b", "prompt": "hi"})
    text = text_of(result)
    assert result.is_error and "ollama pull mistral:7b" in text and CODER in text


async def test_ollamas_own_error_message_is_passed_on(connect):
    async with connect() as client:
        result = await client.call_tool("ollama_generate", {"model": "nomic-embed-text", "prompt": "hi"})
    assert result.is_error and "does not support generate" in text_of(result) and "HTTP 400" in text_of(result)


async def test_a_500_from_ollama_is_reported_with_its_message(connect, ollama):
    ollama.faults.update(fail_status=500, fail_message="llama runner process has terminated")
    async with connect() as client:
        result = await client.call_tool("ollama_ps", {})
    assert result.is_error and "HTTP 500" in text_of(result) and "llama runner process" in text_of(result)


async def test_garbage_from_the_url_is_reported_as_not_ollama(connect, ollama):
    ollama.faults.update(garbage=True)
    async with connect() as client:
        listed = await client.call_tool("ollama_list_models", {})
        generated = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
    assert listed.is_error and "not JSON" in text_of(listed)
    assert generated.is_error and "malformed" in text_of(generated)


async def test_a_stream_that_breaks_off_is_reported_and_the_next_call_works(connect, ollama):
    async with connect() as client:
        ollama.faults.update(drop_after_chunks=2)
        broken = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "one two three four"})
        ollama.faults.reset()
        fine = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "again"})
    assert broken.is_error and ("broke off" in text_of(broken) or "before it was complete" in text_of(broken))
    assert not fine.is_error


async def test_the_idle_timeout_fires_when_ollama_sends_nothing_and_is_named(connect, ollama):
    ollama.faults.update(first_byte_delay=3.0)
    async with connect(timeouts=Timeouts(connect=2.0, idle=0.5)) as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
    assert result.is_error and "idle timeout" in text_of(result) and "OLLAMA_IDLE_TIMEOUT" in text_of(result)


async def test_a_slow_but_steady_stream_outlives_the_idle_timeout(connect, ollama):
    ollama.token_delay = 0.2
    ollama.response_tokens = 8
    async with connect(timeouts=Timeouts(connect=2.0, idle=0.5)) as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
    assert not result.is_error


async def test_the_overall_cap_fires_on_a_long_generation_and_is_named(connect, ollama):
    ollama.token_delay = 0.1
    ollama.response_tokens = 50
    async with connect(timeouts=Timeouts(connect=2.0, idle=5.0, total=0.5)) as client:
        result = await client.call_tool("ollama_generate", {"model": CODER, "prompt": "hi"})
    assert result.is_error and "overall cap" in text_of(result) and "OLLAMA_MAX_TIME" in text_of(result)
    with anyio.fail_after(5):
        while ollama.cancelled < 1:  # the cap abandons the request, so Ollama stops generating
            await anyio.sleep(0.02)


async def test_a_config_error_at_start_is_reported_by_every_tool(connect):
    from ollama_mcp_tray.server.errors import ConfigError

    async with connect(config_error=ConfigError("The settings file x is not valid JSON.")) as client:
        result = await client.call_tool("ollama_ps", {})
    assert result.is_error and "not valid JSON" in text_of(result)


# ---- streaming behaviour -------------------------------------------------------------------------------


async def test_progress_arrives_at_least_once_a_second_while_the_model_loads_and_while_tokens_stream(connect, ollama):
    ollama.faults.update(first_byte_delay=2.5)
    ollama.token_delay = 0.1
    ollama.response_tokens = 12
    stamps: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        stamps.append((anyio.current_time(), message))

    async with connect() as client:
        start = anyio.current_time()
        result = await client.call_tool(
            "ollama_generate", {"model": CODER, "prompt": "hi"}, progress_callback=on_progress
        )
        end = anyio.current_time()
    assert not result.is_error
    times = [start, *(t for t, _ in stamps), end]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 1.0
    assert any("load" in (m or "") for _, m in stamps) and any("tokens" in (m or "") for _, m in stamps)


async def test_cancelling_a_call_aborts_the_request_so_ollama_stops(connect, ollama):
    ollama.token_delay = 0.2
    ollama.response_tokens = 100
    async with connect() as client:
        with anyio.move_on_after(0.6):
            await client.call_tool("ollama_generate", {"model": CODER, "prompt": "long"})
        with anyio.fail_after(5):
            while ollama.cancelled < 1:
                await anyio.sleep(0.02)
        assert ollama.active == 0
        assert not (await client.call_tool("ollama_ps", {})).is_error


async def test_parallel_calls_run_at_the_same_time_over_the_shared_pool(connect, ollama):
    ollama.token_delay = 0.05
    ollama.response_tokens = 6
    async with connect() as client, anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(client.call_tool, "ollama_generate", {"model": CODER, "prompt": f"p{i}"})
    assert ollama.peak_active == 8


async def test_each_call_leaves_a_usage_record_without_prompt_or_answer_text(connect, app_paths):
    async with connect() as client:
        await client.call_tool("ollama_generate", {"model": CODER, "prompt": "very secret prompt"})
        await client.call_tool("ollama_generate", {"model": "nope", "prompt": "x"})
    records = read_usage(app_paths.usage_file)
    assert [(r.tool, r.model, r.outcome) for r in records] == [
        ("generate", CODER, "ok"),
        ("generate", "nope", "ModelNotFound"),
    ]
    assert records[0].output_tokens > 0
    assert "secret" not in app_paths.usage_file.read_text(encoding="utf-8")


async def test_descriptions_name_the_installed_models_after_the_background_refresh(connect, app_paths):
    async with connect() as client:
        with anyio.fail_after(5):
            while True:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                if CODER in (tools["ollama_generate"].description or ""):
                    break
                await anyio.sleep(0.05)
    # and the next start has them at once, from the cache, even with Ollama down
    assert CODER in (app_paths.data_dir / "models.json").read_text(encoding="utf-8")


async def test_the_connect_timeout_fires_when_nothing_accepts_and_is_named(connect):
    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs (loopback only).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        async with connect(base_url=f"http://127.0.0.1:{port}", timeouts=Timeouts(connect=0.3, idle=5.0)) as client:
            result = await client.call_tool("ollama_ps", {})
    finally:
        filler.close()
        listener.close()
    assert result.is_error and "connect timeout" in text_of(result) and "OLLAMA_CONNECT_TIMEOUT" in text_of(result)


async def test_chat_passes_tools_and_returns_the_models_tool_calls(connect, ollama):
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    async with connect() as client:
        result = await client.call_tool("ollama_chat", {"model": CODER, "messages": messages, "tools": [weather]})
    calls = result.structured_content["tool_calls"]
    assert calls and calls[0]["function"]["name"] == "get_weather" and "city" in calls[0]["function"]["arguments"]
    assert "get_weather" in text_of(result)
    assert last(ollama, "/api/chat").body["tools"] == [weather]


async def test_a_default_model_changed_in_the_settings_file_applies_to_the_next_call(connect, ollama, app_paths):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"default_model": "llama3.2"}), encoding="utf-8")
    async with connect(default_model="llama3.2", follow_settings=True) as client:
        await client.call_tool("ollama_generate", {"prompt": "one"})
        assert last(ollama, "/api/generate").body["model"] == "llama3.2"
        # what the tray's Models menu does while Claude Code keeps the server running
        app_paths.settings_file.write_text(json.dumps({"default_model": "qwen3:4b"}), encoding="utf-8")
        os.utime(app_paths.settings_file, ns=(1, 1))
        await client.call_tool("ollama_generate", {"prompt": "two"})
        assert last(ollama, "/api/generate").body["model"] == "qwen3:4b"
        listed = await client.call_tool("ollama_list_models", {})
        assert listed.structured_content["default_model"] == "qwen3:4b"
        app_paths.settings_file.write_text("{broken", encoding="utf-8")
        os.utime(app_paths.settings_file, ns=(2, 2))
        await client.call_tool("ollama_generate", {"prompt": "three"})
        assert last(ollama, "/api/generate").body["model"] == "qwen3:4b"
