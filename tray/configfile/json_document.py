"""The pure core of editing Claude Code's JSON files: read, set and remove one member at a key path.

Edits are splices into the original text: the bytes of everything we do not touch stay exactly as they
were (key order, number spelling, escapes, whitespace), which is stronger than "same parsed value" and
also fast on a ten-megabyte `~/.claude.json`, since nothing but the edited member is serialized.
Inserted members follow the indentation of the object they go into (Claude Code writes two spaces).

Locating members uses the json module's C scanner (`raw_decode`), so a walk costs about one parse.
Duplicate keys resolve as in `JSON.parse` and `json.loads`: the last one wins; removal removes all.

An edit is also available as a `Splice` (the one span it changes), so the careful shell can write the file
from the bytes it read plus the new piece, without building and encoding a second copy of a big text.
Each edit parses the file it is given afresh: re-using the parse of our previous write (a cache of it, and
re-parsing only the members a splice touched) saved nothing in a CLI command, which edits once, and was
removed (bench/bench_registration.py; see the registrar).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, TypeVar

JsonPath = tuple[str, ...]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_DEFAULT_INDENT = "  "
_BOM = "\ufeff"


class DocumentError(ValueError):
    """The text is not a JSON object we can edit. `line`/`column` are 1-based, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Splice:
    """An edit of a text as the one span it changes: `text[:start] + insert + text[end:]`."""

    start: int
    end: int
    insert: str

    def apply(self, text: str) -> str:
        """The edited text."""
        return "".join((text[: self.start], self.insert, text[self.end :]))


class SplicingDocument:
    """What every format core's document offers over its own `set_splice` and `remove_splice`: `get`, `set`
    and `remove`, the last two as the whole edited text."""

    text: str
    value: dict[str, Any]

    def set_splice(self, path: Sequence[str], key: str, value: Any) -> Splice | None:
        """`set` as the span it changes; None when the member already has exactly that value."""
        raise NotImplementedError

    def remove_splice(self, path: Sequence[str], key: str) -> Splice | None:
        """`remove` as the span it changes; None when there is no such member."""
        raise NotImplementedError

    def get(self, path: Sequence[str]) -> Any:
        """The value at `path`, or `MISSING`."""
        return get_value(self.value, path)

    def set(self, path: Sequence[str], key: str, value: Any) -> str:
        """The text with `key` set to `value` in the object (table) at `path`, created as needed."""
        return _applied(self.text, self.set_splice(path, key, value))

    def remove(self, path: Sequence[str], key: str) -> str:
        """The text without `key` in the object (table) at `path`; unchanged when there is none."""
        return _applied(self.text, self.remove_splice(path, key))


@dataclass
class Member:
    """One `"key": value` of an object: where its key and its value are in the text, and the value parsed."""

    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int
    value: Any


_M = TypeVar("_M", bound=Member)


def last_member(members: Iterable[_M], key: str) -> _M | None:
    """The last member named `key`: the one `JSON.parse` and `json.loads` keep when a key repeats."""
    found = None
    for member in members:
        if member.key == key:
            found = member
    return found


@dataclass(frozen=True)
class _Object:
    start: int  # index of "{"
    close: int  # index of "}"
    depth: int  # 0 for the top-level object
    members: tuple[Member, ...]

    def last(self, key: str) -> Member | None:
        return last_member(self.members, key)


def _skip_ws(text: str, index: int) -> int:
    match = _WS.match(text, index)
    return match.end() if match else index


def _expect(text: str, index: int, chars: str, what: str) -> str:
    if index >= len(text) or text[index] not in chars:
        raise json.JSONDecodeError(f"Expecting {what}", text, index)
    return text[index]


def _walk_object(text: str, start: int, depth: int) -> _Object:
    """The members of the object whose "{" is at `start`, each value parsed (C speed)."""
    _expect(text, start, "{", "'{'")
    members: list[Member] = []
    index = _skip_ws(text, start + 1)
    if _expect(text, index, '"}', "property name enclosed in double quotes or '}'") == "}":
        return _Object(start, index, depth, ())
    while True:
        member = _member_at(text, index)
        members.append(member)
        after = _skip_ws(text, member.value_end)
        if _expect(text, after, ",}", "',' delimiter or '}'") == "}":
            return _Object(start, after, depth, tuple(members))
        index = _skip_ws(text, after + 1)


def _member_at(text: str, index: int) -> Member:
    """The member whose key starts at `index`, its value parsed."""
    _expect(text, index, '"', "property name enclosed in double quotes")
    key, key_end = scanstring(text, index + 1)
    colon = _skip_ws(text, key_end)
    _expect(text, colon, ":", "':' delimiter")
    value_start = _skip_ws(text, colon + 1)
    value, value_end = _DECODER.raw_decode(text, value_start)
    return Member(key, index, key_end, value_start, value_end, value)


def _top(text: str) -> _Object:
    """Walk the top-level object; this parses the whole text, so it validates it too.

    (The cyclic collector is left on: turning it off during the parse saved nothing measurable, 68 ms with
    and 65 ms without for a 10.8 MB file, and nothing in the CLI's enable; bench/bench_registration.py.)"""
    try:
        # A UTF-8 byte order mark (some Windows editors write one) is read past, as Claude Code does, and kept.
        start = _skip_ws(text, 1 if text.startswith(_BOM) else 0)
        if start >= len(text) or text[start] != "{":
            raise DocumentError("the file must hold a JSON object ({ ... })", *_line_col(text, start))
        top = _walk_object(text, start, 0)
        end = _skip_ws(text, top.close + 1)
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
    except json.JSONDecodeError as exc:
        raise DocumentError(exc.msg, exc.lineno, exc.colno) from exc
    except RecursionError as exc:
        raise DocumentError("the JSON is nested too deeply to read") from exc
    return top


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


class Document(SplicingDocument):
    """A JSON object document: its text, parsed once, with the positions needed to splice edits into it."""

    def __init__(self, text: str) -> None:
        """Parse `text`.

        Raises:
            DocumentError: not JSON, or not an object; carries the line and column.
        """
        self.text = text
        self._top = _top(text)
        self.value: dict[str, Any] = {m.key: m.value for m in self._top.members}

    def set_splice(self, path: Sequence[str], key: str, value: Any) -> Splice | None:
        """`set` as the span it changes; None when the member already has exactly that value."""
        return _set(self.text, self._top, path, key, value)

    def remove_splice(self, path: Sequence[str], key: str) -> Splice | None:
        """`remove` as the span it changes; None when there is no such member."""
        return _remove(self.text, self._top, path, key)


def _applied(text: str, splice: Splice | None) -> str:
    return text if splice is None else splice.apply(text)


def parse_document(text: str) -> dict[str, Any]:
    """Parse a whole document that must be a JSON object.

    Raises:
        DocumentError: not JSON, or not an object; carries the line and column.
    """
    return Document(text).value


MISSING: Any = object()


def json_type(value: Any) -> str:
    """What `value` is, in JSON's words (for messages): "an object", "an array", "a string", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int in Python
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names = {dict: "an object", list: "an array", str: "a string"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "a value")


def get_value(document: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at `path` in a parsed document, or `MISSING` when a key is absent or a parent is not an object."""
    node: Any = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def _indent_unit(text: str, top: _Object) -> str | None:
    """The file's indentation unit, or None for a file written on one line."""
    if not top.members:
        return _DEFAULT_INDENT
    gap = text[top.start + 1 : top.members[0].key_start]
    if "\n" not in gap:
        return None
    return gap[gap.rfind("\n") + 1 :] or _DEFAULT_INDENT


def _newline(text: str, top: _Object) -> str:
    """The file's line ending: what we insert ends its lines the same way (a CRLF file stays CRLF)."""
    gap = text[top.start + 1 : top.members[0].key_start] if top.members else text
    return "\r\n" if "\r\n" in gap else "\n"


def _render(value: Any, unit: str | None, depth: int, separator: str = ": ", newline: str = "\n") -> str:
    """A value serialized to sit at `depth` (the depth of the object holding it, plus one)."""
    if unit is None:
        compact = (",", ":") if separator == ":" else (", ", ": ")
        return json.dumps(value, ensure_ascii=False, separators=compact)
    try:
        rendered = json.dumps(value, indent=unit, ensure_ascii=False)
    except UnicodeEncodeError:  # pragma: no cover - lone surrogates cannot be written raw
        rendered = json.dumps(value, indent=unit)
    return rendered.replace("\n", newline + unit * depth)


def _key_separator(text: str, top: _Object) -> str:
    if top.members:
        first = top.members[0]
        return text[first.key_end : first.value_start]
    return ": "


def _same(a: Any, b: Any) -> bool:
    # `1 == 1.0 == True` in Python; JSON spellings must match too.
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def _insert(text: str, obj: _Object, key: str, value: Any, unit: str | None, separator: str, newline: str) -> Splice:
    member_depth = obj.depth + 1
    member = json.dumps(key, ensure_ascii=False) + separator + _render(value, unit, member_depth, separator, newline)
    if obj.members:
        first_gap = text[obj.start + 1 : obj.members[0].key_start]
        last = obj.members[-1]
        return Splice(last.value_end, last.value_end, "".join((",", first_gap, member)))
    if unit is None:
        return Splice(obj.start + 1, obj.close, member)
    return Splice(obj.start + 1, obj.close, "".join((newline, unit * member_depth, member, newline, unit * obj.depth)))


def _descend(text: str, top: _Object, path: Sequence[str]) -> tuple[_Object, list[_Object]]:
    """Walk to the object at `path`, or as deep as it exists; returns the deepest object and the chain."""
    obj = top
    chain = [obj]
    for key in path:
        member = obj.last(key)
        if member is None:
            break
        if not isinstance(member.value, dict):
            where = " > ".join(path[: len(chain)])
            raise DocumentError(
                f'"{where}" should be a JSON object but is {json_type(member.value)}',
                *_line_col(text, member.value_start),
            )
        obj = _walk_object(text, member.value_start, obj.depth + 1)
        chain.append(obj)
    return obj, chain


def set_member(text: str, path: Sequence[str], key: str, value: Any) -> str:
    """Set `key` to `value` in the object at `path` (created as needed), leaving every other byte as it was.

    Returns the text unchanged when the member already has exactly that value.

    Raises:
        DocumentError: the text is not a JSON object, or an object on `path` is another type.
    """
    return _applied(text, _set(text, _top(text), path, key, value))


def _set(text: str, top: _Object, path: Sequence[str], key: str, value: Any) -> Splice | None:
    obj, chain = _descend(text, top, path)
    unit = _indent_unit(text, top)
    separator = _key_separator(text, top)
    newline = _newline(text, top)
    existing_depth = len(chain) - 1
    if existing_depth < len(path):
        nested: Any = {key: value}
        for name in reversed(path[existing_depth + 1 :]):
            nested = {name: nested}
        return _insert(text, obj, path[existing_depth], nested, unit, separator, newline)
    member = obj.last(key)
    if member is None:
        return _insert(text, obj, key, value, unit, separator, newline)
    if _same(member.value, value):
        return None
    return Splice(member.value_start, member.value_end, _render(value, unit, obj.depth + 1, separator, newline))


def remove_member(text: str, path: Sequence[str], key: str) -> str:
    """Remove every `key` member from the object at `path`; the text is unchanged when there is none.

    Raises:
        DocumentError: the text is not a JSON object, or an object on `path` is another type.
    """
    return _applied(text, _remove(text, _top(text), path, key))


def _remove(text: str, top: _Object, path: Sequence[str], key: str) -> Splice | None:
    original = text
    while True:
        obj, chain = _descend(text, top, path)
        if len(chain) - 1 < len(path):
            return None
        index = next((i for i in range(len(obj.members) - 1, -1, -1) if obj.members[i].key == key), None)
        if index is None:
            return None
        members = obj.members
        if len(members) == 1:
            splice = Splice(obj.start + 1, obj.close, "")
        elif index == len(members) - 1:
            splice = Splice(members[index - 1].value_end, members[index].value_end, "")
        else:
            splice = Splice(members[index].key_start, members[index + 1].key_start, "")
        if text is original and sum(1 for m in members if m.key == key) == 1:
            return splice
        # Duplicate keys (rare): remove them one by one, and describe the result as one whole-text splice.
        text = splice.apply(text)
        if sum(1 for m in members if m.key == key) == 1:
            return Splice(0, len(original), text)
        top = _top(text)


def render_document(document: dict[str, Any], indent: str = _DEFAULT_INDENT) -> str:
    """A whole new document, as Claude Code writes one (two-space indentation, raw Unicode)."""
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"
