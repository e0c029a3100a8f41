from ollama_mcp_tray.server.descriptions import (
    LIMIT,
    generation_description,
    read_model_cache,
    write_model_cache,
)


def test_descriptions_say_when_to_use_a_local_model_and_name_the_models():
    text = generation_description("generate", ["qwen2.5-coder:3b", "llama3.2:latest"], "qwen2.5-coder:3b")
    assert "private code" in text and "summaries" in text
    assert "Default model: qwen2.5-coder:3b" in text and "llama3.2:latest" in text


def test_a_long_model_list_is_cut_to_the_byte_limit_with_a_pointer_to_the_full_list():
    models = [f"some-really-long-model-name-{i}:q4_K_M-instruct" for i in range(200)]
    for kind in ("generate", "chat"):
        text = generation_description(kind, models, None)
        assert len(text.encode("utf-8")) <= LIMIT
        assert "more; see ollama_list_models" in text
        assert models[0] in text


def test_without_a_known_model_list_the_description_says_where_to_look():
    assert "call ollama_list_models" in generation_description("chat", [], None)


def test_the_model_cache_round_trips_and_tolerates_garbage(tmp_path):
    path = tmp_path / "d" / "models.json"
    assert read_model_cache(path) == []
    write_model_cache(path, ["a:1", "b:2"])
    assert read_model_cache(path) == ["a:1", "b:2"]
    path.write_text("not json", encoding="utf-8")
    assert read_model_cache(path) == []
