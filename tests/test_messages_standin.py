"""The Messages API stand-in itself, over real loopback HTTP: the streaming event order of the Messages API,
whole replies, token counts, side requests, scripted steps and errors. (The tests in test_claude_session.py
prove it against the real Claude Code.)"""

from __future__ import annotations

import http.client
import json
from typing import Any

from tests.claude_session.messages_api import EXHAUSTED, SIDE_REPLY, MessagesStandIn
from tests.claude_session.received import ReceivedRequest
from tests.claude_session.turns import Text, ToolUse, Turn, call, say, search_until_loaded

TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]


def post(api: MessagesStandIn, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def conversation_body(stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 100, "stream": stream, "tools": TOOLS, **extra,
            "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip


def events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Parse server-sent events: `event:` and `data:` lines, one blank line after each event."""
    parsed = []
    for chunk in raw.decode().split("\n\n"):
        if not chunk.strip():
            continue
        fields = dict(line.split(": ", 1) for line in chunk.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


def rebuild(stream: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Assemble the message from its events the way an SDK's stream accumulator does."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for name, data in stream:
        assert data["type"] == name
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial.pop(data["index"]))
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data["usage"])
    return message


def test_a_streamed_turn_follows_the_messages_api_event_order_and_rebuilds_exactly():
    turn = Turn((Text("Let me ask the local model about it now."), ToolUse("mcp__s__t", {"prompt": "x" * 100})))
    with MessagesStandIn([turn]) as api:
        status, headers, raw = post(api, "/v1/messages?beta=true", conversation_body())
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    assert headers["Transfer-Encoding"] == "chunked"
    stream = events(raw)
    names = [name for name, _ in stream]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    assert sum(1 for n, d in stream if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta") > 1
    start = stream[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["role"] == "assistant"
    message = rebuild(stream)
    assert message["content"] == [
        {"type": "text", "text": "Let me ask the local model about it now."},
        {"type": "tool_use", "id": turn.blocks[1].id, "name": "mcp__s__t", "input": {"prompt": "x" * 100}},
    ]
    assert message["stop_reason"] == "tool_use" and message["usage"]["output_tokens"] > 0
    assert message["model"] == "claude-x" and message["id"].startswith("msg_")


def test_a_request_without_stream_gets_one_json_message():
    with MessagesStandIn([say("Done.")]) as api:
        status, _, raw = post(api, "/v1/messages", conversation_body(stream=False))
    message = json.loads(raw)
    assert status == 200 and message["type"] == "message"
    assert message["content"] == [{"type": "text", "text": "Done."}] and message["stop_reason"] == "end_turn"


def test_side_requests_and_token_counts_leave_the_script_alone_and_a_used_up_script_says_so():
    with MessagesStandIn([say("first")]) as api:
        _, _, side = post(api, "/v1/messages", {"model": "haiku", "max_tokens": 5, "messages": []})
        _, _, counted = post(api, "/v1/messages/count_tokens", conversation_body())
        _, _, first = post(api, "/v1/messages", conversation_body(stream=False))
        _, _, after = post(api, "/v1/messages", conversation_body(stream=False))
    assert json.loads(side)["content"][0]["text"] == SIDE_REPLY
    assert json.loads(counted)["input_tokens"] > 0
    assert json.loads(first)["content"][0]["text"] == "first"
    assert json.loads(after)["content"][0]["text"] == EXHAUSTED and api.exhausted == 1
    assert len(api.requests) == 4 and len(api.conversation()) == 2


def test_a_step_can_read_the_tool_result_it_answers():
    def echo(request: ReceivedRequest) -> Turn:
        [result] = request.tool_results()
        return say(f"got {result.text} for {result.tool_use_id}")

    body = conversation_body(stream=False)
    body["messages"].append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "42"}]}]})  # fmt: skip
    with MessagesStandIn([echo]) as api:
        _, _, raw = post(api, "/v1/messages", body)
    assert json.loads(raw)["content"][0]["text"] == "got 42 for toolu_1"


def test_a_repeat_plays_again_while_it_applies_then_gives_way():
    with MessagesStandIn([search_until_loaded("mcp__s__t", limit=3), say("called")]) as api:
        replies = []
        for tools in (TOOLS, TOOLS, [*TOOLS, {"name": "mcp__s__t", "input_schema": {}}]):
            _, _, raw = post(api, "/v1/messages", {**conversation_body(stream=False), "tools": tools})
            replies.append(json.loads(raw)["content"][0])
    assert [r.get("name") for r in replies[:2]] == ["ToolSearch", "ToolSearch"]
    assert replies[0]["id"] != replies[1]["id"]
    assert replies[0]["input"] == {"query": "select:mcp__s__t", "max_results": 5}
    assert replies[2] == {"type": "text", "text": "called"}


def test_a_failing_step_is_reported_not_raised_and_unknown_paths_get_the_api_error_shape():
    with MessagesStandIn([lambda request: call("x", {"a": 1 / 0})]) as api:
        _, _, raw = post(api, "/v1/messages", conversation_body(stream=False))
        status, _, missing = post(api, "/v1/models", {})
    assert "step failed" in json.loads(raw)["content"][0]["text"]
    assert api.errors == ["ZeroDivisionError: division by zero"]
    assert status == 404 and json.loads(missing)["error"]["type"] == "not_found_error"
