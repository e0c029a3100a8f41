"""The scripted model's turns, and how a turn goes on the wire (a Messages API reply, streamed or whole).

The stream follows the Messages API's documented event order: `message_start` (the message with empty content),
a `ping`, then per content block `content_block_start`, deltas (`text_delta` for text, `input_json_delta` for a
tool call's input, sent as partial JSON in pieces), `content_block_stop`; then `message_delta` with the stop
reason and the output usage, and `message_stop`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.claude_session.received import ReceivedRequest, estimate_tokens

TEXT_PIECE_WORDS = 4  # words per text_delta
JSON_PIECE_CHARS = 24  # characters per input_json_delta


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: f"toolu_{secrets.token_hex(12)}")


Block = Text | ToolUse


@dataclass(frozen=True)
class Turn:
    """One assistant message: text and tool calls, in order."""

    blocks: tuple[Block, ...]

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"

    @property
    def tool_uses(self) -> list[ToolUse]:
        return [b for b in self.blocks if isinstance(b, ToolUse)]

    def with_new_ids(self) -> Turn:
        return Turn(tuple(ToolUse(b.name, b.input) if isinstance(b, ToolUse) else b for b in self.blocks))


@dataclass
class Repeat:
    """A step that plays `turn` and stays at the head of the script while `again(request)` holds for the next
    request, at most `limit` times; then the next step answers that request. E.g. search again while the
    server is still connecting, as a model does when the tool search says so."""

    turn: Turn
    again: Callable[[ReceivedRequest], bool]
    limit: int = 5
    played: int = 0


# A scripted step: a fixed turn, one computed from the request it answers (e.g. from a tool result), or a repeat.
Step = Turn | Callable[[ReceivedRequest], Turn] | Repeat


def say(text: str) -> Turn:
    return Turn((Text(text),))


def call(name: str, arguments: dict[str, Any] | None = None, *, text: str | None = None) -> Turn:
    """A tool call, optionally after a sentence (as a model often does)."""
    blocks: list[Block] = [Text(text)] if text else []
    blocks.append(ToolUse(name, dict(arguments or {})))
    return Turn(tuple(blocks))


def search_tools(*names: str) -> Turn:
    """Claude Code's tool search, asking for the schemas of deferred tools by exact name."""
    return call("ToolSearch", {"query": "select:" + ",".join(names), "max_results": 5})


def search_until_loaded(*names: str, limit: int = 5) -> Repeat:
    """Tool search for `names`, repeated while the next request does not offer them all in full."""
    return Repeat(search_tools(*names), lambda request: any(request.tool(n) is None for n in names), limit)


def message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def _block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def _output_tokens(turn: Turn) -> int:
    return max(1, sum(estimate_tokens(json.dumps(_block_json(b))) for b in turn.blocks))


def whole_message(turn: Turn, model: str, input_tokens: int) -> dict[str, Any]:
    """The reply to a request without `stream`."""
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [_block_json(b) for b in turn.blocks],
        "stop_reason": turn.stop_reason,
        "stop_sequence": None,
        "usage": _usage(input_tokens, _output_tokens(turn)),
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _words(text: str) -> list[str]:
    words = text.split(" ")
    chunks = [" ".join(words[i : i + TEXT_PIECE_WORDS]) for i in range(0, len(words), TEXT_PIECE_WORDS)]
    # Keep the separating spaces so the pieces join back to the exact text.
    return [c + (" " if i < len(chunks) - 1 else "") for i, c in enumerate(chunks)]


def stream_events(turn: Turn, model: str, input_tokens: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """The server-sent events of a streamed reply, as (event name, data)."""
    start = whole_message(turn, model, input_tokens)
    start.update(content=[], stop_reason=None, usage=_usage(input_tokens, 1))
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(turn.blocks):
        if isinstance(block, Text):
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for piece in _words(block.text):
                delta = {"type": "text_delta", "text": piece}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        else:
            opening = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
            for piece in _pieces(json.dumps(block.input), JSON_PIECE_CHARS):
                delta = {"type": "input_json_delta", "partial_json": piece}
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": _output_tokens(turn)},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
