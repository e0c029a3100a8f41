#!/usr/bin/env python3
"""A fast, faithful stand-in for the Ollama HTTP API, for tests and benchmarks.

The wire behaviour follows the team's fact sheet (`/work/shared/OLLAMA_API.md`): NDJSON streaming by default,
compact Go-style JSON for single replies, Go's exact error texts and statuses, omitempty metrics in nanoseconds,
load/unload requests, `/api/ps` with keep-alive expiry, thinking, JSON format, tool calls, embeddings and pull.

Generation is deterministic: the reply echoes the words of the prompt (or of the last chat message), cycled to
`response_tokens` tokens, one token every `token_delay` seconds. Thinking-capable models first think
"Let me think about it." (five tokens). Chat with tools on a tool-capable model calls the first tool, with
arguments built from its JSON schema, unless the last message is a tool result.

In process::

    with OllamaEmulator(default_models()) as emu:
        emu.url                      # http://127.0.0.1:PORT
        emu.faults.require_key = "s3cret"
        emu.stop(); emu.start()      # down and back up on the same port

As a process (prints its base URL as the first stdout line, serves until SIGTERM/SIGINT)::

    python tests/ollama_emulator.py --port 0 [--models N] [--token-delay S] [--response-tokens N] [--require-key K]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import math
import re
import select
import selectors
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import cycle, islice, pairwise
from typing import Any

__all__ = [
    "OLLAMA_VERSION",
    "EmulatedModel",
    "Faults",
    "OllamaEmulator",
    "RecordedRequest",
    "default_models",
    "main",
    "many_models",
]

OLLAMA_VERSION = "0.32.15"
DEFAULT_KEEP_ALIVE = 300.0
DEFAULT_NUM_CTX = 4096  # what Ollama picks below 24 GiB of VRAM
THINKING_PIECES = ("Let", " me", " think", " about", " it.")
_GO_MAX_DURATION_S = 9_223_372_036.854775  # keep_alive < 0 means "forever": now + Go's largest Duration
_REGISTRY_HOST = "registry.ollama.ai"
_LIBRARY = "library"
_JSON_TYPE = "application/json; charset=utf-8"
_NDJSON_TYPE = "application/x-ndjson"
_TEXT_TYPE = "text/plain; charset=utf-8"


# ---------------------------------------------------------------------------------------------------------------
# Go-flavoured wire helpers
# ---------------------------------------------------------------------------------------------------------------

_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")


def _go_json(value: object) -> bytes:
    """Encode like Go's encoding/json: compact UTF-8, with <, >, & and U+2028/9 written as \\u escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if _GO_ESCAPED.search(text):
        text = _GO_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8", errors="replace")


def _go_quote(text: str) -> str:
    """Go's %q for ordinary text."""
    return json.dumps(text, ensure_ascii=False)


def _utc_now() -> str:
    """`created_at`: RFC 3339 in UTC with nanoseconds, trailing zeros trimmed."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{nanos:09d}".rstrip("0").rstrip(".") + "Z"


def _local_stamp(epoch: float) -> str:
    """`modified_at` / `expires_at`: RFC 3339 in local time with its offset (`Z` when the offset is zero)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone()
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset else 0
    if minutes == 0:
        return stamp + "Z"
    sign = "+" if minutes > 0 else "-"
    return f"{stamp}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


def _parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string ("5m", "1h30m", "0"); ValueError carries Go's message."""
    quoted = _go_quote(text)
    body, sign = text, 1.0
    if body and body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"time: invalid duration {quoted}")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f"time: invalid duration {quoted}")
        number, unit = match.groups()
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {_go_quote(unit)} in duration {quoted}")
        total += float(number) * _DURATION_UNITS[unit]
        pos = match.end()
    return sign * total


class _ApiError(Exception):
    """An error reply `{"error": message}` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_kind(value: object) -> str:
    """The JSON type word Go's decoder uses in its messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


_DECODER = json.JSONDecoder()
_GO_SYNTAX_CONTEXT = (
    ("Expecting value", "looking for beginning of value"),
    ("Expecting property name", "looking for beginning of object key string"),
    ("Expecting ':'", "after object key"),
    ("Expecting ','", "after object key:value pair"),
    ("Invalid control character", "in string literal"),
    ("Invalid \\escape", "in string escape code"),
)


def _go_syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(text) or exc.msg.startswith("Unterminated string"):
        return "unexpected EOF"
    char = text[exc.pos]
    shown = "\\'" if char == "'" else ('"' if char == '"' else json.dumps(char)[1:-1])
    context = next((go for py, go in _GO_SYNTAX_CONTEXT if exc.msg.startswith(py)), "looking for beginning of value")
    return f"invalid character '{shown}' {context}"


# Field specs: a kind, or "[]kind" for a list of it. Go's type names appear in the error messages.
_KIND_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "map": lambda v: isinstance(v, dict),
    "message": lambda v: isinstance(v, dict),
    "tool": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}
_GO_TYPE_NAMES = {"map": "map[string]interface {}", "message": "api.Message", "tool": "api.Tool"}


def _spec_error(value: object, spec: str) -> tuple[str, str] | None:
    if spec.startswith("[]"):
        if not isinstance(value, list):
            return _json_kind(value), "[]" + _GO_TYPE_NAMES.get(spec[2:], spec[2:])
        return next((e for e in (_spec_error(i, spec[2:]) for i in value if i is not None) if e), None)
    return None if _KIND_CHECKS[spec](value) else (_json_kind(value), _GO_TYPE_NAMES.get(spec, spec))


def _check_types(struct_name: str, body: Mapping[str, Any], fields: Mapping[str, str]) -> None:
    """Reject a known field of the wrong JSON type with Go's unmarshal message (400)."""
    for name, spec in fields.items():
        value = body.get(name)
        if value is not None and (error := _spec_error(value, spec)):
            kind, go_type = error
            raise _ApiError(
                400, f"json: cannot unmarshal {kind} into Go struct field {struct_name}.{name} of type {go_type}"
            )


def _decode_request(raw: bytes, struct_name: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """Decode a request body the way gin's ShouldBindJSON does, whatever the Content-Type says."""
    text = raw.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise _ApiError(400, "missing request body")
    try:
        value, _end = _DECODER.raw_decode(text)  # like Go's Decoder, bytes after the first value are ignored
    except json.JSONDecodeError as exc:
        raise _ApiError(400, _go_syntax_error(text, exc)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _ApiError(400, f"json: cannot unmarshal {_json_kind(value)} into Go value of type api.{struct_name}")
    _check_types(struct_name, value, fields)
    return value


_COMMON_FIELDS = {"model": "string", "stream": "bool", "options": "map", "keep_alive": "any"}
_GENERATE_FIELDS = {
    **_COMMON_FIELDS,
    **dict.fromkeys(("prompt", "suffix", "system", "template"), "string"),
    **dict.fromkeys(("raw", "truncate", "shift", "logprobs"), "bool"),
    "context": "[]int",
    "images": "[]string",
    "top_logprobs": "int",
}
_CHAT_FIELDS = {
    **_COMMON_FIELDS,
    **dict.fromkeys(("truncate", "shift", "logprobs"), "bool"),
    "messages": "[]message",
    "tools": "[]tool",
    "top_logprobs": "int",
}
_MESSAGE_FIELDS = {
    **dict.fromkeys(("role", "content", "thinking", "tool_name", "tool_call_id"), "string"),
    "images": "[]string",
}
_EMBED_FIELDS = {"model": "string", "options": "map", "truncate": "bool", "dimensions": "int"}
_EMBEDDINGS_FIELDS = {"model": "string", "prompt": "string", "options": "map"}
_SHOW_FIELDS = {"model": "string", "name": "string", "system": "string", "verbose": "bool", "options": "map"}
_PULL_FIELDS = {"model": "string", "name": "string", "insecure": "bool", "stream": "bool"}
_DELETE_FIELDS = {"model": "string", "name": "string"}
_COPY_FIELDS = {"source": "string", "destination": "string"}

_INT_OPTIONS = frozenset(
    ("num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch", "num_gpu", "main_gpu")
) | {"num_thread"}
_FLOAT_OPTIONS = frozenset(
    ("min_p", "typical_p", "top_p", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty")
)
_BOOL_OPTIONS = frozenset(("numa", "use_mmap"))


def _check_options(options: Mapping[str, Any]) -> None:
    """Known options with a wrong type are a 500, like Ollama's runner options parsing."""
    for key, value in options.items():
        if value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key in _INT_OPTIONS and not number:
            raise _ApiError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and not number:
            raise _ApiError(500, f'option "{key}" must be of type float')
        if key in _BOOL_OPTIONS and not isinstance(value, bool):
            raise _ApiError(500, f'option "{key}" must be of type boolean')
        if key == "stop" and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
            raise _ApiError(500, f'option "{key}" must be of type array of strings')


def _keep_alive(value: object) -> float | None:
    """Seconds to stay loaded: None for the default, math.inf for "forever"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _ApiError(400, f"Unsupported type: '{_json_kind(value)}'")
    if isinstance(value, str):
        try:
            seconds = _parse_go_duration(value)
        except ValueError as exc:
            raise _ApiError(400, str(exc)) from None
    else:
        seconds = float(value)
    return math.inf if seconds < 0 else seconds


_THINK_LEVELS = ("low", "medium", "high", "max")


def _think(value: object) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _THINK_LEVELS:
        return value
    shown = _go_quote(value) if isinstance(value, str) else json.dumps(value)
    raise _ApiError(400, f'invalid think value: {shown} (must be "low", "medium", "high", "max", true, or false)')


def _format(value: object) -> object:
    """None, "json" or a schema dict; anything else is Ollama's 500 "invalid format"."""
    if value is None or value == "" or value == "json" or isinstance(value, dict):
        return value or None
    shown = _go_quote(json.dumps(value, ensure_ascii=False))
    raise _ApiError(500, f'invalid format: {shown}; expected "json" or a valid JSON Schema object')


def _check_images(images: object) -> None:
    for image in images if isinstance(images, list) else ():
        try:
            base64.b64decode(image, validate=True)
        except (binascii.Error, ValueError):
            raise _ApiError(400, "illegal base64 data at input byte 0") from None


def _check_top_logprobs(body: Mapping[str, Any]) -> None:
    top = body.get("top_logprobs")
    if top is not None and not 0 <= top <= 20:
        raise _ApiError(400, "top_logprobs must be between 0 and 20")


# ---------------------------------------------------------------------------------------------------------------
# Model names: [host/][namespace/]model[:tag], case-insensitive, defaults registry.ollama.ai / library / latest
# ---------------------------------------------------------------------------------------------------------------

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_HOSTPART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")


@dataclasses.dataclass(frozen=True)
class _Name:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> str:
        return self.qualified.lower()

    @property
    def qualified(self) -> str:
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def display(self) -> str:
        """The "shortest display" form used by listings: host and namespace only when not the defaults."""
        if self.host.lower() != _REGISTRY_HOST:
            return self.qualified
        prefix = "" if self.namespace.lower() == _LIBRARY else f"{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"


def _parse_name(text: str) -> _Name | None:
    """Parse a model name, or None when it is not valid."""
    rest, tag = text, "latest"
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
    parts = rest.split("/")
    if len(parts) > 3:
        return None
    host, namespace = _REGISTRY_HOST, _LIBRARY
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    model = parts[-1]
    valid = (
        _HOSTPART.fullmatch(host)
        and _NAMESPACE.fullmatch(namespace)
        and _PART.fullmatch(model)
        and _PART.fullmatch(tag)
    )
    return _Name(host, namespace, model, tag) if valid else None


def _qualified(text: str) -> str:
    parsed = _parse_name(text)
    return parsed.qualified if parsed else text


# ---------------------------------------------------------------------------------------------------------------
# The model catalogue
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EmulatedModel:
    """One installed model as `/api/tags`, `/api/show` and `/api/ps` describe it."""

    name: str
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization: str = "Q4_K_M"
    capabilities: tuple[str, ...] = ("completion", "tools")
    size: int = 2_019_393_189
    context_length: int = 131_072
    embedding_length: int = 3072
    modified_at: float = 1_735_689_600.0  # epoch seconds
    license: str | None = None
    digest: str = ""  # 64 hex digits; derived from the name when empty

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.sha256(self.name.encode()).hexdigest())

    @property
    def details(self) -> dict[str, Any]:
        """The `details` object shared by tags, ps and show."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }


def default_models() -> list[EmulatedModel]:
    """A small realistic install: a coder chat model, llama3.2, a thinking model and an embedding-only model."""
    day = 86_400.0
    base = 1_750_000_000.0
    return [
        EmulatedModel(
            "qwen2.5-coder:3b", "qwen2", "3.1B", "Q4_K_M", ("completion", "tools", "insert"),
            1_929_912_432, 32_768, 2048, base,
        ),
        EmulatedModel(
            "llama3.2:latest", "llama", "3.2B", "Q4_K_M", ("completion", "tools"),
            2_019_393_189, 131_072, 3072, base - day, license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
        ),
        EmulatedModel(
            "qwen3:4b", "qwen3", "4.0B", "Q4_K_M", ("completion", "tools", "thinking"),
            2_497_293_918, 40_960, 2560, base - 2 * day,
        ),
        EmulatedModel(
            "nomic-embed-text:latest", "nomic-bert", "137M", "F16", ("embedding",),
            274_302_450, 2048, 768, base - 3 * day,
        ),
    ]  # fmt: skip


def many_models(count: int) -> list[EmulatedModel]:
    """`count` models for benchmarks: the defaults first, then `bench-NN:latest` chat models."""
    models = default_models()[:count]
    oldest = min(m.modified_at for m in default_models())
    for index in range(len(models), count):
        models.append(EmulatedModel(f"bench-{index:02d}:latest", modified_at=oldest - 3600.0 * index))
    return models


def _pullable_extras() -> list[EmulatedModel]:
    return [
        EmulatedModel("smollm2:135m", "llama", "135M", "Q8_0", ("completion", "tools"), 270_898_672, 8192, 576),
        EmulatedModel("all-minilm:latest", "bert", "23M", "F16", ("embedding",), 45_960_996, 512, 384),
    ]


def _layers(model: EmulatedModel) -> list[tuple[str, int]]:
    """(digest, size) of the blobs a pull downloads: weights, template, license, params, config."""
    small = [("template", 1_429), ("license", 7_711 if model.license else 0), ("params", 96), ("config", 487)]
    sizes = [("model", model.size - sum(s for _, s in small)), *[(k, s) for k, s in small if s]]
    return [(hashlib.sha256(f"{model.name}/{kind}".encode()).hexdigest(), size) for kind, size in sizes]


# ---------------------------------------------------------------------------------------------------------------
# Deterministic content
# ---------------------------------------------------------------------------------------------------------------


def _echo_pieces(text: str, count: int) -> list[str]:
    """The prompt's words, cycled to `count` tokens: "a", " b", " a", ..."""
    words = text.split() or ["ok"]
    return [word if i == 0 else " " + word for i, word in enumerate(islice(cycle(words), count))]


def _split_even(text: str, count: int) -> list[str]:
    count = max(1, min(count, len(text)))
    cuts = [len(text) * i // count for i in range(count + 1)]
    return [text[a:b] for a, b in pairwise(cuts)]


def _example(schema: object, text: str, depth: int = 0) -> object:
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
        return {key: _example(sub, text, depth + 1) for key, sub in items}
    if kind == "array":
        return [_example(schema["items"], text, depth + 1)] if "items" in schema else []
    examples: dict[str, object] = {"integer": 1, "number": 1.5, "boolean": True, "null": None}
    return examples.get(str(kind), text)


def _format_text(fmt: object, text: str) -> str:
    value = _example(fmt, text) if isinstance(fmt, dict) else {"echo": text}
    return json.dumps(value, ensure_ascii=False)


def _vector(seed: str, dims: int, normalize: bool) -> list[float]:
    raw = struct.unpack(f"<{dims}h", hashlib.shake_256(seed.encode()).digest(dims * 2))
    scale = (math.sqrt(sum(v * v for v in raw)) or 1.0) if normalize else 8192.0
    return [round(v / scale, 7) for v in raw]


def _token_ids(text: str) -> list[int]:
    return [zlib.crc32(word.encode()) % 128_000 for word in text.split()]


@dataclasses.dataclass
class _Plan:
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


def _plan(tokens: int, text: str, prompt_tokens: int, thinking: bool, fmt: object, options: Mapping[str, Any]) -> _Plan:
    think = list(THINKING_PIECES) if thinking else []
    content = _echo_pieces(text, tokens) if fmt is None else _split_even(_format_text(fmt, text), tokens)
    reason = "stop"
    budget = options.get("num_predict")
    if isinstance(budget, (int, float)) and budget >= 0 and len(think) + len(content) > budget:
        reason = "length"
        think = think[: int(budget)]
        content = content[: max(0, int(budget) - len(think))]
    return _Plan(think, content, [], 0, reason, max(1, prompt_tokens))


def _tool_call(tool: Mapping[str, Any], text: str) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool.get("function"), dict) else {}
    assert isinstance(function, dict)
    name = str(function.get("name", ""))
    arguments = _example(function.get("parameters") or {"type": "object"}, text)
    call_id = "call_" + hashlib.sha1(f"{name}\0{text}".encode()).hexdigest()[:8]
    return {
        "id": call_id,
        "function": {"index": 0, "name": name, "arguments": arguments if isinstance(arguments, dict) else {}},
    }


def _metrics(total: int, load: int, prompt_count: int, prompt_ns: int, eval_count: int, eval_ns: int) -> dict[str, int]:
    values = {
        "total_duration": total,
        "load_duration": load,
        "prompt_eval_count": prompt_count,
        "prompt_eval_duration": prompt_ns,
        "eval_count": eval_count,
        "eval_duration": eval_ns if eval_count else 0,
    }
    return {key: value for key, value in values.items() if value}  # omitempty


# ---------------------------------------------------------------------------------------------------------------
# Faults and recorded requests
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Faults:
    """Switches that make the emulator misbehave; each request reads one consistent snapshot.

    Assign single attributes directly, or use `update()` to change several at once atomically.
    """

    first_byte_delay: float = 0.0  # seconds before the first byte of generate/chat/pull replies
    load_delay: float = 0.0  # extra seconds when a model is not loaded yet (shows in load_duration)
    fail_status: int | None = None  # every /api call answers this status with {"error": fail_message}
    fail_message: str = "emulated server failure"
    garbage: bool = False  # /api calls answer 200 with a non-JSON body (or a non-JSON NDJSON line)
    drop_after_chunks: int | None = None  # cut streams after N lines (no final chunk); drop non-stream replies
    require_key: str | None = None  # a reverse proxy in front: 401 without the key, 403 with a wrong one
    key_header: str = "X-Ollama-Key"
    accept_bearer: bool = False  # the proxy also accepts `Authorization: Bearer <key>`
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def snapshot(self) -> Faults:
        """A consistent copy for one request."""
        with self._lock:
            return dataclasses.replace(self)

    def update(self, **changes: Any) -> None:
        """Change several switches at once."""
        with self._lock:
            for key, value in changes.items():
                if key.startswith("_") or key not in self.__dataclass_fields__:
                    raise AttributeError(f"no fault switch named {key!r}")
                setattr(self, key, value)

    def reset(self) -> None:
        """Turn every fault off."""
        self.update(**{f.name: f.default for f in dataclasses.fields(self) if f.init})


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names lower-cased
    raw: bytes

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None when it is empty or not JSON."""
        try:
            return json.loads(self.raw) if self.raw.strip() else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclasses.dataclass
class _Loaded:
    model: EmulatedModel
    expires: float  # epoch seconds; math.inf when kept forever
    context_length: int


# ---------------------------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------------------------


class OllamaEmulator:
    """A real HTTP server on loopback that answers like Ollama.

    Args:
        models: installed models (default: `default_models()`).
        host, port: where to listen; port 0 picks a free port, kept across `stop()`/`start()`.
        token_delay: seconds per generated token.
        response_tokens: tokens per reply (before `num_predict` cuts it).
        pull_delay: seconds between pull progress lines.
        registry: models `/api/pull` can fetch (default: the installed ones plus two extras).
        clock: epoch seconds, used for keep-alive expiry and `expires_at`.
        record: keep every request in `requests` (benchmarks may turn it off).
    """

    def __init__(
        self,
        models: Sequence[EmulatedModel] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_delay: float = 0.0,
        response_tokens: int = 8,
        pull_delay: float = 0.0,
        registry: Sequence[EmulatedModel] | None = None,
        version: str = OLLAMA_VERSION,
        clock: Callable[[], float] = time.time,
        record: bool = True,
    ) -> None:
        installed = list(default_models() if models is None else models)
        self.faults = Faults()
        self.token_delay = token_delay
        self.response_tokens = response_tokens
        self.pull_delay = pull_delay
        self.version = version
        self.default_keep_alive = DEFAULT_KEEP_ALIVE
        self.record = record
        self._clock = clock
        self._host = host
        self._port = port
        self._cond = threading.Condition()
        self._models = {self._key(m.name): m for m in installed}
        pullable = [*installed, *_pullable_extras()] if registry is None else list(registry)
        self._registry = {self._key(m.name): m for m in pullable}
        self._loaded: dict[str, _Loaded] = {}
        self._requests: list[RecordedRequest] = []
        self._cancelled = 0
        self._active = 0
        self._peak_active = 0
        self._accepted = 0
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: socket.socket | None = None
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> OllamaEmulator:
        """Listen (again) on the same port; nothing is loaded after a restart, like a fresh Ollama."""
        with self._cond:
            if self._server is not None:
                return self
            server = _Server((self._host, self._port), self)
            self._port = int(server.server_address[1])
            wake_read, wake_write = socket.socketpair()
            self._server, self._wake, self._stopping = server, wake_write, False
            self._loaded.clear()
            self._thread = threading.Thread(
                target=self._accept_loop, args=(server, wake_read), name=f"ollama-emulator:{self._port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and every open connection (clients see a reset or EOF)."""
        with self._cond:
            server, wake, thread = self._server, self._wake, self._thread
            if server is None or wake is None or thread is None:
                return
            self._server, self._wake, self._thread, self._stopping = None, None, None, True
            connections = list(self._connections)
        wake.send(b"x")
        thread.join(timeout)
        wake.close()
        server.server_close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue  # already closed by its handler
        with self._cond:
            self._cond.wait_for(lambda: not self._connections, timeout)
            self._loaded.clear()

    def __enter__(self) -> OllamaEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port (fixed after the first `start()`)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://{self._host}:{self._port}"

    @property
    def host_port(self) -> str:
        """`host:port`, the form `OLLAMA_HOST` usually takes."""
        return f"{self._host}:{self._port}"

    # -- observation ----------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy), oldest first."""
        with self._cond:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._cond:
            self._requests.clear()

    @property
    def cancelled(self) -> int:
        """How many generate/chat/pull/embed replies were abandoned because the client went away."""
        with self._cond:
            return self._cancelled

    @property
    def active(self) -> int:
        """Generations running right now."""
        with self._cond:
            return self._active

    @property
    def peak_active(self) -> int:
        """The most generations that ran at the same time."""
        with self._cond:
            return self._peak_active

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        with self._cond:
            return self._accepted

    def model_names(self) -> list[str]:
        """Installed models, newest first, as `/api/tags` lists them."""
        with self._cond:
            return [m.name for m in sorted(self._models.values(), key=lambda m: -m.modified_at)]

    def loaded_names(self) -> list[str]:
        """Loaded models, longest remaining keep-alive first, as `/api/ps` lists them."""
        return [entry.model.name for entry in self._loaded_entries()]

    def add_model(self, model: EmulatedModel) -> None:
        """Install a model (it also becomes pullable)."""
        with self._cond:
            self._models[self._key(model.name)] = model
            self._registry[self._key(model.name)] = model

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until `predicate()` holds; raise TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._cond.wait(min(remaining, 0.05))  # also re-checks time-based conditions

    # -- state used by the endpoints ------------------------------------------------------------------------

    @staticmethod
    def _key(name: str) -> str:
        parsed = _parse_name(name)
        return parsed.key if parsed else name.lower()

    def _find(self, name: str) -> EmulatedModel | None:
        if not name:
            return None
        with self._cond:
            return self._models.get(self._key(name))

    def _install(self, model: EmulatedModel) -> None:
        with self._cond:
            self._models[self._key(model.name)] = model

    def _remove(self, name: str) -> bool:
        with self._cond:
            return self._models.pop(self._key(name), None) is not None

    def _pullable(self, name: str) -> EmulatedModel | None:
        with self._cond:
            return self._registry.get(self._key(name))

    def _loaded_entries(self) -> list[_Loaded]:
        now = self._clock()
        with self._cond:
            for key in [k for k, e in self._loaded.items() if e.expires <= now]:
                del self._loaded[key]
            return sorted(self._loaded.values(), key=lambda e: -e.expires)

    def _is_loaded(self, model: EmulatedModel) -> bool:
        return any(e.model.name == model.name for e in self._loaded_entries())

    def _mark_loaded(self, model: EmulatedModel, keep: float | None, options: Mapping[str, Any]) -> None:
        seconds = self.default_keep_alive if keep is None or keep == 0 else keep
        num_ctx = options.get("num_ctx")
        context = int(num_ctx) if isinstance(num_ctx, (int, float)) and num_ctx > 0 else DEFAULT_NUM_CTX
        with self._cond:
            self._loaded[self._key(model.name)] = _Loaded(
                model, self._clock() + seconds, min(context, model.context_length)
            )
            self._cond.notify_all()

    def _unload(self, model: EmulatedModel) -> None:
        with self._cond:
            self._loaded.pop(self._key(model.name), None)
            self._cond.notify_all()

    def _record(self, request: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()

    def _abandon(self, exchange: _Handler) -> None:
        """A reply stopped early; count it when the client (not a fault or `stop()`) caused it."""
        with self._cond:
            if exchange.client_gone and not self._stopping:
                self._cancelled += 1
                self._cond.notify_all()

    @contextmanager
    def _generating(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
            self._peak_active = max(self._peak_active, self._active)
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def _forget_connection(self, connection: socket.socket) -> None:
        with self._cond:
            self._connections.discard(connection)
            self._cond.notify_all()

    def _accept_loop(self, server: _Server, wake: socket.socket) -> None:
        # Our own loop instead of serve_forever(): stop() wakes it at once through a socket pair, where
        # serve_forever() would poll every 0.5 s.
        with selectors.DefaultSelector() as selector, wake:
            selector.register(server.socket, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is wake for key, _ in ready):
                    return
                try:
                    connection, address = server.get_request()
                except OSError:
                    continue  # the client gave up before we accepted
                connection.setblocking(True)
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._cond:
                    if self._stopping:
                        connection.close()
                        return
                    self._connections.add(connection)
                    self._accepted += 1
                server.process_request(connection, address)


# ---------------------------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() ends handlers by closing their sockets, then waits a bounded time
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: OllamaEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can take seconds; we need no server name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def shutdown_request(self, request: Any) -> None:
        self.emulator._forget_connection(request)
        super().shutdown_request(request)


_NGINX_PAGE = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_STREAMING_PATHS = frozenset(("/api/generate", "/api/chat", "/api/pull"))


class _Handler(BaseHTTPRequestHandler):
    """One connection; also the per-request "exchange" the endpoint functions write to."""

    protocol_version = "HTTP/1.1"
    server: _Server
    faults: Faults
    client_gone: bool
    dropped: bool

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read stderr of processes that use the emulator."""

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            self.close_connection = True  # the peer reset the connection between requests

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_GET

    # -- request ------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                continue  # trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        self.client_gone = self.dropped = False
        self._stream_started = False
        self._chunks = 0
        self.faults = emulator.faults.snapshot()
        path, _, query = self.path.partition("?")
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self.reply(400, b"bad request body", _TEXT_TYPE)
            return
        if emulator.record:
            headers = {name.lower(): value for name, value in self.headers.items()}
            emulator._record(RecordedRequest(self.command, path, query, headers, raw))
        if (refusal := self._proxy_refusal()) is not None:
            text = _NGINX_PAGE.format("401 Authorization Required" if refusal == 401 else "403 Forbidden")
            self.reply(refusal, text.encode(), "text/html")
            return
        methods = _ROUTES.get(path)
        if methods is None:
            self._not_routed(path)
            return
        endpoint = methods.get(self.command)
        if endpoint is None:
            self.reply(405, b"405 method not allowed", _TEXT_TYPE, (("Allow", ", ".join(methods)),))
            return
        if path.startswith("/api/") and self._fault_reply(path, raw):
            return
        try:
            endpoint(emulator, self, raw)
        except _ApiError as error:
            self.reply_json(error.status, {"error": error.message})

    def _not_routed(self, path: str) -> None:
        if path.endswith("/") and path.rstrip("/") in _ROUTES:
            status = 301 if self.command in ("GET", "HEAD") else 307
            self.reply(status, b"", None, (("Location", path.rstrip("/")),))
        else:
            self.reply(404, b"404 page not found", _TEXT_TYPE)

    def _proxy_refusal(self) -> int | None:
        key = self.faults.require_key
        if key is None:
            return None
        offered = [self.headers.get(self.faults.key_header)]
        authorization = self.headers.get("Authorization", "")
        if self.faults.accept_bearer and authorization[:7].lower() == "bearer ":
            offered.append(authorization[7:].strip())
        given = [o for o in offered if o]
        if not given:
            return 401
        return None if any(hmac.compare_digest(o.encode(), key.encode()) for o in given) else 403

    def _fault_reply(self, path: str, raw: bytes) -> bool:
        if self.faults.fail_status is not None:
            self.reply_json(self.faults.fail_status, {"error": self.faults.fail_message})
            return True
        if not self.faults.garbage:
            return False
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {}
        if path in _STREAMING_PATHS and not (isinstance(body, dict) and body.get("stream") is False):
            self._send_chunk(b"this is not json\n")
            self.stream_end()
        else:
            self.reply(200, b"<html><body>this is not json</body></html>", _JSON_TYPE)
        return True

    # -- replies ------------------------------------------------------------------------------------------

    def _head(self, status: int, headers: Sequence[tuple[str, str]]) -> bytes:
        reason = self.responses[status][0] if status in self.responses else ""
        lines = [f"HTTP/1.1 {status} {reason}\r\nDate: {self.date_time_string()}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _send(self, data: bytes) -> bool:
        try:
            self.connection.sendall(data)
        except OSError:
            self.client_gone = self.close_connection = True
            return False
        return True

    def reply(self, status: int, body: bytes, content_type: str | None, extra: Sequence[tuple[str, str]] = ()) -> None:
        """Send a whole reply with Content-Length (no body for HEAD)."""
        headers = [*((("Content-Type", content_type),) if content_type else ()), *extra]
        headers.append(("Content-Length", str(len(body))))
        self._send(self._head(status, headers) + (b"" if self.command == "HEAD" else body))

    def reply_json(self, status: int, value: object) -> None:
        """Send one compact JSON object, no trailing newline, like gin's c.JSON."""
        self.reply(status, _go_json(value), _JSON_TYPE)

    def _send_chunk(self, line: bytes) -> bool:
        data = b"%x\r\n%s\r\n" % (len(line), line)
        if not self._stream_started:
            self._stream_started = True
            data = self._head(200, (("Content-Type", _NDJSON_TYPE), ("Transfer-Encoding", "chunked"))) + data
        return self._send(data)

    def stream_line(self, value: object) -> bool:
        """Send one NDJSON line; False when the stream must stop (client gone or a drop fault fired)."""
        if self.faults.drop_after_chunks is not None and self._chunks >= self.faults.drop_after_chunks:
            self.drop()
            return False
        self._chunks += 1
        return self._send_chunk(_go_json(value) + b"\n")

    def stream_end(self) -> None:
        """Finish a chunked reply."""
        self._send(b"0\r\n\r\n")

    def drop(self) -> None:
        """Cut the connection without finishing the reply."""
        self.dropped = self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.client_gone = True

    def pause(self, seconds: float) -> bool:
        """Wait, watching the socket: False as soon as the client hangs up (or the emulator stops)."""
        if seconds <= 0:
            return not self.client_gone
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if not readable:
                break
            try:
                peeked = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if not peeked:
                self.client_gone = self.close_connection = True
                return False
            time.sleep(max(0.0, deadline - time.monotonic()))  # a pipelined request: just wait it out
            break
        return True


# ---------------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------------

_Endpoint = Callable[[OllamaEmulator, _Handler, bytes], None]


def _root(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    exchange.reply(200, b"Ollama is running", _TEXT_TYPE)


def _version(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    exchange.reply_json(200, {"version": emulator.version})


def _tags(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    with emulator._cond:
        models = sorted(emulator._models.values(), key=lambda m: -m.modified_at)
    entries = [
        {
            "name": m.name,
            "model": m.name,
            "modified_at": _local_stamp(m.modified_at),
            "size": m.size,
            "digest": m.digest,
            "details": m.details,
            "capabilities": list(m.capabilities),
        }
        for m in models
    ]
    exchange.reply_json(200, {"models": entries})


def _ps(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    now = emulator._clock()
    entries = [
        {
            "name": e.model.name,
            "model": e.model.name,
            "size": e.model.size,
            "digest": e.model.digest,
            "details": e.model.details,
            "expires_at": _local_stamp(now + _GO_MAX_DURATION_S if math.isinf(e.expires) else e.expires),
            "size_vram": e.model.size,
            "context_length": e.context_length,
        }
        for e in emulator._loaded_entries()
    ]
    exchange.reply_json(200, {"models": entries})


def _show(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    body = _decode_request(raw, "ShowRequest", _SHOW_FIELDS)
    name = body.get("model") or body.get("name") or ""
    if not name:
        raise _ApiError(400, "model is required")
    model = emulator._find(name)
    if model is None:
        parsed = _parse_name(name)
        raise _ApiError(404, f"model '{parsed.display if parsed else name}' not found")
    verbose = bool(body.get("verbose"))
    arch = model.family.replace("-", "_")
    template = "{{ .Prompt }}"
    parameters = 'stop                           "<|im_end|>"'
    modelfile = (
        f'# Modelfile generated by "ollama show"\nFROM /models/blobs/sha256-{model.digest}\n'
        f'TEMPLATE """{template}"""\nPARAMETER {parameters}\n'
    )
    tokens: list[str] = ["<s>", "</s>", "<unk>", "a", "b", "c"]
    reply: dict[str, Any] = {"modelfile": modelfile, "parameters": parameters, "template": template}
    if model.license:
        reply["license"] = model.license
    reply["details"] = model.details
    reply["model_info"] = {
        "general.architecture": arch,
        "general.parameter_count": _parameter_count(model.parameter_size),
        f"{arch}.context_length": model.context_length,
        f"{arch}.embedding_length": model.embedding_length,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens if verbose else [],
    }
    if verbose:
        reply["tensors"] = [{"name": "token_embd.weight", "type": "Q4_K", "shape": [model.embedding_length, 32_000]}]
    reply["capabilities"] = list(model.capabilities)
    reply["modified_at"] = _local_stamp(model.modified_at)
    exchange.reply_json(200, reply)


def _parameter_count(size: str) -> int:
    scale = {"K": 1e3, "M": 1e6, "B": 1e9}.get(size[-1:].upper(), 1.0)
    try:
        return int(float(size.rstrip("KMBkmb")) * scale)
    except ValueError:
        return 0


def _checked_model(emulator: OllamaEmulator, name: str, body: Mapping[str, Any], verb: str) -> EmulatedModel:
    """Find the model and apply Ollama's capability checks for generate/chat, in Ollama's order."""
    model = emulator._find(name)
    if model is None:
        raise _ApiError(404, f"model '{name}' not found")
    caps = model.capabilities
    if "completion" not in caps:
        raise _ApiError(400, f"{_go_quote(name)} does not support {verb}")
    if body.get("suffix") and "insert" not in caps:
        raise _ApiError(400, f"{_qualified(name)} does not support insert")
    if body.get("tools") and "tools" not in caps:
        raise _ApiError(400, f"{_qualified(name)} does not support tools")
    think = _think(body.get("think"))
    if think not in (None, False) and "thinking" not in caps:
        raise _ApiError(400, f"{_go_quote(name)} does not support thinking")
    return model


def _thinking_on(model: EmulatedModel, body: Mapping[str, Any]) -> bool:
    return "thinking" in model.capabilities and body.get("think") not in (False,)  # unset counts as on


def _load(
    emulator: OllamaEmulator, exchange: _Handler, model: EmulatedModel, keep: float | None, options: Mapping[str, Any]
) -> int | None:
    """Wait out the "model is loading" faults and mark the model loaded; load_duration in ns, None if the
    client hung up meanwhile."""
    start = time.perf_counter_ns()
    if not exchange.pause(exchange.faults.first_byte_delay):
        return None
    if not emulator._is_loaded(model) and not exchange.pause(exchange.faults.load_delay):
        return None
    emulator._mark_loaded(model, keep, options)
    return max(time.perf_counter_ns() - start, 1)


def _run(
    emulator: OllamaEmulator,
    exchange: _Handler,
    plan: _Plan,
    stream: bool,
    started: int,
    load_ns: int,
    chunk: Callable[[str, str, list[dict[str, Any]] | None], dict[str, Any]],
    final: Callable[[str, str, list[dict[str, Any]] | None, dict[str, int]], dict[str, Any]],
) -> bool:
    """Emit a planned generation; False when it was abandoned."""
    delay = emulator.token_delay
    with emulator._generating():
        eval_start = time.perf_counter_ns()
        steps = [(piece, "") for piece in plan.thinking] + [("", piece) for piece in plan.content]
        for thinking, content in steps:
            if not exchange.pause(delay) or (stream and not exchange.stream_line(chunk(thinking, content, None))):
                emulator._abandon(exchange)
                return False
        if plan.tool_calls and (
            not exchange.pause(delay * plan.silent_tokens)
            or (stream and not exchange.stream_line(chunk("", "", plan.tool_calls)))
        ):
            emulator._abandon(exchange)
            return False
        eval_ns = max(time.perf_counter_ns() - eval_start, plan.eval_count * 1_000)
    prompt_ns = plan.prompt_tokens * 20_000
    total_ns = max(time.perf_counter_ns() - started, load_ns + prompt_ns + eval_ns)
    metrics = _metrics(total_ns, load_ns, plan.prompt_tokens, prompt_ns, plan.eval_count, eval_ns)
    if stream:
        if not exchange.stream_line(final("", "", None, metrics)):
            emulator._abandon(exchange)
            return False
        exchange.stream_end()
    elif exchange.faults.drop_after_chunks is not None:
        exchange.drop()
        return False
    else:
        exchange.reply_json(200, final("".join(plan.thinking), "".join(plan.content), plan.tool_calls or None, metrics))
    return True


def _generate(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    started = time.perf_counter_ns()
    body = _decode_request(raw, "GenerateRequest", _GENERATE_FIELDS)
    keep = _keep_alive(body.get("keep_alive"))
    _check_top_logprobs(body)
    name: str = body.get("model") or ""
    model = _checked_model(emulator, name, body, "generate")
    if body.get("raw") and (body.get("template") or body.get("system") or body.get("context")):
        raise _ApiError(400, "raw mode does not support template, system, or context")
    _check_images(body.get("images"))
    fmt = _format(body.get("format"))
    options: dict[str, Any] = body.get("options") or {}
    _check_options(options)
    prompt: str = body.get("prompt") or ""
    if not prompt and keep == 0:
        emulator._unload(model)
        exchange.reply_json(
            200, {"model": name, "created_at": _utc_now(), "response": "", "done": True, "done_reason": "unload"}
        )
        return
    load_ns = _load(emulator, exchange, model, keep, options)
    if load_ns is None:
        emulator._abandon(exchange)
        return
    if not prompt:
        exchange.reply_json(
            200, {"model": name, "created_at": _utc_now(), "response": "", "done": True, "done_reason": "load"}
        )
        return
    system: str = body.get("system") or ""
    plan = _plan(
        emulator.response_tokens, prompt, len(prompt.split()) + len(system.split()),
        _thinking_on(model, body), fmt, options,
    )  # fmt: skip
    context = None if body.get("raw") else _token_ids(prompt + " " + "".join(plan.content))

    def chunk(thinking: str, content: str, _calls: object) -> dict[str, Any]:
        piece: dict[str, Any] = {"model": name, "created_at": _utc_now(), "response": content}
        if thinking:
            piece["thinking"] = thinking
        piece["done"] = False
        return piece

    def final(thinking: str, content: str, _calls: object, metrics: dict[str, int]) -> dict[str, Any]:
        reply: dict[str, Any] = {"model": name, "created_at": _utc_now(), "response": content}
        if thinking:
            reply["thinking"] = thinking
        reply.update(done=True, done_reason=plan.done_reason)
        if context is not None:
            reply["context"] = context
        reply.update(metrics)
        return reply

    if _run(emulator, exchange, plan, body.get("stream") is not False, started, load_ns, chunk, final) and keep == 0:
        emulator._unload(model)


def _chat(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    started = time.perf_counter_ns()
    body = _decode_request(raw, "ChatRequest", _CHAT_FIELDS)
    messages: list[dict[str, Any]] = body.get("messages") or []
    for entry in messages:
        _check_types("ChatRequest.messages", entry, _MESSAGE_FIELDS)
    keep = _keep_alive(body.get("keep_alive"))
    _check_top_logprobs(body)
    name: str = body.get("model") or ""
    if not name:
        raise _ApiError(400, "model is required")
    model = _checked_model(emulator, name, body, "chat")
    fmt = _format(body.get("format"))
    options: dict[str, Any] = body.get("options") or {}
    _check_options(options)
    if not messages:
        reason = "unload" if keep == 0 else "load"
        if keep == 0:
            emulator._unload(model)
        elif _load(emulator, exchange, model, keep, options) is None:
            emulator._abandon(exchange)
            return
        exchange.reply_json(200, {
            "model": name, "created_at": _utc_now(), "message": {"role": "assistant", "content": ""},
            "done_reason": reason, "done": True,
        })  # fmt: skip
        return
    load_ns = _load(emulator, exchange, model, keep, options)
    if load_ns is None:
        emulator._abandon(exchange)
        return
    last = messages[-1]
    text: str = last.get("content") or ""
    prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages)
    plan = _plan(emulator.response_tokens, text, prompt_tokens, _thinking_on(model, body), fmt, options)
    tools = body.get("tools") or []
    if tools and str(last.get("role", "")).lower() != "tool":
        plan.content, plan.done_reason = [], "stop"
        plan.tool_calls = [_tool_call(tools[0], text)]
        plan.silent_tokens = emulator.response_tokens

    def message(thinking: str, content: str, calls: list[dict[str, Any]] | None) -> dict[str, Any]:
        value: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking:
            value["thinking"] = thinking
        if calls:
            value["tool_calls"] = calls
        return value

    def chunk(thinking: str, content: str, calls: list[dict[str, Any]] | None) -> dict[str, Any]:
        return {"model": name, "created_at": _utc_now(), "message": message(thinking, content, calls), "done": False}

    def final(
        thinking: str, content: str, calls: list[dict[str, Any]] | None, metrics: dict[str, int]
    ) -> dict[str, Any]:
        return {
            "model": name, "created_at": _utc_now(), "message": message(thinking, content, calls),
            "done_reason": plan.done_reason, "done": True, **metrics,
        }  # fmt: skip

    if _run(emulator, exchange, plan, body.get("stream") is not False, started, load_ns, chunk, final) and keep == 0:
        emulator._unload(model)


def _embed(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    started = time.perf_counter_ns()
    body = _decode_request(raw, "EmbedRequest", _EMBED_FIELDS)
    keep = _keep_alive(body.get("keep_alive"))
    name: str = body.get("model") or ""
    model = emulator._find(name)
    if model is None:
        raise _ApiError(404, f"model '{name}' not found")
    options: dict[str, Any] = body.get("options") or {}
    _check_options(options)
    given = body.get("input")
    inputs = ([given] if given else []) if isinstance(given, str) else given
    if inputs is None:
        inputs = []
    if not isinstance(inputs, list) or not all(isinstance(item, str) for item in inputs):
        raise _ApiError(400, "invalid input type")
    if not inputs:
        exchange.reply_json(200, {"model": name, "embeddings": []})
        return
    context = min(int(options.get("num_ctx") or DEFAULT_NUM_CTX), model.context_length)
    if body.get("truncate") is False and any(len(text.split()) > context for text in inputs):
        raise _ApiError(400, "the input length exceeds the context length")
    dims = body.get("dimensions") or 0
    dims = dims if 0 < dims < model.embedding_length else model.embedding_length
    load_ns = _load(emulator, exchange, model, keep, options)
    if load_ns is None:
        emulator._abandon(exchange)
        return
    vectors = [_vector(f"{model.digest}\0{text}", dims, normalize=True) for text in inputs]
    tokens = sum(max(1, len(text.split())) for text in inputs)
    total_ns = max(time.perf_counter_ns() - started, load_ns + 1)
    exchange.reply_json(200, {
        "model": name, "embeddings": vectors, "total_duration": total_ns, "load_duration": load_ns,
        "prompt_eval_count": tokens,
    })  # fmt: skip
    if keep == 0:
        emulator._unload(model)


def _embeddings(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    body = _decode_request(raw, "EmbeddingRequest", _EMBEDDINGS_FIELDS)
    keep = _keep_alive(body.get("keep_alive"))
    name: str = body.get("model") or ""
    model = emulator._find(name)
    if model is None:
        raise _ApiError(404, f"model '{name}' not found")
    options: dict[str, Any] = body.get("options") or {}
    _check_options(options)
    prompt: str = body.get("prompt") or ""
    if not prompt:
        exchange.reply_json(200, {"embedding": []})
        return
    if _load(emulator, exchange, model, keep, options) is None:
        emulator._abandon(exchange)
        return
    exchange.reply_json(200, {"embedding": _vector(f"{model.digest}\0{prompt}", model.embedding_length, False)})


def _pull(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    body = _decode_request(raw, "PullRequest", _PULL_FIELDS)
    name: str = body.get("model") or body.get("name") or ""
    parsed = _parse_name(name)
    if parsed is None:
        raise _ApiError(400, "invalid model name")
    stream = body.get("stream") is not False
    if not exchange.pause(exchange.faults.first_byte_delay):
        emulator._abandon(exchange)
        return
    source = emulator._pullable(name)
    if source is None and not stream:
        raise _ApiError(500, "pull model manifest: file does not exist")
    installed = emulator._find(name)

    def steps() -> Iterator[dict[str, Any]]:
        yield {"status": "pulling manifest"}
        if source is None:
            yield {"error": "pull model manifest: file does not exist"}
            return
        for digest, total in _layers(source):
            line = {"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}", "total": total}
            fractions = (4,) if installed else (0, 1, 2, 3, 4)
            for quarter in fractions:
                completed = total * quarter // 4
                yield {**line, "completed": completed} if completed else line
        yield from ({"status": s} for s in ("verifying sha256 digest", "writing manifest", "success"))

    with emulator._generating():
        for index, line in enumerate(steps()):
            if index and not exchange.pause(emulator.pull_delay):
                emulator._abandon(exchange)
                return
            if stream and not exchange.stream_line(line):
                emulator._abandon(exchange)
                return
    if source is not None:
        emulator._install(dataclasses.replace(source, modified_at=emulator._clock()))
    if stream:
        exchange.stream_end()
    elif exchange.faults.drop_after_chunks is not None:
        exchange.drop()
    else:
        exchange.reply_json(200, {"status": "success"})


def _delete(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    body = _decode_request(raw, "DeleteRequest", _DELETE_FIELDS)
    name: str = body.get("model") or body.get("name") or ""
    if not name:
        raise _ApiError(400, "model is required")
    if not emulator._remove(name):
        raise _ApiError(404, f"model '{name}' not found")
    exchange.reply(200, b"", None)


def _copy(emulator: OllamaEmulator, exchange: _Handler, raw: bytes) -> None:
    body = _decode_request(raw, "CopyRequest", _COPY_FIELDS)
    source: str = body.get("source") or ""
    destination: str = body.get("destination") or ""
    if _parse_name(source) is None:
        raise _ApiError(400, f"source {_go_quote(source)} is invalid")
    target = _parse_name(destination)
    if target is None:
        raise _ApiError(400, f"destination {_go_quote(destination)} is invalid")
    model = emulator._find(source)
    if model is None:
        raise _ApiError(404, f"model {_go_quote(source)} not found")
    emulator._install(dataclasses.replace(model, name=target.display, modified_at=emulator._clock()))
    exchange.reply(200, b"", None)


_ROUTES: dict[str, dict[str, _Endpoint]] = {
    "/": {"GET": _root, "HEAD": _root},
    "/api/version": {"GET": _version, "HEAD": _version},
    "/api/tags": {"GET": _tags, "HEAD": _tags},
    "/api/ps": {"GET": _ps},
    "/api/show": {"POST": _show},
    "/api/generate": {"POST": _generate},
    "/api/chat": {"POST": _chat},
    "/api/embed": {"POST": _embed},
    "/api/embeddings": {"POST": _embeddings},
    "/api/pull": {"POST": _pull},
    "/api/delete": {"DELETE": _delete},
    "/api/copy": {"POST": _copy},
}


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; the base URL is the first line on stdout. Exit code 0 on a clean stop."""
    parser = argparse.ArgumentParser(description="Emulate the Ollama HTTP API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--models", type=int, default=0, help="serve many_models(N) instead of default_models()")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds per generated token")
    parser.add_argument("--response-tokens", type=int, default=8)
    parser.add_argument("--require-key", default=None, help="act as a proxy that wants this key")
    parser.add_argument("--key-header", default="X-Ollama-Key")
    parser.add_argument("--accept-bearer", action="store_true", help="also accept Authorization: Bearer <key>")
    args = parser.parse_args(argv)

    models = many_models(args.models) if args.models > 0 else default_models()
    emulator = OllamaEmulator(
        models, host=args.host, port=args.port, token_delay=args.token_delay, response_tokens=args.response_tokens
    )
    emulator.faults.update(require_key=args.require_key, key_header=args.key_header, accept_bearer=args.accept_bearer)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator.start()
    sys.stdout.write(emulator.url + "\n")
    sys.stdout.flush()
    while not stop.wait(0.2):  # a bounded wait keeps signal delivery prompt on every platform
        continue
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
