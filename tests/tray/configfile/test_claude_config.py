"""The pure core: splicing one member in and out of a JSON object keeps every other byte."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.tray.configfile.json_document import (
    MISSING,
    Document,
    DocumentError,
    get_value,
    parse_document,
    remove_member,
    set_member,
)

ENTRY = {"type": "stdio", "command": "/usr/bin/python3", "args": ["-m", "ollama_mcp_tray.server"], "env": {}}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


@st.composite
def claude_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Documents shaped like ~/.claude.json: arbitrary keys, maybe mcpServers and projects, never our name."""
    doc: dict[str, Any] = draw(objects)
    for reserved in ("mcpServers", "projects"):
        doc.pop(reserved, None)
    if draw(st.booleans()):
        doc["mcpServers"] = draw(
            st.dictionaries(st.text(max_size=8).filter(lambda k: k != "ollama"), json_values, max_size=3)
        )
    if draw(st.booleans()):
        projects: dict[str, Any] = {}
        for key in draw(st.lists(st.text(min_size=1, max_size=10), max_size=3, unique=True)):
            project = draw(objects)
            if draw(st.booleans()):
                project["mcpServers"] = draw(st.dictionaries(st.text(max_size=5), json_values, max_size=2))
                project["mcpServers"].pop("ollama", None)
            else:
                project.pop("mcpServers", None)
            projects[key] = project
        doc["projects"] = projects
    return doc


styles = st.sampled_from(
    [
        lambda d: json.dumps(d, indent=2, ensure_ascii=False),
        lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n",
        lambda d: json.dumps(d),
        lambda d: json.dumps(d, separators=(",", ":")),
        lambda d: json.dumps(d, indent="\t"),
        lambda d: json.dumps(d, indent=4, ensure_ascii=False),
    ]
)


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def with_containers(doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """`doc` with the (empty) objects along `path` that setting a member there creates."""
    expected = json.loads(json.dumps(doc))
    node = expected
    for key in path:
        node = node.setdefault(key, {})
    return expected


def paths_in(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("mcpServers",)]
    projects = doc.get("projects")
    if isinstance(projects, dict):
        paths += [("projects", key, "mcpServers") for key in projects]
    paths.append(("projects", "/new/project", "mcpServers"))
    return paths


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=claude_documents(), style=styles, data=st.data())
def test_set_then_remove_keeps_every_other_key_its_order_and_value(doc, style, data):
    path = data.draw(st.sampled_from(paths_in(doc)))
    text = style(doc)
    added = set_member(text, path, "ollama", ENTRY)
    assert get_value(parse_document(added), (*path, "ollama")) == ENTRY
    removed = remove_member(added, path, "ollama")
    assert canonical(parse_document(removed)) == canonical(with_containers(doc, path))
    if get_value(doc, path) is not MISSING:
        assert removed == text


@settings(max_examples=100, deadline=None)
@given(doc=claude_documents(), style=styles)
def test_set_is_idempotent_and_changes_only_the_member(doc, style):
    text = style(doc)
    once = set_member(text, ("mcpServers",), "ollama", ENTRY)
    assert set_member(once, ("mcpServers",), "ollama", ENTRY) == once
    after = parse_document(once)
    servers = after.pop("mcpServers")
    before_servers = doc.pop("mcpServers", {})
    assert canonical(after) == canonical(doc)
    assert list(servers) == [*before_servers, "ollama"]


def test_inserted_member_follows_two_space_indentation_like_claude_code():
    text = '{\n  "numStartups": 3,\n  "mcpServers": {}\n}\n'
    assert set_member(text, ("mcpServers",), "ollama", {"command": "/x", "args": ["serve"]}) == (
        '{\n  "numStartups": 3,\n  "mcpServers": {\n    "ollama": {\n      "command": "/x",\n'
        '      "args": [\n        "serve"\n      ]\n    }\n  }\n}\n'
    )


def test_a_missing_project_and_its_servers_are_created_in_one_splice():
    text = '{\n  "projects": {\n    "/a": {\n      "allowedTools": []\n    }\n  }\n}'
    result = set_member(text, ("projects", "/b", "mcpServers"), "ollama", {"x": 1})
    assert parse_document(result)["projects"] == {
        "/a": {"allowedTools": []},
        "/b": {"mcpServers": {"ollama": {"x": 1}}},
    }
    assert result.startswith('{\n  "projects": {\n    "/a": {\n      "allowedTools": []\n    },\n    "/b": {\n')


def test_number_spellings_and_escapes_elsewhere_survive_byte_for_byte():
    text = '{"a": 1.50, "b": 1E+2, "c": "\\u00e9\\/", "mcpServers": {"other": {"n": 2.0}}}'
    result = remove_member(set_member(text, ("mcpServers",), "ollama", ENTRY), ("mcpServers",), "ollama")
    assert result == text


def test_removing_the_only_member_leaves_an_empty_object():
    text = '{\n  "mcpServers": {\n    "ollama": {}\n  }\n}'
    assert remove_member(text, ("mcpServers",), "ollama") == '{\n  "mcpServers": {}\n}'


def test_removing_a_first_or_middle_member_takes_its_comma_along():
    text = '{"mcpServers": {"ollama": 1, "b": 2, "c": 3}}'
    assert remove_member(text, ("mcpServers",), "ollama") == '{"mcpServers": {"b": 2, "c": 3}}'
    assert remove_member(text, ("mcpServers",), "b") == '{"mcpServers": {"ollama": 1, "c": 3}}'


def test_duplicate_keys_resolve_to_the_last_and_removal_removes_them_all():
    text = '{"mcpServers": {"ollama": 1, "x": 0, "ollama": 2}}'
    assert get_value(parse_document(text), ("mcpServers", "ollama")) == 2
    assert parse_document(set_member(text, ("mcpServers",), "ollama", 3))["mcpServers"] == {"ollama": 3, "x": 0}
    assert remove_member(text, ("mcpServers",), "ollama") == '{"mcpServers": {"x": 0}}'


def test_removing_from_a_path_that_does_not_exist_changes_nothing():
    text = '{"projects": {}}'
    assert remove_member(text, ("projects", "/p", "mcpServers"), "ollama") == text


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "a": 1,\n}', 3, 1),
        ('{"a": 1} trailing', 1, 10),
        ("[1, 2]", 1, 1),
        ("", 1, 1),
        ('{"a": tru}', 1, 7),
    ],
)
def test_a_text_that_is_not_a_json_object_is_refused_with_its_line_and_column(text, line, column):
    with pytest.raises(DocumentError) as caught:
        set_member(text, ("mcpServers",), "ollama", ENTRY)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_a_container_of_the_wrong_type_is_refused_not_replaced():
    with pytest.raises(DocumentError, match="mcpServers"):
        set_member('{"mcpServers": []}', ("mcpServers",), "ollama", ENTRY)
    with pytest.raises(DocumentError, match="projects > /p"):
        set_member('{"projects": {"/p": null}}', ("projects", "/p", "mcpServers"), "ollama", ENTRY)


def test_a_document_parses_once_and_edits_from_its_positions():
    doc = Document('{"mcpServers": {"ollama": {"command": "/old"}}}')
    assert doc.get(("mcpServers", "ollama", "command")) == "/old"
    assert doc.get(("nope",)) is MISSING
    assert json.loads(doc.set(("mcpServers",), "ollama", {"command": "/new"})) == {
        "mcpServers": {"ollama": {"command": "/new"}}
    }
    assert doc.remove(("mcpServers",), "ollama") == '{"mcpServers": {}}'


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ('{"mcpServers": null}', "but is null"),
        ('{"mcpServers": "x"}', "but is a string"),
        ('{"mcpServers": [1]}', "but is an array"),
        ('{"mcpServers": 2}', "but is a number"),
        ('{"mcpServers": true}', "but is a boolean"),
    ],
)
def test_a_wrong_type_is_named_in_jsons_words_not_pythons(document, said):
    with pytest.raises(DocumentError) as caught:
        set_member(document, ("mcpServers",), "ollama", ENTRY)
    assert said in str(caught.value)
    assert re.search(r"\b(NoneType|str|list|dict|int|float|bool)\b", str(caught.value)) is None


def test_a_file_starting_with_a_byte_order_mark_is_read_and_keeps_it():
    text = '\ufeff{\n  "numStartups": 3\n}\n'
    assert Document(text).value == {"numStartups": 3}
    edited = set_member(text, ("mcpServers",), "ollama", ENTRY)
    assert edited.startswith('\ufeff{\n  "numStartups": 3,\n  "mcpServers": {')
    assert json.loads(edited[1:])["mcpServers"]["ollama"] == ENTRY
    assert remove_member(edited, (), "mcpServers") == text


@pytest.mark.parametrize(
    "text",
    [
        '{\r\n  "numStartups": 3\r\n}\r\n',
        '{\r\n  "mcpServers": {}\r\n}\r\n',
        '{\r\n  "projects": {\r\n    "/p": {\r\n      "allowedTools": []\r\n    }\r\n  }\r\n}\r\n',
    ],
)
def test_what_we_insert_into_a_crlf_file_ends_its_lines_with_crlf_too(text):
    edited = set_member(text, ("mcpServers",), "ollama", ENTRY)
    edited = set_member(edited, ("projects", "/p", "mcpServers"), "ollama", ENTRY)
    assert edited.count("\n") == edited.count("\r\n")
    assert json.loads(edited)["mcpServers"]["ollama"] == ENTRY
    assert remove_member(remove_member(edited, ("projects", "/p", "mcpServers"), "ollama"), ("mcpServers",), "ollama")
