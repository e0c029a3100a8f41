"""The Ollama emulator speaks the wire protocol in /work/shared/OLLAMA_API.md, checked with a plain HTTP client."""

from __future__ import annotations

import http.client
import json
import math
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.ollama_emulator import EmulatedModel, OllamaEmulator, default_models, many_models

CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the code",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer"},
                    "mode": {"type": "string", "enum": ["fast", "deep"]},
                },
                "required": ["query"],
            },
        },
    }
]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[dict[str, Any]]:
        assert self.body.endswith(b"\n")
        return [json.loads(line) for line in self.body.decode().splitlines()]


def call(
    emu: OllamaEmulator,
    method: str,
    path: str,
    body: object = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def ps_names(emu: OllamaEmulator) -> list[str]:
    return [m["name"] for m in call(emu, "GET", "/api/ps").json()["models"]]


def local_time(stamp: str) -> datetime:
    stamp = stamp.replace("Z", "+00:00")
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp))


# -- basics ---------------------------------------------------------------------------------------------------


def test_root_says_ollama_is_running_to_get_and_head(ollama: OllamaEmulator) -> None:
    get = call(ollama, "GET", "/")
    head = call(ollama, "HEAD", "/")
    assert (get.status, get.body, get.headers["Content-Type"]) == (
        200,
        b"Ollama is running",
        "text/plain; charset=utf-8",
    )
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", "17")


def test_single_replies_are_compact_json_without_a_trailing_newline(ollama: OllamaEmulator) -> None:
    reply = call(ollama, "GET", "/api/version")
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.body == b'{"version":"0.32.15"}'


def test_tags_lists_models_newest_first_with_bare_hex_digests_details_and_capabilities(ollama: OllamaEmulator) -> None:
    models = call(ollama, "GET", "/api/tags").json()["models"]
    assert [m["name"] for m in models] == [m.name for m in default_models()]
    first = models[0]
    assert first["model"] == first["name"] == "qwen2.5-coder:3b"
    assert re.fullmatch(r"[0-9a-f]{64}", first["digest"])
    assert first["details"]["format"] == "gguf"
    assert first["details"]["parent_model"] == ""
    assert first["capabilities"] == ["completion", "tools", "insert"]
    stamps = [local_time(m["modified_at"]) for m in models]
    assert stamps == sorted(stamps, reverse=True)


def test_connections_are_kept_alive_between_requests(ollama: OllamaEmulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", ollama.port, timeout=10)
    for _ in range(3):
        connection.request("POST", "/api/generate", body=b'{"model":"llama3.2","prompt":"hi","stream":false}')
        assert connection.getresponse().read()
    connection.close()
    assert ollama.connections_accepted == 1


def test_show_describes_the_model_and_always_has_model_info(ollama: OllamaEmulator) -> None:
    shown = call(ollama, "POST", "/api/show", {"model": "LLAMA3.2"}).json()
    assert shown["capabilities"] == ["completion", "tools"]
    assert shown["model_info"]["general.architecture"] == "llama"
    assert shown["model_info"]["llama.context_length"] == 131_072
    assert shown["model_info"]["tokenizer.ggml.tokens"] == []
    assert "tensors" not in shown
    verbose = call(ollama, "POST", "/api/show", {"name": "llama3.2", "verbose": True}).json()
    assert verbose["model_info"]["tokenizer.ggml.tokens"]
    assert verbose["tensors"]


# -- generate and chat ----------------------------------------------------------------------------------------


def test_generate_streams_ndjson_by_default_with_metrics_matching_the_stream(ollama: OllamaEmulator) -> None:
    reply = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "hello world"})
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    assert reply.headers["Transfer-Encoding"] == "chunked"
    *pieces, final = reply.lines()
    assert all(p["done"] is False and CREATED_AT.match(p["created_at"]) for p in pieces)
    assert "".join(p["response"] for p in pieces) == "hello world hello world hello world hello world"
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["response"] == ""
    assert final["eval_count"] == len(pieces) == 8
    assert final["prompt_eval_count"] == 2
    assert final["context"]
    assert final["total_duration"] >= final["load_duration"] > 0
    assert final["eval_duration"] > 0


def test_generate_without_stream_answers_one_object_with_the_whole_response(ollama: OllamaEmulator) -> None:
    reply = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "one two", "stream": False})
    body = reply.json()
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body["response"].startswith("one two one two")
    assert (body["done"], body["done_reason"], body["model"]) == (True, "stop", "llama3.2")


def test_num_predict_cuts_the_reply_short_with_done_reason_length(ollama: OllamaEmulator) -> None:
    body = call(
        ollama, "POST", "/api/generate",
        {"model": "llama3.2", "prompt": "a b c", "stream": False, "options": {"num_predict": 3}},
    ).json()  # fmt: skip
    assert (body["response"], body["done_reason"], body["eval_count"]) == ("a b c", "length", 3)


def test_model_names_are_case_insensitive_and_replies_echo_the_name_as_sent(ollama: OllamaEmulator) -> None:
    for name in ("LLAMA3.2", "llama3.2:latest", "registry.ollama.ai/library/llama3.2:latest"):
        body = call(ollama, "POST", "/api/generate", {"model": name, "prompt": "x", "stream": False}).json()
        assert body["model"] == name
    assert ps_names(ollama) == ["llama3.2:latest"]


def test_go_escapes_html_characters_in_json(ollama: OllamaEmulator) -> None:
    reply = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "<b>&", "stream": False})
    assert b"\\u003cb\\u003e\\u0026" in reply.body
    assert reply.json()["response"].startswith("<b>&")


def test_chat_streams_message_pieces_and_ends_without_context(ollama: OllamaEmulator) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "USER", "content": "ping"}]
    *pieces, final = call(ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": messages}).lines()
    assert {p["message"]["role"] for p in pieces} == {"assistant"}
    assert "".join(p["message"]["content"] for p in pieces) == "ping" + " ping" * 7
    assert final["message"] == {"role": "assistant", "content": ""}
    assert (final["done"], final["done_reason"]) == (True, "stop")
    assert "context" not in final


def test_thinking_models_think_before_answering_unless_think_is_false(ollama: OllamaEmulator) -> None:
    request = {"model": "qwen3:4b", "messages": [{"role": "user", "content": "why"}]}
    *pieces, final = call(ollama, "POST", "/api/chat", request).lines()
    kinds = ["thinking" if "thinking" in p["message"] else "content" for p in pieces]
    assert kinds == ["thinking"] * 5 + ["content"] * 8
    assert "".join(p["message"].get("thinking", "") for p in pieces) == "Let me think about it."
    assert final["eval_count"] == 13
    quiet = call(ollama, "POST", "/api/chat", {**request, "think": False, "stream": False}).json()
    assert "thinking" not in quiet["message"]
    loud = call(ollama, "POST", "/api/generate", {"model": "qwen3:4b", "prompt": "x", "think": "high", "stream": False})
    assert loud.json()["thinking"] == "Let me think about it."


def test_format_json_makes_the_response_valid_json(ollama: OllamaEmulator) -> None:
    plain = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "hi", "format": "json"}).lines()
    assert json.loads("".join(p["response"] for p in plain)) == {"echo": "hi"}
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}}}
    request = {"model": "llama3.2", "messages": [{"role": "user", "content": "Oslo"}], "format": schema}
    body = call(ollama, "POST", "/api/chat", {**request, "stream": False}).json()
    assert json.loads(body["message"]["content"]) == {"city": "Oslo", "rank": 1}


def test_chat_with_tools_calls_the_first_tool_with_arguments_from_its_schema(ollama: OllamaEmulator) -> None:
    messages = [{"role": "user", "content": "find main"}]
    request = {"model": "qwen2.5-coder:3b", "messages": messages, "tools": TOOLS}
    *pieces, final = call(ollama, "POST", "/api/chat", request).lines()
    (call_chunk,) = pieces
    assert call_chunk["done"] is False
    assert call_chunk["message"]["content"] == ""
    (tool_call,) = call_chunk["message"]["tool_calls"]
    assert re.fullmatch(r"call_[0-9a-z]{8}", tool_call["id"])
    assert tool_call["function"] == {
        "index": 0,
        "name": "search",
        "arguments": {"query": "find main", "limit": 1, "mode": "fast"},
    }
    assert final["done"] is True
    whole = call(ollama, "POST", "/api/chat", {**request, "stream": False}).json()
    assert whole["message"]["tool_calls"] == [tool_call]
    result = [*messages, whole["message"], {"role": "tool", "content": "main.py", "tool_name": "search"}]
    answer = call(ollama, "POST", "/api/chat", {**request, "messages": result, "stream": False}).json()
    assert answer["message"]["content"].startswith("main.py")
    assert "tool_calls" not in answer["message"]


# -- errors ---------------------------------------------------------------------------------------------------

GENERATE = "/api/generate"
CHAT = "/api/chat"
ERRORS = [
    (GENERATE, b"", 400, "missing request body"),
    (GENERATE, b"xyz", 400, "invalid character 'x' looking for beginning of value"),
    (GENERATE, b'{"model":', 400, "unexpected EOF"),
    (GENERATE, b"[]", 400, "json: cannot unmarshal array into Go value of type api.GenerateRequest"),
    (GENERATE, b"null", 404, "model '' not found"),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":"x","stream":"yes"}',
        400,
        "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool",
    ),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":5}',
        400,
        "json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type string",
    ),
    (GENERATE, b'{"model":"nope","prompt":"x"}', 404, "model 'nope' not found"),
    (GENERATE, b'{"prompt":"x"}', 404, "model '' not found"),
    (GENERATE, b'{"model":"nomic-embed-text","prompt":"x"}', 400, '"nomic-embed-text" does not support generate'),
    (GENERATE, b'{"model":"llama3.2","prompt":"x","think":true}', 400, '"llama3.2" does not support thinking'),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":"x","suffix":"y"}',
        400,
        "registry.ollama.ai/library/llama3.2:latest does not support insert",
    ),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":"x","raw":true,"system":"s"}',
        400,
        "raw mode does not support template, system, or context",
    ),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":"x","format":"xml"}',
        500,
        'invalid format: "\\"xml\\""; expected "json" or a valid JSON Schema object',
    ),
    (GENERATE, b'{"model":"llama3.2","keep_alive":"10"}', 400, 'time: missing unit in duration "10"'),
    (
        GENERATE,
        b'{"model":"llama3.2","prompt":"x","options":{"num_ctx":"big"}}',
        500,
        'option "num_ctx" must be of type integer',
    ),
    (CHAT, b'{"messages":[]}', 400, "model is required"),
    (CHAT, b'{"model":"nope","messages":[]}', 404, "model 'nope' not found"),
    (CHAT, b'{"model":"nomic-embed-text","messages":[]}', 400, '"nomic-embed-text" does not support chat'),
    (
        CHAT,
        b'{"model":"qwen3:4b","messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}',
        200,
        None,
    ),
    (
        CHAT,
        b'{"model":"nomic-embed-text:latest","messages":[{"role":"user","content":1}]}',
        400,
        "json: cannot unmarshal number into Go struct field ChatRequest.messages.content of type string",
    ),
    ("/api/show", b"{}", 400, "model is required"),
    ("/api/show", b'{"model":"nope"}', 404, "model 'nope:latest' not found"),
    ("/api/embed", b'{"model":"nope","input":"x"}', 404, "model 'nope' not found"),
    ("/api/embed", b'{"model":"nomic-embed-text","input":["a",1]}', 400, "invalid input type"),
    ("/api/pull", b'{"model":"bad name!"}', 400, "invalid model name"),
    ("/api/pull", b'{"model":"nope","stream":false}', 500, "pull model manifest: file does not exist"),
    ("/api/copy", b'{"source":"nope","destination":"x"}', 404, 'model "nope" not found'),
    ("/api/copy", b'{"source":"llama3.2","destination":"a/b/c/d"}', 400, 'destination "a/b/c/d" is invalid'),
]


@pytest.mark.parametrize(("path", "raw", "status", "message"), ERRORS)
def test_errors_have_the_documented_status_and_text(
    ollama: OllamaEmulator, path: str, raw: bytes, status: int, message: str | None
) -> None:
    reply = call(ollama, "POST", path, raw=raw)
    assert reply.status == status
    if message is not None:
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        assert reply.json() == {"error": message}


def test_tools_on_a_model_without_tool_support_are_refused(ollama: OllamaEmulator) -> None:
    ollama.add_model(EmulatedModel("plain:1b", capabilities=("completion",)))
    request = {"model": "plain:1b", "messages": [{"role": "user", "content": "x"}], "tools": TOOLS}
    reply = call(ollama, "POST", "/api/chat", request)
    assert (reply.status, reply.json()) == (
        400,
        {"error": "registry.ollama.ai/library/plain:1b does not support tools"},
    )


def test_unknown_paths_are_plain_404_and_wrong_methods_405(ollama: OllamaEmulator) -> None:
    missing = call(ollama, "GET", "/api/nothing")
    wrong = call(ollama, "GET", "/api/generate")
    assert (missing.status, missing.body) == (404, b"404 page not found")
    assert (wrong.status, wrong.body) == (405, b"405 method not allowed")
    assert call(ollama, "POST", "/api/delete", {"model": "llama3.2"}).status == 405


def test_a_trailing_slash_is_redirected_to_the_route(ollama: OllamaEmulator) -> None:
    get = call(ollama, "GET", "/api/tags/")
    post = call(ollama, "POST", "/api/generate/", {"model": "llama3.2"})
    assert (get.status, get.headers["Location"]) == (301, "/api/tags")
    assert (post.status, post.headers["Location"]) == (307, "/api/generate")


def test_head_on_tags_sends_the_headers_of_the_listing_without_a_body(ollama: OllamaEmulator) -> None:
    head = call(ollama, "HEAD", "/api/tags")
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(call(ollama, "GET", "/api/tags").body)


# -- load, unload and /api/ps ---------------------------------------------------------------------------------


def test_an_empty_prompt_loads_the_model_and_keep_alive_zero_unloads_it(ollama: OllamaEmulator) -> None:
    assert ps_names(ollama) == []
    load = call(ollama, "POST", "/api/generate", {"model": "llama3.2"})
    assert load.headers["Content-Type"] == "application/json; charset=utf-8"  # not a stream despite the default
    assert {k: v for k, v in load.json().items() if k != "created_at"} == {
        "model": "llama3.2",
        "response": "",
        "done": True,
        "done_reason": "load",
    }
    assert ps_names(ollama) == ["llama3.2:latest"]
    unload = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "keep_alive": 0}).json()
    assert unload["done_reason"] == "unload"
    assert ps_names(ollama) == []
    chat = call(ollama, "POST", "/api/chat", {"model": "qwen3:4b", "messages": []}).json()
    assert (chat["done_reason"], chat["message"]) == ("load", {"role": "assistant", "content": ""})
    assert ps_names(ollama) == ["qwen3:4b"]


def test_a_prompt_with_keep_alive_zero_generates_then_unloads(ollama: OllamaEmulator) -> None:
    body = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x", "keep_alive": 0}).lines()
    assert body[-1]["done_reason"] == "stop"
    # Like Ollama's scheduler, the unload follows the reply's last line: the client may see it a moment later.
    deadline = time.monotonic() + 5
    while ps_names(ollama) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ps_names(ollama) == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_ps_shows_used_models_with_expiry_from_keep_alive_until_it_runs_out() -> None:
    clock = FakeClock()
    with OllamaEmulator(clock=clock) as emu:
        call(emu, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x", "keep_alive": "1m30s"})
        call(emu, "POST", "/api/embed", {"model": "nomic-embed-text", "input": "x", "keep_alive": 10})
        call(emu, "POST", "/api/chat", {"model": "qwen3:4b", "messages": [], "keep_alive": -1})
        models = call(emu, "GET", "/api/ps").json()["models"]
        assert [m["name"] for m in models] == ["qwen3:4b", "llama3.2:latest", "nomic-embed-text:latest"]
        expiry = {m["name"]: local_time(m["expires_at"]).timestamp() for m in models}
        assert expiry["llama3.2:latest"] == clock.now + 90
        assert expiry["nomic-embed-text:latest"] == clock.now + 10
        assert local_time(models[0]["expires_at"]).year > 2300  # "forever"
        assert models[1]["context_length"] == 4096
        assert models[1]["size_vram"] == models[1]["size"] > 0
        clock.now += 11
        assert ps_names(emu) == ["qwen3:4b", "llama3.2:latest"]
        clock.now += 80
        assert ps_names(emu) == ["qwen3:4b"]


# -- embeddings -----------------------------------------------------------------------------------------------


def test_embed_returns_deterministic_unit_vectors_in_input_order(ollama: OllamaEmulator) -> None:
    body = call(ollama, "POST", "/api/embed", {"model": "nomic-embed-text", "input": ["a", "b", "a"]}).json()
    first, second, again = body["embeddings"]
    assert len(first) == 768
    assert first == again != second
    assert math.isclose(math.fsum(v * v for v in first), 1.0, abs_tol=1e-5)
    assert body["prompt_eval_count"] == 3
    small = call(ollama, "POST", "/api/embed", {"model": "nomic-embed-text", "input": "a", "dimensions": 16}).json()
    assert len(small["embeddings"][0]) == 16
    assert math.isclose(math.fsum(v * v for v in small["embeddings"][0]), 1.0, abs_tol=1e-5)
    empty = call(ollama, "POST", "/api/embed", {"model": "nomic-embed-text", "input": []})
    assert empty.body == b'{"model":"nomic-embed-text","embeddings":[]}'
    legacy = call(ollama, "POST", "/api/embeddings", {"model": "nomic-embed-text", "prompt": "a"}).json()
    assert len(legacy["embedding"]) == 768


# -- pull, delete, copy ---------------------------------------------------------------------------------------


def test_pull_streams_the_documented_status_sequence_and_installs_the_model(ollama: OllamaEmulator) -> None:
    lines = call(ollama, "POST", "/api/pull", {"model": "smollm2:135m"}).lines()
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    progress = [line for line in lines if "digest" in line]
    assert all(line["status"] == f"pulling {line['digest'][7:19]}" for line in progress)
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", line["digest"]) for line in progress)
    assert "completed" not in progress[0]  # omitempty while nothing is done
    assert progress[-1]["completed"] == progress[-1]["total"]
    assert "smollm2:135m" in [m["name"] for m in call(ollama, "GET", "/api/tags").json()["models"]]
    again = call(ollama, "POST", "/api/pull", {"model": "smollm2:135m"}).lines()
    assert all(line["completed"] == line["total"] for line in again if "digest" in line)
    assert call(ollama, "POST", "/api/pull", {"model": "all-minilm", "stream": False}).body == b'{"status":"success"}'


def test_pulling_an_unknown_model_streams_200_then_an_error_line(ollama: OllamaEmulator) -> None:
    reply = call(ollama, "POST", "/api/pull", {"model": "nope"})
    assert reply.status == 200
    assert reply.lines() == [{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]


def test_delete_and_copy_answer_200_with_an_empty_body(ollama: OllamaEmulator) -> None:
    copied = call(ollama, "POST", "/api/copy", {"source": "llama3.2", "destination": "mine:v1"})
    assert (copied.status, copied.body) == (200, b"")
    assert "mine:v1" in ollama.model_names()
    deleted = call(ollama, "DELETE", "/api/delete", {"model": "mine:v1"})
    assert (deleted.status, deleted.body) == (200, b"")
    assert "mine:v1" not in ollama.model_names()
    again = call(ollama, "DELETE", "/api/delete", {"model": "mine:v1"})
    assert (again.status, again.json()) == (404, {"error": "model 'mine:v1' not found"})
    assert call(ollama, "DELETE", "/api/delete", {}).json() == {"error": "model is required"}


# -- faults ---------------------------------------------------------------------------------------------------


def test_stop_refuses_connections_and_start_serves_again_on_the_same_port(ollama: OllamaEmulator) -> None:
    port = ollama.port
    call(ollama, "POST", "/api/generate", {"model": "llama3.2"})
    ollama.stop()
    with pytest.raises(ConnectionRefusedError):
        call(ollama, "GET", "/api/version")
    ollama.start()
    assert ollama.port == port
    assert call(ollama, "GET", "/api/version").status == 200
    assert ps_names(ollama) == []  # a restarted Ollama has nothing loaded


def test_stop_cuts_open_streams(ollama: OllamaEmulator) -> None:
    ollama.token_delay = 0.05
    ollama.response_tokens = 100
    connection = http.client.HTTPConnection("127.0.0.1", ollama.port, timeout=10)
    connection.request("POST", "/api/generate", body=b'{"model":"llama3.2","prompt":"x"}')
    response = connection.getresponse()
    assert response.readline()
    ollama.stop()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    assert ollama.cancelled == 0  # the server went away; no client cancelled


def test_first_byte_delay_holds_back_generate_replies(ollama: OllamaEmulator) -> None:
    ollama.faults.first_byte_delay = 0.2
    started = time.monotonic()
    body = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x", "stream": False}).json()
    assert time.monotonic() - started >= 0.2
    assert body["load_duration"] >= 200_000_000
    assert call(ollama, "GET", "/api/version").status == 200


def test_load_delay_applies_only_while_the_model_is_not_loaded(ollama: OllamaEmulator) -> None:
    ollama.faults.load_delay = 0.2
    request = {"model": "llama3.2", "prompt": "x", "stream": False}
    assert call(ollama, "POST", "/api/generate", request).json()["load_duration"] >= 200_000_000
    assert call(ollama, "POST", "/api/generate", request).json()["load_duration"] < 200_000_000


def test_fail_status_answers_every_api_call_with_a_json_error(ollama: OllamaEmulator) -> None:
    ollama.faults.update(
        fail_status=503, fail_message="server busy, please try again.  maximum pending requests exceeded"
    )
    reply = call(ollama, "GET", "/api/tags")
    assert reply.status == 503
    assert reply.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}
    assert call(ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": []}).status == 503
    assert call(ollama, "GET", "/").status == 200
    ollama.faults.reset()
    assert call(ollama, "GET", "/api/tags").status == 200


def test_garbage_answers_200_with_bodies_that_are_not_json(ollama: OllamaEmulator) -> None:
    ollama.faults.garbage = True
    single = call(ollama, "GET", "/api/version")
    assert single.status == 200
    with pytest.raises(ValueError):
        single.json()
    streamed = call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x"})
    assert streamed.headers["Content-Type"] == "application/x-ndjson"
    with pytest.raises(ValueError):
        streamed.lines()


def test_drop_after_chunks_cuts_the_stream_without_a_final_chunk(ollama: OllamaEmulator) -> None:
    ollama.faults.drop_after_chunks = 2
    connection = http.client.HTTPConnection("127.0.0.1", ollama.port, timeout=10)
    connection.request("POST", "/api/generate", body=b'{"model":"llama3.2","prompt":"x"}')
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.readline())["done"] is False
    assert json.loads(response.readline())["done"] is False
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    with pytest.raises(http.client.RemoteDisconnected):
        call(ollama, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x", "stream": False})


def test_a_proxy_in_front_wants_the_key_header(ollama: OllamaEmulator) -> None:
    ollama.faults.require_key = "s3cret"
    missing = call(ollama, "GET", "/api/tags")
    wrong = call(ollama, "GET", "/api/tags", headers={"X-Ollama-Key": "guess"})
    right = call(ollama, "GET", "/api/tags", headers={"x-ollama-key": "s3cret"})
    assert (missing.status, missing.headers["Content-Type"]) == (401, "text/html")
    assert b"<center><h1>401 Authorization Required</h1></center>" in missing.body
    assert (wrong.status, b"403 Forbidden" in wrong.body) == (403, True)
    assert right.status == 200
    bearer = {"Authorization": "Bearer s3cret"}
    assert call(ollama, "GET", "/", headers=bearer).status == 401
    ollama.faults.update(accept_bearer=True, key_header="X-Api-Key")
    assert call(ollama, "GET", "/", headers=bearer).status == 200
    assert call(ollama, "GET", "/", headers={"X-Api-Key": "s3cret"}).status == 200
    assert call(ollama, "GET", "/", headers={"X-Ollama-Key": "s3cret"}).status == 401


def test_requests_are_recorded_with_headers_and_body(ollama: OllamaEmulator) -> None:
    call(ollama, "POST", "/api/show?x=1", {"model": "llama3.2"}, headers={"X-Ollama-Key": "k"})
    (recorded,) = ollama.requests
    assert (recorded.method, recorded.path, recorded.query) == ("POST", "/api/show", "x=1")
    assert recorded.header("x-ollama-key") == "k"
    assert recorded.body == {"model": "llama3.2"}
    ollama.clear_requests()
    assert ollama.requests == []


# -- cancellation, concurrency, speed -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_hanging_up_mid_generation_is_counted_and_generation_stops(
    ollama: OllamaEmulator, stream: bool
) -> None:
    ollama.token_delay = 0.02
    ollama.response_tokens = 500
    body = json.dumps({"model": "llama3.2", "prompt": "x", "stream": stream}).encode()
    with socket.create_connection(("127.0.0.1", ollama.port), timeout=10) as sock:
        sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        ollama.wait_until(lambda: ollama.active == 1)
        if stream:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    ollama.wait_until(lambda: ollama.cancelled == 1 and ollama.active == 0, timeout=2)


def test_parallel_generations_run_at_the_same_time() -> None:
    with OllamaEmulator(token_delay=0.05, response_tokens=4) as emu:
        results: list[int] = []

        def generate() -> None:
            reply = call(emu, "POST", "/api/generate", {"model": "llama3.2", "prompt": "x", "stream": False})
            results.append(reply.json()["eval_count"])

        threads = [threading.Thread(target=generate) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert results == [4] * 8
        assert emu.peak_active == 8


def test_many_models_starts_with_the_defaults_and_has_distinct_names() -> None:
    models = many_models(10)
    names = [m.name for m in models]
    assert names[:4] == [m.name for m in default_models()]
    assert len(set(names)) == 10
    assert len({m.digest for m in models}) == 10


# -- as a separate process ------------------------------------------------------------------------------------


def test_the_emulator_runs_as_a_process_that_prints_its_url_and_exits_cleanly() -> None:
    script = Path(__file__).with_name("ollama_emulator.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--models", "6", "--require-key", "k"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(
            target=lambda: lines.put(process.stdout.readline() if process.stdout else ""), daemon=True
        ).start()
        url = lines.get(timeout=10).strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", url)
        assert match
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        connection.request("GET", "/api/tags", headers={"X-Ollama-Key": "k"})
        assert len(json.loads(connection.getresponse().read())["models"]) == 6
        connection.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


# -- context length, truncate:false, cloud entries, receipts ----------------------------------------------------


def test_an_input_longer_than_num_ctx_with_truncate_false_is_refused_with_llama_servers_error(ollama) -> None:
    ollama.state.install(EmulatedModel("tok:latest", context_length=8192, bytes_per_token=4.0))
    long = "word " * 1000  # 5000 bytes: 1250 tokens
    for path, body in (
        ("/api/chat", {"messages": [{"role": "user", "content": long}]}),
        ("/api/generate", {"prompt": long}),
    ):
        request = {"model": "tok", **body, "options": {"num_ctx": 1024}, "truncate": False}
        reply = call(ollama, "POST", path, request)
        assert reply.status == 400 and reply.headers["Content-Type"] == "application/json; charset=utf-8"
        inner = json.loads(reply.json()["error"])  # Ollama passes llama-server's whole JSON body on as the text
        assert inner["error"]["type"] == "exceed_context_size_error"
        assert inner["error"]["message"] == (
            "request (1250 tokens) exceeds the available context size (1024 tokens), try increasing it"
        )
        fits = call(ollama, "POST", path, {**request, "options": {"num_ctx": 2048}, "stream": False})
        assert fits.status == 200 and fits.json()["prompt_eval_count"] == 1250
        cut = call(ollama, "POST", path, {**request, "truncate": True, "stream": False})
        assert cut.status == 200 and cut.json()["prompt_eval_count"] == 1023  # trimmed silently to fit


def test_num_ctx_above_the_models_length_is_capped_to_it(ollama) -> None:
    ollama.state.install(EmulatedModel("small:latest", context_length=2048, bytes_per_token=4.0))
    request = {"model": "small", "prompt": "x" * 10_000, "options": {"num_ctx": 65536}, "truncate": False}
    assert "(2048 tokens)" in call(ollama, "POST", "/api/generate", request).json()["error"]


def test_cloud_models_carry_remote_model_and_host_in_tags_and_show(ollama) -> None:
    from tests.emulator.catalog import cloud_model

    ollama.state.install(cloud_model())
    entry = next(m for m in call(ollama, "GET", "/api/tags").json()["models"] if m["name"] == "gpt-oss:120b-cloud")
    assert list(entry)[:4] == ["name", "model", "remote_model", "remote_host"]
    assert entry["remote_host"] == "https://ollama.com:443" and entry["remote_model"] == "gpt-oss:120b"
    local = next(m for m in call(ollama, "GET", "/api/tags").json()["models"] if m["name"] == "llama3.2:latest")
    assert "remote_host" not in local
    show = call(ollama, "POST", "/api/show", {"model": "gpt-oss:120b-cloud"}).json()
    assert show["remote_host"] == "https://ollama.com:443" and show["model_info"]["gptoss.context_length"] == 131_072


def test_receipt_answers_say_what_the_model_received(ollama) -> None:
    ollama.answer_mode = "receipt"
    content = "=== a.py ===\n1: x\n\n=== b.py (lines 1-2 of 9) ===\n1: y"
    reply = call(ollama, "POST", "/api/chat", {
        "model": "llama3.2", "messages": [{"role": "user", "content": content}], "stream": False,
    }).json()  # fmt: skip
    assert reply["message"]["content"].startswith(f"received {len(content)} bytes sha256:")
    assert reply["message"]["content"].endswith("sections: a.py | b.py (lines 1-2 of 9)")


def test_a_schema_with_min_items_gets_that_many_items(ollama) -> None:
    schema = {"type": "object", "properties": {"labels": {"type": "array", "items": {"enum": ["a", "b"]},
              "minItems": 3, "maxItems": 3}}}  # fmt: skip
    reply = call(ollama, "POST", "/api/generate", {
        "model": "llama3.2", "prompt": "label", "format": schema, "stream": False,
    }).json()  # fmt: skip
    assert json.loads(reply["response"]) == {"labels": ["a", "a", "a"]}
