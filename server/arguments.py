"""Strict tool arguments: bounded argument types, a strict arguments model per tool, and plain error messages.

The SDK builds each tool's arguments model from the function signature in pydantic's lax mode, where `true`
passes as the number 1, `"5"` as 5, and any float (1e308 included) as a temperature; its validation errors end
with pydantic's help-link line. Here:

* the types below carry the ranges Ollama (or the llama.cpp runner under it) can use, so the advertised
  inputSchema shows them (minimum/maximum) and a value outside them is refused before Ollama sees it;
* `make_strict` turns a registered tool's arguments model strict (no bool or string to number, no float to
  int) and closed (an unknown or misspelt argument is refused instead of silently ignored);
* `plain_message` words a `ValidationError` from what the schema advertises: "temperature must be a number
  between 0 and 2 (got 1e+308)".

New tools get the strict model and the plain messages by being registered on `OllamaMCPServer`; they adopt
the bounds by annotating their parameters with these types. Strict mode takes JSON's own types only: a
parameter typed as an Enum, datetime, UUID or Path (which lax mode builds from a string) needs a Literal or str
type instead, or `Field(strict=False)` on that one parameter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, cast

from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

INT32_MAX = 2**31 - 1  # llama.cpp's int parameters
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # Go's int
MAX_NUM_CTX = 2**24  # 16M tokens: above the context window of any released model
GO_MAX_DURATION_S = 9_223_372_036  # Go's largest time.Duration, in whole seconds
# A Go duration as Ollama parses keep_alive: "5m", "1h30m", "1.5h", "300ms", "-1m" (negative: forever), "0".
GO_DURATION = r"^[+-]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$"

STRICT = ConfigDict(strict=True)

# ---- bounded types (each strict on its own too, for use outside a tool's arguments model) ----------------

Temperature = Annotated[float, Field(strict=True, ge=0, le=2, allow_inf_nan=False)]
Probability = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
Penalty = Annotated[float, Field(strict=True, ge=-2, le=2, allow_inf_nan=False)]
RepeatPenalty = Annotated[float, Field(strict=True, ge=0, le=2, allow_inf_nan=False)]
NumCtx = Annotated[int, Field(strict=True, ge=1, le=MAX_NUM_CTX)]
NumPredict = Annotated[int, Field(strict=True, ge=-2, le=INT32_MAX)]  # -1: no limit, -2: fill the context
Seed = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
Count = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)]
Duration = Annotated[str, StringConstraints(strict=True, pattern=GO_DURATION), Field(examples=["5m", "1h30m"])]
Seconds = Annotated[int, Field(strict=True, ge=-GO_MAX_DURATION_S, le=GO_MAX_DURATION_S)]
KeepAlive = Duration | Seconds
Think = bool | Literal["low", "medium", "high", "max"]


class OllamaOptions(BaseModel):
    """Ollama's options; the known keys are checked, others pass through."""

    model_config = ConfigDict(strict=True, extra="allow")

    temperature: Temperature | None = None
    top_k: Count | None = Field(None, description="Sample from the k likeliest tokens (0: off).")
    top_p: Probability | None = None
    min_p: Probability | None = None
    typical_p: Probability | None = None
    repeat_penalty: RepeatPenalty | None = None
    repeat_last_n: Annotated[int, Field(strict=True, ge=-1, le=INT32_MAX)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    num_ctx: NumCtx | None = None
    num_predict: NumPredict | None = None
    num_keep: Annotated[int, Field(strict=True, ge=-1, le=INT32_MAX)] | None = None
    seed: Seed | None = None
    stop: list[str] | None = None
    num_batch: Annotated[int, Field(strict=True, ge=1, le=INT32_MAX)] | None = None
    num_gpu: Annotated[int, Field(strict=True, ge=-1, le=INT32_MAX)] | None = None
    main_gpu: Count | None = None
    num_thread: Count | None = None
    use_mmap: bool | None = None

    def wire(self) -> dict[str, Any]:
        """The options as Ollama gets them: only what was set."""
        return self.model_dump(exclude_none=True)


# ---- the strict arguments model --------------------------------------------------------------------------


def make_strict(tool: Tool) -> None:
    """Make a registered tool's arguments strict and closed, and advertise that in its inputSchema."""
    base = tool.fn_metadata.arg_model
    if base.model_config.get("strict") and base.model_config.get("extra") == "forbid":
        return
    namespace = {"model_config": ConfigDict(strict=True, extra="forbid"), "__module__": base.__module__}
    strict = cast(type[ArgModelBase], type(base.__name__, (base,), namespace))
    tool.fn_metadata.arg_model = strict
    tool.parameters = _untitled(strict.model_json_schema(by_alias=True))


def _untitled(schema: Any, *, names: bool = False) -> Any:
    """The schema without pydantic's generated "title" keywords: they repeat the names and cost the client's
    context on every tools/list (a property *named* title is kept)."""
    if isinstance(schema, dict):
        return {
            key: _untitled(value, names=key in ("properties", "$defs") and not names)
            for key, value in schema.items()
            if names or key != "title"
        }
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema


# ---- plain messages --------------------------------------------------------------------------------------


def plain_message(tool: str, exc: ValidationError, schema: Mapping[str, Any]) -> str:
    """One sentence per wrong argument, worded from the advertised schema, without pydantic's internals."""
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    targets: dict[tuple[str | int, ...], Mapping[str, Any]] = {}
    for error in exc.errors(include_url=False):
        path, target = _locate(error["loc"], schema)
        grouped.setdefault(path, []).append(error)
        targets[path] = target
    problems = [_problem(path, errors, targets[path], schema) for path, errors in grouped.items()]
    return f"Invalid arguments for {tool}: {'; '.join(problems)}. Fix them and call {tool} again."


def _problem(path: tuple[str | int, ...], errors: list[Any], target: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    name = _path_text(path) or "the arguments"
    kinds = {e["type"] for e in errors}
    if "missing" in kinds:
        return f"{name} is required"
    if "extra_forbidden" in kinds:
        known = ", ".join(_properties(root)) if len(path) == 1 else ""
        return f"{name} is not an argument of this tool" + (f" (it takes: {known})" if known else "")
    expected = _expect(target, root) if path else None
    shown = f" (got {_shown(errors[0].get('input'))})" if "input" in errors[0] else ""
    if expected:
        return f"{name} must be {expected}{shown}"
    return f"{name}: {errors[0]['msg'].rstrip('.')}{shown}"


def _path_text(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return target
    return schema


def _alternatives(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    schema = _resolve(schema, root)
    members = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(members, list):
        return [_resolve(m, root) for m in members if isinstance(m, Mapping)]
    return [schema]


def _properties(schema: Mapping[str, Any]) -> list[str]:
    properties = schema.get("properties")
    return list(properties) if isinstance(properties, Mapping) else []


def _locate(loc: Iterable[str | int], root: Mapping[str, Any]) -> tuple[tuple[str | int, ...], Mapping[str, Any]]:
    """Follow an error's location through the schema; parts that name a union member (not a key) are skipped."""
    current: Mapping[str, Any] = root
    path: list[str | int] = []
    for part in loc:
        for member in _alternatives(current, root):
            properties = member.get("properties")
            items = member.get("items")
            if isinstance(part, str) and isinstance(properties, Mapping) and part in properties:
                current = _resolve(properties[part], root)
                path.append(part)
                break
            if isinstance(part, int) and isinstance(items, Mapping):
                current = _resolve(items, root)
                path.append(part)
                break
        else:
            if isinstance(part, str) and not path and root is current:
                path.append(part)  # an unknown top-level argument
    return tuple(path), current


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _expect(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str | None:
    """What the schema accepts, in words ("a number between 0 and 2"); None when it cannot be said simply."""
    members = [m for m in _alternatives(schema, root) if m.get("type") != "null"]
    if len(members) > 1:
        words = [_expect(m, root) for m in members]
        if None in words:
            return None
        unique = list(dict.fromkeys(w for w in words if w))
        return ", or ".join(unique)
    if not members:
        return None
    member = members[0]
    if "const" in member:
        return _shown(member["const"])
    if isinstance(member.get("enum"), list):
        return "one of " + ", ".join(_shown(v) for v in member["enum"])
    kind = member.get("type")
    if kind in ("number", "integer"):
        return _range("a number" if kind == "number" else "a whole number", member)
    if kind == "string":
        examples = member.get("examples")
        if isinstance(examples, list) and examples:
            return "a string such as " + " or ".join(_shown(e) for e in examples)
        return "a non-empty string" if member.get("minLength", 0) >= 1 else "a string"
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        least = member.get("minItems")
        return f"a list of at least {least} item{'s' if least != 1 else ''}" if least else "a list"
    if kind == "object":
        return "an object"
    return None


def _range(noun: str, schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and high is not None:
        return f"{noun} between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"{noun} of at least {_number(low)}"
    if above is not None:
        return f"{noun} above {_number(above)}" + (f" and below {_number(below)}" if below is not None else "")
    if high is not None:
        return f"{noun} of at most {_number(high)}"
    return noun
