"""The server's `instructions`: when to use it first, then the registered tools and the installed models."""

from __future__ import annotations

import pytest

from ollama_mcp_tray.server.descriptions import write_model_cache
from ollama_mcp_tray.server.instructions import LIMIT, server_instructions

CODER = "qwen2.5-coder:3b"
BASE_TOOLS = {"ollama_generate", "ollama_chat", "ollama_embed", "ollama_list_models", "ollama_show", "ollama_ps"}


def test_when_to_use_comes_first_then_the_tools_then_the_models():
    text = server_instructions(sorted(BASE_TOOLS), [CODER, "llama3.2:latest"], CODER)
    assert text.startswith("Hand work to the user's local Ollama models when it should stay on this machine")
    assert text.index("private code") < text.index("Tools: ") < text.index("Installed models: ")
    assert f"Installed models: {CODER} (default), llama3.2:latest." in text
    assert "Tools: ollama_generate (one prompt), ollama_chat (a conversation)" in text


def test_only_registered_tools_are_named_and_an_unknown_one_still_is():
    text = server_instructions(["ollama_generate", "ollama_summarise_files"], [], None)
    assert "ollama_chat" not in text and "ollama_pull" not in text
    assert "Tools: ollama_generate (one prompt), ollama_summarise_files." in text


def test_without_a_cached_model_list_it_says_where_to_look():
    assert "Installed models: not known yet (ollama_list_models lists them)." in server_instructions(
        ["ollama_generate"], [], None
    )
    assert "Default model: llama3.2:latest. Installed models: not known yet" in server_instructions(
        ["ollama_generate"], [], "llama3.2:latest"
    )


def test_many_models_are_counted_and_a_long_text_stays_within_the_client_limit():
    models = [f"model-{i}:latest" for i in range(40)]
    text = server_instructions(sorted(BASE_TOOLS), models, "model-30:latest")
    assert "Default model: model-30:latest." in text and "and 34 more (ollama_list_models)" in text
    huge = server_instructions([f"ollama_tool_{i}_with_a_long_name" for i in range(200)], models, None)
    assert len(huge.encode("utf-8")) <= LIMIT


@pytest.mark.anyio
async def test_the_server_sends_instructions_naming_its_tools_and_the_cached_models(connect, app_paths):
    write_model_cache(app_paths.model_cache, [CODER, "qwen3:4b"])
    async with connect(default_model=CODER) as client:
        sent = client.instructions or ""
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == BASE_TOOLS
    assert f"Installed models: {CODER} (default), qwen3:4b." in sent
    assert all(name in sent for name in names)
    assert "ollama_pull" not in sent
    async with connect(allow_model_management=True) as client:
        assert "ollama_pull (download a model, ask the user first)" in (client.instructions or "")
