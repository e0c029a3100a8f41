"""The pure core of editing Codex's `config.toml`: read, set and remove one table (`[mcp_servers.<name>]`), with
the same `Document` API as `json_document`, keeping every comment and the formatting of everything else.

Codex's own `codex mcp add` rewrites the whole file and drops its comments. Here the file is parsed with the
format-preserving `tomlkit` (which also checks it, with line and column), and a table is added as a splice of
lines: our block goes at the end of the file after a blank line, and removing it takes out exactly those lines
again, so set then remove gives back the very text (a file that did not end with a line break gains one).
Replacing our table rewrites its lines only. The comment lines right above the next table belong to that table
and stay. Every splice is checked by parsing the result and comparing the whole value with what the edit
should give; where a line splice cannot do it (our entry written as an inline table, or as dotted keys), the
edit goes through tomlkit's own document model, which keeps comments too.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import InlineTable, Table

from .json_document import MISSING, DocumentError, Splice, SplicingDocument

__all__ = ["MISSING", "Document", "DocumentError", "Splice", "parse_document", "render_document"]

# A line that may be a table header (`[a.b]`, not `[[a]]`); confirmed by parsing the line alone.
_HEADER = re.compile(r"^[ \t]*\[(?!\[)[^\n]*$", re.MULTILINE)
_POSITION = re.compile(r" at line \d+ col \d+$")


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        message = _POSITION.sub("", str(exc))
        raise DocumentError(message, exc.line, exc.col + 1) from exc
    except (TOMLKitError, ValueError) as exc:  # tomlkit reports some conflicts without a position
        raise DocumentError(str(exc)) from exc
    except RecursionError as exc:
        raise DocumentError("the TOML is nested too deeply to read") from exc


def _plain(value: Any) -> str:
    """A spelling of a parsed value that tells types apart (1, 1.0 and true differ) and orders keys."""
    return json.dumps(value, sort_keys=False, default=_spell, ensure_ascii=False)


def _spell(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.time)):
        return f"{type(value).__name__}:{value.isoformat()}"
    raise TypeError(f"not a TOML value: {type(value).__name__}")


class Document(SplicingDocument):
    """A TOML document: its text and its value, with edits returned as splices of the text."""

    def __init__(self, text: str) -> None:
        """Parse `text`.

        Raises:
            DocumentError: not TOML; carries the line and column.
        """
        self.text = text
        self._document = _parse(text)
        self.value: dict[str, Any] = self._document.unwrap()

    def set_splice(self, path: Sequence[str], key: str, value: Any) -> Splice | None:
        """`set` as the span it changes; None when the key already has exactly that value.

        Raises:
            DocumentError: a value on `path` is not a table.
        """
        _check_path(self.value, path)
        existing = self.get((*path, key))
        if existing is not MISSING and _plain(existing) == _plain(value):
            return None
        expected = json.loads(_plain(self.value))
        node = expected
        for name in path:
            node = node.setdefault(name, {})
        node[key] = json.loads(_plain(value))
        if path and isinstance(value, dict):
            block = _render_block((*path, key), value)
            if existing is MISSING:
                candidates = [_appended(self.text, block)]
            else:
                candidates = [Splice(start, end, block) for start, end, _ in _table_lines(self.text, (*path, key))]
            for candidate in candidates:
                if _gives(candidate.apply(self.text), expected):
                    return candidate
        return _whole(self.text, self._edited(path, key, value), expected)

    def remove_splice(self, path: Sequence[str], key: str) -> Splice | None:
        """`remove` as the span it changes; None when there is no such key.

        Raises:
            DocumentError: a value on `path` is not a table.
        """
        _check_path(self.value, path)
        if self.get((*path, key)) is MISSING:
            return None
        expected = json.loads(_plain(self.value))
        node = expected
        for name in path:
            node = node[name]
        del node[key]
        for start, _, after in _table_lines(self.text, (*path, key)):
            if after == len(self.text) and self.text.endswith("\n\n", 0, start) and self.text[: start - 1].strip():
                start -= 1  # the blank line that set put before our block at the end of the file
            candidate = Splice(start, after, "")
            if _gives(candidate.apply(self.text), expected):
                return candidate
        return _whole(self.text, self._edited(path, key, MISSING), expected)

    def _edited(self, path: Sequence[str], key: str, value: Any) -> str:
        """The edit through tomlkit's document model: for entries a line splice cannot reach."""
        document = _parse(self.text)
        container: Any = document
        for name in path:
            if name not in container:
                container.add(name, tomlkit.table(is_super_table=True))
            container = container[name]
        if value is MISSING:
            del container[key]
            if path and not container and isinstance(container, Table) and container.is_super_table():
                parent: Any = document
                for name in path[:-1]:
                    parent = parent[name]
                del parent[path[-1]]
        else:
            inline = isinstance(container, InlineTable)
            container[key] = _item(value, inline=inline)
        return document.as_string()


def _check_path(value: dict[str, Any], path: Sequence[str]) -> None:
    node: Any = value
    for depth, name in enumerate(path):
        if name not in node:
            return
        node = node[name]
        if not isinstance(node, dict):
            where = ".".join(path[: depth + 1])
            raise DocumentError(f'"{where}" should be a table but is {type(node).__name__}')


def _gives(text: str, expected: Any) -> bool:
    """Whether `text` is TOML whose value is `expected`, allowing a table left empty to be gone."""
    try:
        value = tomlkit.parse(text).unwrap()
    except (TOMLKitError, ValueError, RecursionError):
        return False
    return _plain(value) == _plain(expected) or _plain(value) == _plain(_without_empty_tables(expected, value))


def _without_empty_tables(expected: Any, actual: Any) -> Any:
    """`expected` less the empty tables that `actual` does not have."""
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return expected
    return {
        k: _without_empty_tables(v, actual[k]) if k in actual else v
        for k, v in expected.items()
        if k in actual or v != {}
    }


def _whole(text: str, edited: str, expected: Any) -> Splice:
    if not _gives(edited, expected):  # pragma: no cover - tomlkit's own edit is the last resort
        raise DocumentError("the TOML file could not be edited without changing other values")
    return Splice(0, len(text), edited)


def _item(value: Any, *, inline: bool) -> Any:
    """A tomlkit item for `value`: a table (its own tables inline), or an inline table inside an inline one."""
    if isinstance(value, dict):
        if inline:
            table: Any = tomlkit.inline_table()
            for k, v in value.items():
                table[k] = _item(v, inline=True)
            return table
        table = tomlkit.table()
        for k, v in value.items():
            table.add(k, _item(v, inline=True))
        return table
    return value


def _render_block(path: Sequence[str], value: dict[str, Any]) -> str:
    """`[a.b.key]` and its lines, as tomlkit writes them."""
    document = tomlkit.document()
    container: Any = document
    for name in path[:-1]:
        container.add(name, tomlkit.table(is_super_table=True))
        container = container[name]
    container.add(path[-1], _item(value, inline=False))
    return document.as_string()


def _appended(text: str, block: str) -> Splice:
    if not text.strip():  # nothing but blank lines: our block after them, no separator
        return Splice(len(text), len(text), block)
    separator = "\n" if text.endswith("\n") else "\n\n"
    return Splice(len(text), len(text), separator + block)


def _header_path(line: str) -> tuple[str, ...] | None:
    try:
        value: Any = tomlkit.parse(line.strip() + "\n").unwrap()
    except (TOMLKitError, ValueError):
        return None
    path: list[str] = []
    while isinstance(value, dict) and len(value) == 1:
        name, value = next(iter(value.items()))
        path.append(name)
    return tuple(path) if value == {} else None


def _table_lines(text: str, path: tuple[str, ...]) -> Iterator[tuple[int, int, int]]:
    """Where the table `[path]` (with its sub-tables) may be written: its header's line start, the end of its
    last line of content, and the start of what follows (the comment lines above the next table, or that
    table's header, or the end of the file). A line inside a multi-line string can look like a header too: the
    caller keeps the candidate whose splice gives the expected value."""
    found_at = ((m.start(), _header_path(m.group(0))) for m in _HEADER.finditer(text))
    headers = [(start, found) for start, found in found_at if found is not None]
    for number, (start, found) in enumerate(headers):
        if found != path:
            continue
        following = next((s for s, p in headers[number + 1 :] if p[: len(path)] != path), len(text))
        lines = text[start:following].splitlines(keepends=True)
        # The comment lines right above the next header (no blank line between) are that table's.
        while following < len(text) and lines and lines[-1].lstrip().startswith("#"):
            following -= len(lines.pop())
        end = following
        while lines and not lines[-1].strip():
            end -= len(lines.pop())
        yield start, end, following


def parse_document(text: str) -> dict[str, Any]:
    """Parse a whole TOML document.

    Raises:
        DocumentError: not TOML; carries the line and column.
    """
    return Document(text).value


def render_document(document: dict[str, Any]) -> str:
    """A whole new TOML document (tables as headers, their own tables inline)."""
    result = tomlkit.document()
    for key, value in document.items():
        result.add(key, _item(value, inline=False) if isinstance(value, dict) else value)
    return result.as_string()
