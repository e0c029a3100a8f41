"""The JSONC core: parsing with comments and trailing commas, and splicing one member in and out while every
other byte (comments, blank lines, indentation, trailing-comma style) stays as it was."""

from __future__ import annotations

import json
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.tray.configfile.jsonc_document import MISSING, Document, DocumentError

ENTRY = {"type": "stdio", "command": "/opt/venv/bin/python", "args": ["-I", "-m", "srv"], "env": {"A": "1"}}


# An independent reader for the checks: comments out, trailing commas out, then the json module. --------------
def tokens(text: str) -> tuple[list[str], str]:
    """The comments of a JSONC text, and the text as strict JSON (comments blanked, trailing commas dropped)."""
    comments: list[str] = []
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            _, end = scanstring(text, index + 1, True)
            out.append(text[index:end])
            index = end
        elif text.startswith("//", index):
            end = index
            while end < len(text) and text[end] not in "\r\n":
                end += 1
            comments.append(text[index:end])
            out.append(" ")
            index = end
        elif text.startswith("/*", index):
            end = text.index("*/", index + 2) + 2
            comments.append(text[index:end])
            out.append(" ")
            index = end
        else:
            out.append(char)
            index += 1
    strict = "".join(out)
    result: list[str] = []
    index = 0
    while index < len(strict):  # a comma followed only by white space and a closing bracket goes
        char = strict[index]
        if char == '"':
            _, end = scanstring(strict, index + 1, True)
            result.append(strict[index:end])
            index = end
            continue
        if char == ",":
            ahead = index + 1
            while ahead < len(strict) and strict[ahead] in " \t\r\n":
                ahead += 1
            if ahead < len(strict) and strict[ahead] in "}]":
                index += 1
                continue
        result.append(char)
        index += 1
    return comments, "".join(result)


def strict_value(text: str) -> Any:
    return json.loads(tokens(text)[1].removeprefix("\ufeff"))


def ordered(value: Any) -> str:
    """A spelling that tells key order and JSON types apart."""
    return json.dumps(value, ensure_ascii=False)


# Arbitrary documents -------------------------------------------------------------------------------------------
keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3), max_leaves=10
)
COMMENTS = ["// c", '// }, "x": 1, /*', "/* c */", "/* a\n  b */", "/**/", "/* // */"]
gap_pieces = st.sampled_from(
    [" ", "  ", "\t", "\n", "\r\n", "\n\n", *[c + ("\n" if c[1] == "/" else "") for c in COMMENTS]]
)
gaps = st.lists(gap_pieces, max_size=3).map("".join)
# `{` + white space with one line break + `}` is the one interior that does not come back (see the module).
empty_insides = gaps.filter(lambda g: not (g.strip() == "" and g.count("\n") == 1))


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=bool(hash(str(value)) & 1))


def render_loose(draw: Any, value: Any) -> str:
    """Any spacing and comments between any tokens, trailing commas here and there."""
    if isinstance(value, (dict, list)):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if not value:
            return opening + draw(empty_insides) + closing
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        parts = []
        for k, v in items:
            head = "" if k is None else dump(k) + draw(gaps) + ":" + draw(gaps)
            parts.append(draw(gaps) + head + render_loose(draw, v) + draw(gaps))
        trailing = "," + draw(gaps) if draw(st.booleans()) else ""
        return opening + ",".join(parts) + trailing + closing
    return dump(value)


def render_pretty(draw: Any, value: Any, unit: str, newline: str, indent: str = "") -> str:
    """The way people and editors write settings: a member per line, comment lines above some, a comment at
    the end of some lines, trailing commas in some objects."""
    if isinstance(value, dict) and value:
        inner = indent + unit
        trailing = draw(st.booleans())
        lines = ["{"]
        for number, (k, v) in enumerate(value.items()):
            if draw(st.booleans()):
                lines.append(inner + draw(st.sampled_from(["// about it", "/* about it */", ""])))
            comma = "," if number < len(value) - 1 or trailing else ""
            note = draw(st.sampled_from(["", "", " // note", " /* note */"]))
            lines.append(inner + dump(k) + ": " + render_pretty(draw, v, unit, newline, inner) + comma + note)
        lines.append(indent + "}")
        return newline.join(lines)
    if isinstance(value, dict):
        return "{" + draw(st.sampled_from(["", " // none yet" + newline + indent, newline + newline + indent])) + "}"
    return dump(value)


@st.composite
def documents(draw: Any) -> tuple[str, dict[str, Any]]:
    value = draw(st.dictionaries(keys, values, max_size=4))
    if draw(st.booleans()):
        body = render_loose(draw, value)
    else:
        unit = draw(st.sampled_from(["  ", "    ", "\t"]))
        newline = draw(st.sampled_from(["\n", "\r\n"]))
        body = render_pretty(draw, value, unit, newline)
    head = draw(st.sampled_from(["", "\ufeff", "// settings\n", "/* x */ "]))
    return head + body + draw(gaps), value


def object_paths(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):
                found.extend(object_paths(v, (*path, k)))
    return found


def at(value: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        value = value[k]
    return value


def fresh_key(obj: dict[str, Any]) -> str:
    key = "ollama"
    while key in obj:
        key += "_"
    return key


# Properties ----------------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_any_jsonc_document_parses_to_its_value_in_order(doc: tuple[str, dict[str, Any]]) -> None:
    text, value = doc
    assert ordered(Document(text).value) == ordered(value)
    assert ordered(strict_value(text)) == ordered(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_adding_a_member_keeps_everything_else_and_removing_it_gives_back_the_very_text(
    doc: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    text, value = doc
    path = data.draw(st.sampled_from(object_paths(value)))
    key = fresh_key(at(value, path))
    entry = data.draw(st.sampled_from([ENTRY, {}, [], 1, "x"]) | values)
    document = Document(text)

    added = document.set(path, key, entry)

    expected = json.loads(ordered(value))
    at(expected, path)[key] = entry
    assert ordered(Document(added).value) == ordered(expected)
    assert ordered(strict_value(added)) == ordered(expected)  # valid to a reader that is not ours
    assert tokens(added)[0] == tokens(text)[0]  # every comment, in order
    assert Document(added).remove(path, key) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_a_missing_parent_object_is_created_and_the_rest_is_kept(
    doc: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    text, value = doc
    path = data.draw(st.sampled_from(object_paths(value)))
    parent = fresh_key(at(value, path)) + "Servers"

    added = Document(text).set((*path, parent), "ollama", ENTRY)

    expected = json.loads(ordered(value))
    at(expected, path)[parent] = {"ollama": ENTRY}
    assert ordered(strict_value(added)) == ordered(expected)
    assert tokens(added)[0] == tokens(text)[0]
    removed = Document(added).remove((*path, parent), "ollama")
    at(expected, path)[parent] = {}
    assert ordered(strict_value(removed)) == ordered(expected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_removing_any_member_leaves_the_others_in_order_and_a_valid_document(
    doc: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    text, value = doc
    paths = [p for p in object_paths(value) if at(value, p)]
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    key = data.draw(st.sampled_from(list(at(value, path))))

    removed = Document(text).remove(path, key)

    expected = json.loads(ordered(value))
    del at(expected, path)[key]
    assert ordered(strict_value(removed)) == ordered(expected)
    assert ordered(Document(removed).value) == ordered(expected)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_replacing_a_value_changes_only_that_value(doc: tuple[str, dict[str, Any]], data: st.DataObject) -> None:
    text, value = doc
    paths = [p for p in object_paths(value) if at(value, p)]
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    key = data.draw(st.sampled_from(list(at(value, path))))
    document = Document(text)
    replaced = document.set(path, key, ENTRY)

    expected = json.loads(ordered(value))
    at(expected, path)[key] = ENTRY
    assert ordered(strict_value(replaced)) == ordered(expected)
    splice = document.set_splice(path, key, ENTRY)
    if splice is not None:  # the replaced span is the old value's: every byte before and after it stays
        old = at(value, path)[key]
        assert strict_value(text[: splice.start] + dump(old) + text[splice.end :]) is not None
        assert replaced[: splice.start] == text[: splice.start]
        assert replaced[len(replaced) - (len(text) - splice.end) :] == text[splice.end :]


# Examples: what users' files look like -------------------------------------------------------------------------
VSCODE = """{
\t// My MCP servers
\t"inputs": [],
\t"servers": {
\t\t/* the GitHub one */
\t\t"github": {
\t\t\t"type": "http",
\t\t\t"url": "https://example.invalid/mcp/", // hosted
\t\t},
\t},
}
"""


def test_an_entry_goes_in_with_the_files_tabs_and_trailing_commas_and_comes_out_cleanly() -> None:
    added = Document(VSCODE).set(("servers",), "ollama", {"type": "stdio", "command": "x", "args": []})
    assert added == VSCODE.replace(
        "\t\t},\n\t},",
        '\t\t},\n\t\t"ollama": {\n\t\t\t"type": "stdio",\n\t\t\t"command": "x",\n\t\t\t"args": [],\n\t\t},\n\t},',
    )
    assert Document(added).remove(("servers",), "ollama") == VSCODE


def test_the_comma_moves_before_a_comment_that_ends_the_last_line() -> None:
    text = '{\n  "a": 1, // one\n  "b": 2 // two\n}\n'
    added = Document(text).set((), "c", 3)
    assert added == '{\n  "a": 1, // one\n  "b": 2, // two\n  "c": 3\n}\n'
    assert Document(added).remove((), "c") == text
    # A comment the user wrote on a removed member's line is theirs: it stays, on a line of its own.
    assert Document(text).remove((), "b") == '{\n  "a": 1 // one\n  // two\n}\n'


def test_a_missing_servers_object_is_created_indented_like_its_siblings() -> None:
    text = '{\n    "theme": "dark"\n}\n'
    added = Document(text).set(("mcpServers",), "ollama", {"command": "x"})
    assert added == (
        '{\n    "theme": "dark",\n    "mcpServers": {\n        "ollama": {\n'
        '            "command": "x"\n        }\n    }\n}\n'
    )


def test_an_empty_servers_object_gets_the_standard_shape_and_collapses_back() -> None:
    text = '{\n  "mcpServers": {}\n}\n'
    added = Document(text).set(("mcpServers",), "ollama", 1)
    assert added == '{\n  "mcpServers": {\n    "ollama": 1\n  }\n}\n'
    assert Document(added).remove(("mcpServers",), "ollama") == text


def test_crlf_files_get_crlf_lines() -> None:
    text = '{\r\n  "a": 1\r\n}\r\n'
    added = Document(text).set((), "b", {"c": [1]})
    assert "\n" not in added.replace("\r\n", "")
    assert Document(added).remove((), "b") == text


def test_a_one_line_file_stays_on_one_line() -> None:
    text = '{"a": 1, /* keep */ "b": 2}'
    added = Document(text).set((), "c", {"d": [1, 2]})
    assert added == '{"a": 1, /* keep */ "b": 2, "c": {"d": [1, 2]}}'
    assert Document(added).remove((), "c") == text


def test_duplicate_keys_read_as_the_last_and_all_go_on_removal() -> None:
    text = '{\n  "a": 1,\n  "a": 2, // dup\n  "b": 3\n}'
    document = Document(text)
    assert document.value == {"a": 2, "b": 3}
    removed = document.remove((), "a")
    assert strict_value(removed) == {"b": 3}
    assert tokens(removed)[0] == ["// dup"]


def test_setting_the_same_value_is_no_change_and_removing_nothing_is_none() -> None:
    document = Document('{"a": {"b": 1}}')
    assert document.set_splice(("a",), "b", 1) is None
    assert document.remove_splice(("a",), "zz") is None
    assert document.remove_splice(("nope",), "b") is None
    assert document.get(("a", "b")) == 1
    assert document.get(("a", "zz")) is MISSING


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("{'a': 1}", 1, 2, "double quotes"),
        ("{\n  a: 1\n}", 2, 3, "double quotes"),
        ("{\"a\": 'x'}", 1, 7, "single quotes"),
        ('{"a": NaN}', 1, 7, "expected a value"),
        ('{\n  "a": 1 /* open', 2, 10, "never closed"),
        ("[1]", 1, 1, "JSON object"),
        ("", 1, 1, "JSON object"),
        ("// only a comment\n", 2, 1, "JSON object"),
        ('{"a": 1,,}', 1, 9, "double quotes"),
        ('{"a" 1}', 1, 6, "':'"),
        ('{"a": 1 "b": 2}', 1, 9, "','"),
        ('{"a": [1 2]}', 1, 10, "','"),
        ('{"a": [,]}', 1, 8, "expected a value"),
        ('{"a": 01}', 1, 8, "','"),
        ('{"a": 1}\n}', 2, 1, "after the closing"),
        ('{"a": "\x01"}', 1, 8, "control"),
        ('{"a": 1', 1, 8, "','"),
    ],
)
def test_what_is_not_jsonc_is_refused_with_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        Document(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words.lower() in str(caught.value).lower()


def test_a_path_through_a_non_object_is_refused_with_its_position() -> None:
    document = Document('{\n  "servers": []\n}')
    with pytest.raises(DocumentError) as caught:
        document.set(("servers",), "ollama", 1)
    assert (caught.value.line, caught.value.column) == (2, 14)
    assert "servers" in str(caught.value)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(DocumentError):
        Document('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_a_new_document_is_written_over_several_lines_and_collapses_back() -> None:
    added = Document("{}").set(("mcp",), "ollama", {"type": "local"})
    assert added == '{\n  "mcp": {\n    "ollama": {\n      "type": "local"\n    }\n  }\n}'
    assert Document(Document(added).remove(("mcp",), "ollama")).remove((), "mcp") == "{}"
