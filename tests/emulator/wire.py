"""Go-flavoured wire details: JSON encoding, timestamps, durations, and request decoding with Ollama's error texts.

Ollama is Go `net/http` + gin; these helpers reproduce what that stack puts on the wire (see OLLAMA_API.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
TEXT_TYPE = "text/plain; charset=utf-8"
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")


def go_json(value: object) -> bytes:
    """Encode like Go's encoding/json: compact UTF-8, with <, >, & and U+2028/9 written as \\u escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if _GO_ESCAPED.search(text):
        text = _GO_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8", errors="replace")


def go_quote(text: str) -> str:
    """Go's %q for ordinary text."""
    return json.dumps(text, ensure_ascii=False)


def utc_now() -> str:
    """`created_at`: RFC 3339 in UTC with nanoseconds, trailing zeros trimmed."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{nanos:09d}".rstrip("0").rstrip(".") + "Z"


def local_stamp(epoch: float) -> str:
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


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string ("5m", "1h30m", "0"); ValueError carries Go's message."""
    quoted = go_quote(text)
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
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {quoted}")
        total += float(number) * _DURATION_UNITS[unit]
        pos = match.end()
    return sign * total


class ApiError(Exception):
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


def check_types(struct_name: str, body: Mapping[str, Any], fields: Mapping[str, str]) -> None:
    """Reject a known field of the wrong JSON type with Go's unmarshal message (400)."""
    for name, spec in fields.items():
        value = body.get(name)
        if value is not None and (error := _spec_error(value, spec)):
            kind, go_type = error
            raise ApiError(
                400, f"json: cannot unmarshal {kind} into Go struct field {struct_name}.{name} of type {go_type}"
            )


def decode_request(raw: bytes, struct_name: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """Decode a request body the way gin's ShouldBindJSON does, whatever the Content-Type says."""
    text = raw.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise ApiError(400, "missing request body")
    try:
        value, _end = _DECODER.raw_decode(text)  # like Go's Decoder, bytes after the first value are ignored
    except json.JSONDecodeError as exc:
        raise ApiError(400, _go_syntax_error(text, exc)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"json: cannot unmarshal {_json_kind(value)} into Go value of type api.{struct_name}")
    check_types(struct_name, value, fields)
    return value


_COMMON_FIELDS = {"model": "string", "stream": "bool", "options": "map", "keep_alive": "any"}
GENERATE_FIELDS = {
    **_COMMON_FIELDS,
    **dict.fromkeys(("prompt", "suffix", "system", "template"), "string"),
    **dict.fromkeys(("raw", "truncate", "shift", "logprobs"), "bool"),
    "context": "[]int",
    "images": "[]string",
    "top_logprobs": "int",
}
CHAT_FIELDS = {
    **_COMMON_FIELDS,
    **dict.fromkeys(("truncate", "shift", "logprobs"), "bool"),
    "messages": "[]message",
    "tools": "[]tool",
    "top_logprobs": "int",
}
MESSAGE_FIELDS = {
    **dict.fromkeys(("role", "content", "thinking", "tool_name", "tool_call_id"), "string"),
    "images": "[]string",
}
EMBED_FIELDS = {"model": "string", "options": "map", "truncate": "bool", "dimensions": "int"}
EMBEDDINGS_FIELDS = {"model": "string", "prompt": "string", "options": "map"}
SHOW_FIELDS = {"model": "string", "name": "string", "system": "string", "verbose": "bool", "options": "map"}
PULL_FIELDS = {"model": "string", "name": "string", "insecure": "bool", "stream": "bool"}
DELETE_FIELDS = {"model": "string", "name": "string"}
COPY_FIELDS = {"source": "string", "destination": "string"}
_INT_OPTIONS = frozenset(
    ("num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch", "num_gpu", "main_gpu")
) | {"num_thread"}
_FLOAT_OPTIONS = frozenset(
    ("min_p", "typical_p", "top_p", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty")
)
_BOOL_OPTIONS = frozenset(("numa", "use_mmap"))


def check_options(options: Mapping[str, Any]) -> None:
    """Known options with a wrong type are a 500, like Ollama's runner options parsing."""
    for key, value in options.items():
        if value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key in _INT_OPTIONS and not number:
            raise ApiError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and not number:
            raise ApiError(500, f'option "{key}" must be of type float')
        if key in _BOOL_OPTIONS and not isinstance(value, bool):
            raise ApiError(500, f'option "{key}" must be of type boolean')
        if key == "stop" and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
            raise ApiError(500, f'option "{key}" must be of type array of strings')


def keep_alive_seconds(value: object) -> float | None:
    """Seconds to stay loaded: None for the default, math.inf for "forever"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ApiError(400, f"Unsupported type: '{_json_kind(value)}'")
    if isinstance(value, str):
        try:
            seconds = parse_go_duration(value)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    else:
        seconds = float(value)
    return math.inf if seconds < 0 else seconds


_THINK_LEVELS = ("low", "medium", "high", "max")


def think_value(value: object) -> bool | str | None:
    """Validate `think`: a bool, or one of the levels."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _THINK_LEVELS:
        return value
    shown = go_quote(value) if isinstance(value, str) else json.dumps(value)
    raise ApiError(400, f'invalid think value: {shown} (must be "low", "medium", "high", "max", true, or false)')


def format_value(value: object) -> object:
    """None, "json" or a schema dict; anything else is Ollama's 500 "invalid format"."""
    if value is None or value == "" or value == "json" or isinstance(value, dict):
        return value or None
    shown = go_quote(json.dumps(value, ensure_ascii=False))
    raise ApiError(500, f'invalid format: {shown}; expected "json" or a valid JSON Schema object')


def check_images(images: object) -> None:
    """Images must be base64, like Go's []byte decoding wants (400 otherwise)."""
    for image in images if isinstance(images, list) else ():
        try:
            base64.b64decode(image, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "illegal base64 data at input byte 0") from None


def check_top_logprobs(body: Mapping[str, Any]) -> None:
    """`top_logprobs` must lie in 0..20 (400 otherwise)."""
    top = body.get("top_logprobs")
    if top is not None and not 0 <= top <= 20:
        raise ApiError(400, "top_logprobs must be between 0 and 20")
