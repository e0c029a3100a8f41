"""The pure core of editing JSON-with-comments files (VS Code, opencode, Gemini CLI, Qwen Code): read, set and
remove one member at a key path, with the same `Document` API as `json_document`.

JSONC is JSON plus `//` and `/* */` comments and trailing commas, nothing else: single quotes, unquoted keys,
NaN and the like are refused, with the line and column, as the clients' own parsers refuse them.

Edits are splices into the original text. Everything outside the member we add or remove keeps its bytes:
comments, blank lines, indentation, line endings, and the trailing-comma style. A member goes after the last one
of its object, on its own line indented like its siblings (or inline, in an object written on one line), with a
trailing comma when the object ends its last member with one. Removing a member is the exact inverse of adding
it: set then remove gives back the original text. (One exception: an empty object holding nothing but white
space with one line break comes back as `{}`, since adding into `{}` makes the very same text.) A comment on the
line of a member we remove stays. No library on PyPI does position-preserving JSONC edits well (json5,
commentjson, jsonc-parser only parse; jsonc-edit is a young native binding), hence this scanner.

Duplicate keys resolve as in `JSON.parse`: the last one wins; removal removes all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from .json_document import MISSING, DocumentError, Member, Splice, SplicingDocument, last_member

__all__ = ["MISSING", "Document", "DocumentError", "Splice", "parse_document", "render_document"]

# White space and comments between tokens. A block comment that never ends is caught after the match.
_GAP = re.compile(r"(?:[ \t\n\r]+|//[^\n\r]*|/\*.*?\*/)*", re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_BLANK = re.compile(r"[ \t]*")
_REST_OF_LINE = re.compile(r"[^\n\r]*")
_LITERALS = {"true": True, "false": False, "null": None}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)
_DEFAULT_INDENT = "  "
_BOM = "\ufeff"


@dataclass
class _Member(Member):
    comma: int | None = None  # index of the comma after the value, if any
    node: _Object | None = None  # the value's own positions, when it is an object (walked on first use)


@dataclass
class _Object:
    start: int  # index of "{"
    close: int = -1  # index of "}"
    members: list[_Member] = field(default_factory=list)

    def last(self, key: str) -> _Member | None:
        return last_member(self.members, key)


def _end_of(pattern: re.Pattern[str], text: str, index: int) -> int:
    """Where a match of `pattern` (one that also matches the empty string) starting at `index` ends."""
    match = pattern.match(text, index)
    return index if match is None else match.end()


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


class _Parser:
    """A recursive-descent reader of one JSONC text that keeps the positions of every object member."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.trailing_commas = False  # the text ends some multi-element object or array with a comma

    def fail(self, message: str, index: int) -> DocumentError:
        return DocumentError(message, *_line_col(self.text, index))

    def gap(self, index: int) -> int:
        end = _end_of(_GAP, self.text, index)
        if self.text.startswith("/*", end):
            raise self.fail("a /* comment is never closed", end)
        return end

    def describe(self, index: int) -> str:
        if index >= len(self.text):
            return "the end of the file"
        return f"{self.text[index]!r}"

    def document(self) -> _Object:
        start = self.gap(1 if self.text.startswith(_BOM) else 0)
        if start >= len(self.text) or self.text[start] != "{":
            raise self.fail("the file must hold a JSON object ({ ... })", start)
        top, end = self.object(start)
        end = self.gap(end)
        if end != len(self.text):
            raise self.fail(f"unexpected {self.describe(end)} after the closing '}}'", end)
        return top

    def value(self, index: int) -> tuple[Any, int, _Object | None]:
        text = self.text
        char = text[index] if index < len(text) else ""
        if char in "{[":
            # Most of a file has no comment in it: the json module's C scanner reads such a value fast. The
            # positions inside a nested object are walked later, only for an object on the path of an edit.
            try:
                value, end = _STRICT.raw_decode(text, index)
            except (ValueError, RecursionError):
                pass  # comments, trailing commas, or an error: read it here, which also names the error
            else:
                return value, end, None
        if char == "{":
            node, end = self.object(index)
            return {m.key: m.value for m in node.members}, end, node
        if char == "[":
            items, end = self.array(index)
            return items, end, None
        if char == '"':
            value, end = self.string(index)
            return value, end, None
        number = _NUMBER.match(text, index)
        if number:
            spelled = number.group(0)
            is_float = number.group(1) is not None or number.group(2) is not None
            return (float(spelled) if is_float else int(spelled)), number.end(), None
        for word, literal in _LITERALS.items():
            if text.startswith(word, index):
                return literal, index + len(word), None
        if char == "'":
            raise self.fail("strings must be in double quotes (JSON with comments has no single quotes)", index)
        raise self.fail(f"expected a value but found {self.describe(index)}", index)

    def string(self, index: int) -> tuple[str, int]:
        try:
            value, end = scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg, exc.pos) from exc
        return value, end

    def object(self, start: int) -> tuple[_Object, int]:
        text = self.text
        node = _Object(start)
        index = self.gap(start + 1)
        while True:
            if index < len(text) and text[index] == "}":
                node.close = index
                return node, index + 1
            if index >= len(text) or text[index] != '"':
                if node.members and node.members[-1].comma is None:
                    raise self.fail(f"expected ',' or '}}' but found {self.describe(index)}", index)
                what = "property names must be in double quotes" if index < len(text) else "expected '}'"
                raise self.fail(f"{what} (found {self.describe(index)})", index)
            key, key_end = self.string(index)
            colon = self.gap(key_end)
            if colon >= len(text) or text[colon] != ":":
                raise self.fail(f"expected ':' but found {self.describe(colon)}", colon)
            value_start = self.gap(colon + 1)
            value, value_end, child = self.value(value_start)
            member = _Member(key, index, key_end, value_start, value_end, value, node=child)
            node.members.append(member)
            index = self.gap(value_end)
            if index < len(text) and text[index] == ",":
                member.comma = index
                index = self.gap(index + 1)
                if index < len(text) and text[index] == "}":
                    self.trailing_commas = True
            elif index >= len(text) or text[index] != "}":
                raise self.fail(f"expected ',' or '}}' but found {self.describe(index)}", index)

    def array(self, start: int) -> tuple[list[Any], int]:
        text = self.text
        items: list[Any] = []
        index = self.gap(start + 1)
        expecting_value = True
        while True:
            if index < len(text) and text[index] == "]":
                return items, index + 1
            if not expecting_value:
                raise self.fail(f"expected ',' or ']' but found {self.describe(index)}", index)
            value, end, _ = self.value(index)
            items.append(value)
            index = self.gap(end)
            if index < len(text) and text[index] == ",":
                index = self.gap(index + 1)
                if index < len(text) and text[index] == "]":
                    self.trailing_commas = True
            else:
                expecting_value = False


def _parse(text: str) -> tuple[_Object, bool]:
    parser = _Parser(text)
    try:
        return parser.document(), parser.trailing_commas
    except RecursionError as exc:
        raise DocumentError("the JSON is nested too deeply to read") from exc


class Document(SplicingDocument):
    """A JSONC object document: its text, parsed once, with the positions needed to splice edits into it."""

    def __init__(self, text: str) -> None:
        """Parse `text`.

        Raises:
            DocumentError: not JSON with comments, or not an object; carries the line and column.
        """
        self.text = text
        self._top, self._trailing = _parse(text)
        self.value: dict[str, Any] = {m.key: m.value for m in self._top.members}

    def set_splice(self, path: Sequence[str], key: str, value: Any) -> Splice | None:
        """`set` as the span it changes; None when the member already has exactly that value.

        Raises:
            DocumentError: an object on `path` is another type.
        """
        obj, existing = _descend(self.text, self._top, path)
        style = _Style.of(self.text, self._top, self._trailing)
        if existing < len(path):
            nested: Any = {key: value}
            for name in reversed(path[existing + 1 :]):
                nested = {name: nested}
            return _insert(self.text, obj, path[existing], nested, style)
        member = obj.last(key)
        if member is None:
            return _insert(self.text, obj, key, value, style)
        if _same(member.value, value):
            return None
        multiline = _starts_line(self.text, member.key_start)
        indent = _line_indent(self.text, member.key_start)
        return Splice(member.value_start, member.value_end, style.render(value, indent, multiline))

    def remove_splice(self, path: Sequence[str], key: str) -> Splice | None:
        """`remove` as the span it changes; None when there is no such member.

        Raises:
            DocumentError: an object on `path` is another type.
        """
        text, top = self.text, self._top
        while True:
            obj, existing = _descend(text, top, path)
            if existing < len(path):
                break
            index = next((i for i in range(len(obj.members) - 1, -1, -1) if obj.members[i].key == key), None)
            if index is None:
                break
            text = _remove(text, obj, index).apply(text)
            top, _ = _parse(text)
        if text is self.text:
            return None
        return _narrowest(self.text, text)


def _narrowest(before: str, after: str) -> Splice:
    """The one span that turns `before` into `after` (common prefix and suffix left out)."""
    limit = min(len(before), len(after))
    start = 0
    while start < limit and before[start] == after[start]:
        start += 1
    end = 0
    while end < limit - start and before[-1 - end] == after[-1 - end]:
        end += 1
    return Splice(start, len(before) - end, after[start : len(after) - end])


def _descend(text: str, top: _Object, path: Sequence[str]) -> tuple[_Object, int]:
    """The object at `path`, or the deepest that exists, and how many keys of `path` exist."""
    obj = top
    for depth, key in enumerate(path):
        member = obj.last(key)
        if member is None:
            return obj, depth
        if member.node is None and isinstance(member.value, dict):
            member.node = _Parser(text).object(member.value_start)[0]  # read fast before: walked now
        if member.node is None:
            where = " > ".join(path[: depth + 1])
            raise DocumentError(
                f'"{where}" should be a JSON object but is {type(member.value).__name__}',
                *_line_col(text, member.value_start),
            )
        obj = member.node
    return obj, len(path)


def _same(a: Any, b: Any) -> bool:
    # `1 == 1.0 == True` in Python; JSON spellings must match too.
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _starts_line(text: str, index: int) -> bool:
    """Whether only blanks stand between the start of `index`'s line and `index`."""
    start = _line_start(text, index)
    return start > 0 and _after_blanks(text, start) == index


def _line_indent(text: str, index: int) -> str:
    start = _line_start(text, index)
    return text[start : _after_blanks(text, start)]


def _after_blanks(text: str, index: int) -> int:
    return _end_of(_BLANK, text, index)


def _newline_at(text: str, index: int) -> int:
    """The length of the line break at `index` (0 when there is none)."""
    if text.startswith("\r\n", index):
        return 2
    return 1 if index < len(text) and text[index] in "\n\r" else 0


def _line_end_after(text: str, index: int) -> int | None:
    """Where the line break is that ends the line at `index`, when only blanks and one-line comments come
    before it; else None (another token, or a comment spanning lines, follows on that line)."""
    while True:
        index = _after_blanks(text, index)
        if _newline_at(text, index):
            return index
        if text.startswith("//", index):
            stop = _end_of(_REST_OF_LINE, text, index)
            return stop if _newline_at(text, stop) else None
        if text.startswith("/*", index):
            close = text.find("*/", index + 2)
            if close < 0 or "\n" in text[index:close] or "\r" in text[index:close]:
                return None
            index = close + 2
            continue
        return None


@dataclass(frozen=True)
class _Style:
    """How the file writes what we add: indentation unit, line break, key separator, trailing commas."""

    unit: str
    newline: str
    separator: str  # between a key and its value
    trailing: bool
    multiline: bool  # the document spans lines (or is empty): new members of an empty object go on their own lines

    @classmethod
    def of(cls, text: str, top: _Object, trailing: bool) -> _Style:
        unit = _DEFAULT_INDENT
        for member in top.members[:1]:
            if _starts_line(text, member.key_start) and _line_indent(text, member.key_start):
                unit = _line_indent(text, member.key_start)
        separator = ": "
        for member in top.members[:1]:
            between = text[member.key_end : member.value_start]
            if between.strip(" \t") == ":":
                separator = between
        newline = "\r\n" if "\r\n" in text else "\n"
        # A document with nothing in it yet (a new file is `{}`) is written the way editors write settings.
        multiline = "\n" in text or "\r" in text or not top.members
        return cls(unit, newline, separator, trailing, multiline)

    def render(self, value: Any, indent: str, multiline: bool) -> str:
        """`value` as JSON for a member whose line is indented by `indent`."""
        if isinstance(value, (dict, list)) and value:
            opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
            if isinstance(value, dict):
                items = [
                    json.dumps(k, ensure_ascii=False) + self.separator + self.render(v, indent + self.unit, multiline)
                    for k, v in value.items()
                ]
            else:
                items = [self.render(v, indent + self.unit, multiline) for v in value]
            if not multiline:
                comma = "," if self.separator == ":" else ", "
                return opening + comma.join(items) + closing
            inner = self.newline + indent + self.unit
            tail = "," if self.trailing else ""
            return opening + inner + ("," + inner).join(items) + tail + self.newline + indent + closing
        return json.dumps(value, ensure_ascii=False)


def _insert(text: str, obj: _Object, key: str, value: Any, style: _Style) -> Splice:
    """Add the member `key: value` at the end of `obj`."""

    def member(indent: str, multiline: bool) -> str:
        return json.dumps(key, ensure_ascii=False) + style.separator + style.render(value, indent, multiline)

    if not obj.members:
        return _insert_into_empty(text, obj, member, style)
    last = obj.members[-1]
    line_end = _line_end_after(text, last.value_end if last.comma is None else last.comma + 1)
    if _starts_line(text, last.key_start) and line_end is not None:
        # On its own line after the last member's line (and after any comment that ends that line).
        indent = _line_indent(text, last.key_start)
        after = line_end + _newline_at(text, line_end)
        newline = text[line_end:after]
        line = indent + member(indent, True) + ("," if last.comma is not None else "") + newline
        if last.comma is not None:
            return Splice(after, after, line)
        return Splice(last.value_end, after, "," + text[last.value_end : after] + line)
    # The object is written on one line (or ends on its last member's line): inline, after the last member.
    separator = _inline_separator(text, obj, style)
    indent = _line_indent(text, last.key_start)
    if last.comma is not None:
        return Splice(last.comma + 1, last.comma + 1, separator + member(indent, False) + ",")
    return Splice(last.value_end, last.value_end, "," + separator + member(indent, False))


def _inline_separator(text: str, obj: _Object, style: _Style) -> str:
    """What stands between a comma and the next key in an object written on one line."""
    if len(obj.members) >= 2:
        before = obj.members[-2].comma
        assert before is not None
        gap = text[before + 1 : obj.members[-1].key_start]
        if gap.strip(" \t") == "":
            return gap
    return "" if style.separator == ":" else " "


def _insert_into_empty(text: str, obj: _Object, member: Any, style: _Style) -> Splice:
    inside = text[obj.start + 1 : obj.close]
    tail = "," if style.trailing else ""
    if "\n" in inside and _starts_line(text, obj.close):
        # The closing brace on a line of its own: a line of ours just above it, after whatever is inside.
        line = _line_start(text, obj.close)
        inner = _line_indent(text, obj.close) + style.unit
        return Splice(line, line, inner + member(inner, True) + tail + style.newline)
    if inside == "" and style.multiline:
        indent = _line_indent(text, obj.start)
        inner = indent + style.unit
        return Splice(
            obj.start + 1,
            obj.close,
            style.newline + inner + member(inner, True) + tail + style.newline + indent,
        )
    # An object written on one line: `{ }` becomes `{ "key": value }`, `{/* c */}` `{/* c */"key": value}`.
    blank = inside if inside.strip(" \t") == "" else ""
    return Splice(obj.close, obj.close, member("", False) + blank)


def _remove(text: str, obj: _Object, index: int) -> Splice:
    """The splice that takes member `index` out of `obj`; the inverse of `_insert` for what it adds."""
    members = obj.members
    target = members[index]
    previous = _comma_of(members[index - 1]) if index > 0 else None  # the comma ending the member before
    end = target.value_end if target.comma is None else target.comma + 1
    line_end = _line_end_after(text, end) if _starts_line(text, target.key_start) else None
    if line_end is not None:  # the member has its line to itself (up to a comment, maybe)
        rest_of_line = _after_blanks(text, end)
        if rest_of_line == line_end:
            line = _line_start(text, target.key_start)
            after = line_end + _newline_at(text, line_end)
            inside = text[obj.start + 1 : target.key_start], text[end : obj.close]
            if previous is None and len(members) == 1 and all(_one_break_blank(gap) for gap in inside):
                return Splice(obj.start + 1, obj.close, "")  # the shape adding into `{}` makes
            if target.comma is not None or previous is None:
                return Splice(line, after, "")
            return Splice(previous, after, text[previous + 1 : line])
        # A comment of the user's follows on our line: it stays, on a line of its own.
        if target.comma is not None or previous is None:
            return Splice(target.key_start, rest_of_line, "")
        return Splice(previous, rest_of_line, text[previous + 1 : target.key_start])
    if target.comma is not None:
        if previous is not None and text[previous + 1 : target.key_start].strip(" \t") == "":
            return Splice(previous + 1, end, "")
        return Splice(target.key_start, _after_blanks(text, end), "")
    if previous is None:
        before, rest = text[obj.start + 1 : target.key_start], text[end : obj.close]
        if before == rest and before.strip(" \t") == "":
            return Splice(target.key_start, obj.close, "")
        return Splice(target.key_start, end, "")
    between = text[previous + 1 : target.key_start]
    if between.strip(" \t\r\n") == "":
        return Splice(previous, end, "")
    return Splice(previous, end, between)


def _comma_of(member: _Member) -> int:
    # A member that another one follows always has its comma.
    assert member.comma is not None
    return member.comma


def _one_break_blank(gap: str) -> bool:
    return gap.strip(" \t\r\n") == "" and gap.count("\n") == 1


def parse_document(text: str) -> dict[str, Any]:
    """Parse a whole document that must be a JSONC object.

    Raises:
        DocumentError: not JSON with comments, or not an object; carries the line and column.
    """
    return Document(text).value


def render_document(document: dict[str, Any], indent: str = _DEFAULT_INDENT) -> str:
    """A whole new document (two-space indentation, raw Unicode, no trailing commas)."""
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"
