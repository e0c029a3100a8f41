"""Splice edits of one element of a JSON array inside an object document: remove it, or append one.

`json_document` edits object members; a settings file also holds arrays the user owns (Claude Code's hook
lists), where one element is ours. Rewriting the whole array would re-render the user's elements in our
layout, so these edits cut or add exactly one element: every byte outside it stays as it was.

An array is reached by a path of object keys and array indexes, e.g. `("hooks", "PostToolUse", 2, "hooks")`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .json_document import _DECODER, DocumentError, Splice, _expect, _skip_ws, _walk_object, parse_document

Step = str | int


@dataclass(frozen=True)
class _Element:
    start: int
    end: int
    value: Any


@dataclass(frozen=True)
class _Array:
    start: int  # index of "["
    close: int  # index of "]"
    elements: tuple[_Element, ...]


def _walk_array(text: str, start: int) -> _Array:
    _expect(text, start, "[", "'['")
    elements: list[_Element] = []
    index = _skip_ws(text, start + 1)
    if index < len(text) and text[index] == "]":
        return _Array(start, index, ())
    while True:
        value, end = _DECODER.raw_decode(text, index)
        elements.append(_Element(index, end, value))
        after = _skip_ws(text, end)
        if _expect(text, after, ",]", "',' delimiter or ']'") == "]":
            return _Array(start, after, tuple(elements))
        index = _skip_ws(text, after + 1)


def _value_start(text: str, path: Sequence[Step]) -> int:
    """Where the value at `path` starts in `text` (a JSON object document)."""
    index = _skip_ws(text, 0)
    for depth, step in enumerate(path):
        if isinstance(step, str):
            obj = _walk_object(text, index, depth)
            member = obj.last(step)
            if member is None:
                raise DocumentError(f"no member {step!r} on the path {list(path)}")
            index = member.value_start
        else:
            array = _walk_array(text, index)
            if not 0 <= step < len(array.elements):
                raise DocumentError(f"no element {step} on the path {list(path)}")
            index = array.elements[step].start
    return index


def _array_at(text: str, path: Sequence[Step]) -> _Array:
    try:
        return _walk_array(text, _value_start(text, path))
    except json.JSONDecodeError as exc:
        raise DocumentError(f"the value at {list(path)} is not a JSON array we can edit: {exc.msg}") from exc


def remove_element_splice(text: str, path: Sequence[Step], index: int) -> Splice:
    """The splice that removes element `index` of the array at `path`, with the separator that joined it.

    The neighbour's own spacing is kept: removing a middle element cuts from its start to the next one's
    start; removing the last cuts from the previous element's end; removing the only one leaves `[]`.
    """
    array = _array_at(text, path)
    elements = array.elements
    if not 0 <= index < len(elements):
        raise DocumentError(f"no element {index} in the array at {list(path)}")
    if len(elements) == 1:
        return Splice(array.start + 1, array.close, "")
    if index == len(elements) - 1:
        return Splice(elements[index - 1].end, elements[index].end, "")
    return Splice(elements[index].start, elements[index + 1].start, "")


def remove_element(text: str, path: Sequence[Step], index: int) -> str:
    """`text` without element `index` of the array at `path`.

    Raises:
        DocumentError: the path does not lead to an array with that element.
    """
    return remove_element_splice(text, path, index).apply(text)


def append_element(text: str, path: Sequence[Step], value: Any) -> str:
    """`text` with `value` added at the end of the (non-empty) array at `path`, laid out like its last element:
    the same separator and indentation before it, the same indentation unit inside it (one line when the
    array's elements are written on one line).

    Raises:
        DocumentError: the path does not lead to a non-empty array.
    """
    array = _array_at(text, path)
    if not array.elements:
        raise DocumentError(f"the array at {list(path)} is empty: set it whole instead")
    last = array.elements[-1]
    # What goes before ours: "," and the whitespace between two elements (or after "[" when there is one).
    before = array.elements[-2].end if len(array.elements) > 1 else array.start + 1
    gap = ("," if len(array.elements) == 1 else "") + text[before : last.start]
    body = text[last.start : last.end]
    if "\n" in gap and "\n" in body:
        line_indent = gap[gap.rfind("\n") + 1 :]
        newline = "\r\n" if "\r\n" in gap else "\n"
        rendered = json.dumps(value, indent=_unit(body, line_indent), ensure_ascii=False)
        rendered = rendered.replace("\n", newline + line_indent)
    else:  # elements written on one line each (or the whole array on one): ours on one line too
        compact = (",", ":") if body.count(" ") == 0 else (", ", ": ")
        rendered = json.dumps(value, ensure_ascii=False, separators=compact)
    splice = Splice(last.end, last.end, gap + rendered)
    result = splice.apply(text)
    parse_document(result)  # never hand back a text that does not parse
    return result


def _unit(body: str, line_indent: str) -> str:
    """The indentation unit inside an element whose text is `body`: its second line's indent beyond the
    indent of the element's own line."""
    second = body.splitlines()[1]
    inner = second[: len(second) - len(second.lstrip())]
    if inner.startswith(line_indent) and len(inner) > len(line_indent):
        return inner[len(line_indent) :]
    return "  "
