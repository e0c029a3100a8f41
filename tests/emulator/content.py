"""Deterministic generation content: echoed words, thinking, JSON-format text, tool calls, embeddings, metrics."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import struct
import zlib
from collections.abc import Mapping
from functools import lru_cache
from itertools import cycle, islice, pairwise
from typing import Any

THINKING_PIECES = ("Let", " me", " think", " about", " it.")


def echo_pieces(text: str, count: int) -> list[str]:
    """The prompt's words, cycled to `count` tokens: "a", " b", " a", ..."""
    words = text.split() or ["ok"]
    return [word if i == 0 else " " + word for i, word in enumerate(islice(cycle(words), count))]


def split_even(text: str, count: int) -> list[str]:
    """`text` in `count` pieces of nearly equal length (fewer when the text is shorter)."""
    count = max(1, min(count, len(text)))
    cuts = [len(text) * i // count for i in range(count + 1)]
    return [text[a:b] for a, b in pairwise(cuts)]


def example_value(schema: object, text: str, depth: int = 0) -> object:
    """A value that satisfies a (simple) JSON schema; strings carry the prompt text."""
    if not isinstance(schema, dict) or depth > 8:
        return text
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        items = properties.items() if isinstance(properties, dict) else ()
        return {key: example_value(sub, text, depth + 1) for key, sub in items}
    if kind == "array":
        # A grammar built from the schema makes the model emit at least minItems items.
        count = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 1
        return [example_value(schema["items"], text, depth + 1) for _ in range(count)] if "items" in schema else []
    examples: dict[str, object] = {"integer": 1, "number": 1.5, "boolean": True, "null": None}
    return examples.get(str(kind), text)


def format_text(fmt: object, text: str) -> str:
    """The JSON a `format` request gets: an instance of the schema, or `{"echo": text}` for "json"."""
    value = example_value(fmt, text) if isinstance(fmt, dict) else {"echo": text}
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=4096)
def vector(seed: str, dims: int, normalize: bool) -> tuple[float, ...]:
    """A deterministic vector for `seed`: unit length when `normalize`, otherwise of a raw-looking scale."""
    raw = struct.unpack(f"<{dims}h", hashlib.shake_256(seed.encode()).digest(dims * 2))
    scale = (math.sqrt(sum(v * v for v in raw)) or 1.0) if normalize else 8192.0
    return tuple(round(v / scale, 7) for v in raw)


def token_ids(text: str) -> list[int]:
    """Fake token ids for the `context` field: stable per word."""
    return [zlib.crc32(word.encode()) % 128_000 for word in text.split()]


@dataclasses.dataclass
class Plan:
    """What one generation will emit."""

    thinking: list[str]
    content: list[str]
    tool_calls: list[dict[str, Any]]
    silent_tokens: int  # tokens generated but not streamed (a tool call is sent whole, at the end)
    done_reason: str
    prompt_tokens: int

    @property
    def eval_count(self) -> int:
        return len(self.thinking) + len(self.content) + self.silent_tokens


def plan_generation(
    tokens: int, text: str, prompt_tokens: int, thinking: bool, fmt: object, options: Mapping[str, Any]
) -> Plan:
    """Decide what a generation emits: thinking, content pieces, and `length` when `num_predict` cuts it short."""
    think = list(THINKING_PIECES) if thinking else []
    content = echo_pieces(text, tokens) if fmt is None else split_even(format_text(fmt, text), tokens)
    reason = "stop"
    budget = options.get("num_predict")
    if isinstance(budget, (int, float)) and budget >= 0 and len(think) + len(content) > budget:
        reason = "length"
        think = think[: int(budget)]
        content = content[: max(0, int(budget) - len(think))]
    return Plan(think, content, [], 0, reason, max(1, prompt_tokens))


def tool_call(tool: Mapping[str, Any], text: str) -> dict[str, Any]:
    """A call of `tool` with arguments built from its parameter schema."""
    function = tool.get("function") if isinstance(tool.get("function"), dict) else {}
    assert isinstance(function, dict)
    name = str(function.get("name", ""))
    arguments = example_value(function.get("parameters") or {"type": "object"}, text)
    call_id = "call_" + hashlib.sha1(f"{name}\0{text}".encode()).hexdigest()[:8]
    return {
        "id": call_id,
        "function": {"index": 0, "name": name, "arguments": arguments if isinstance(arguments, dict) else {}},
    }


def metric_fields(
    total: int, load: int, prompt_count: int, prompt_ns: int, eval_count: int, eval_ns: int
) -> dict[str, int]:
    """The final chunk's metrics in nanoseconds; zeros are left out, like Go's omitempty."""
    values = {
        "total_duration": total,
        "load_duration": load,
        "prompt_eval_count": prompt_count,
        "prompt_eval_duration": prompt_ns,
        "eval_count": eval_count,
        "eval_duration": eval_ns if eval_count else 0,
    }
    return {key: value for key, value in values.items() if value}  # omitempty
