"""The TOML core for Codex's config.toml: our `[mcp_servers.<name>]` table in and out, every comment and the
formatting of everything else kept; checked against the standard library's own TOML reader."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_mcp_tray.tray.configfile.toml_document import MISSING, Document, DocumentError, render_document

tomllib = pytest.importorskip("tomllib")

ENTRY = {
    "command": "/opt/venv/bin/python",
    "args": ["-I", "-m", "ollama_mcp_tray.server"],
    "env": {"OLLAMA_URL": "http://127.0.0.1:11434"},
    "env_vars": ["OLLAMA_API_KEY"],
    "startup_timeout_sec": 30,
    "enabled": True,
}
SERVERS = ("mcp_servers",)


def ordered(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


# Arbitrary TOML documents, written line by line as people write them -------------------------------------------
bare_keys = st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True)
any_keys = bare_keys | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=5)
scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
)
arrays = st.lists(scalars, max_size=3)
values = scalars | arrays | st.lists(arrays, max_size=2) | st.dictionaries(bare_keys, scalars | arrays, max_size=2)


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def comment(self) -> str:
        self.n += 1
        return f"# c{self.n}"


def key_text(key: str) -> str:
    return tomlkit.key(key).as_string()


def value_text(value: Any) -> str:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return tomlkit.item(value).as_string()


@st.composite
def key_values(draw: Any, comments: Counter) -> tuple[list[str], dict[str, Any]]:
    found: dict[str, Any] = {}
    lines: list[str] = []
    for key in draw(st.lists(any_keys, max_size=3, unique=True)):
        value = draw(values)
        found[key] = value
        indent = draw(st.sampled_from(["", "", "  "]))
        if draw(st.booleans()):
            lines.append(indent + comments.comment() + " about it")
        if isinstance(value, list) and value and not any(isinstance(v, dict) for v in value) and draw(st.booleans()):
            items = [f"  {value_text(v)},{' ' + comments.comment() if draw(st.booleans()) else ''}" for v in value]
            lines.append(f"{indent}{key_text(key)} = [")
            lines.extend(items)
            lines.append("]")
        else:
            note = "  " + comments.comment() if draw(st.booleans()) else ""
            lines.append(f"{indent}{key_text(key)} = {value_text(value)}{note}")
        if draw(st.integers(0, 3)) == 0:
            lines.append("")
    if draw(st.integers(0, 4)) == 0:
        # A multi-line string holding a line that looks like our header: the line scanner must not be fooled.
        found["trap"] = "[mcp_servers.ollama]\n"
        lines.append('trap = """')
        lines.append('[mcp_servers.ollama]\n"""')
    return lines, found


TABLE_NAMES = [("profiles", "fast"), ("projects", "/home/u/p"), ("tui",), ("mcp_servers", "other"), ("mcp_servers",)]


@st.composite
def documents(draw: Any) -> tuple[str, dict[str, Any], int]:
    comments = Counter()
    lines: list[str] = []
    if draw(st.booleans()):
        lines += [comments.comment() + " Codex settings", ""]
    root_lines, value = draw(key_values(comments))
    lines += root_lines
    names = draw(st.lists(st.sampled_from(TABLE_NAMES), unique=True, max_size=4))
    if ("mcp_servers",) in names and ("mcp_servers", "other") in names:
        names.remove(("mcp_servers",))  # keep the order valid: `[a]` after `[a.b]` is fine, the reverse too
    for name in names:
        if name[0] in value:
            continue
        if draw(st.booleans()):
            lines.append("")
        if draw(st.booleans()):
            lines.append(comments.comment() + " above the table")
        header = "[" + ".".join(key_text(part) for part in name) + "]"
        lines.append(header + ("  " + comments.comment() if draw(st.booleans()) else ""))
        body, table = draw(key_values(comments))
        lines += body
        node = value
        for part in name:
            node = node.setdefault(part, {})
        node.update(table)
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "\n", "\n\n", ""]))
    return text, value, comments.n


def comments_of(text: str, count: int) -> list[int]:
    return [text.count(f"# c{n} ") + text.count(f"# c{n}\n") + text.endswith(f"# c{n}") for n in range(1, count + 1)]


def servers_value(value: dict[str, Any]) -> dict[str, Any]:
    servers = value.get("mcp_servers")
    return dict(servers) if isinstance(servers, dict) else {}


# Properties ----------------------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_the_generated_documents_are_toml_with_the_value_they_were_made_from(
    doc: tuple[str, dict[str, Any], int],
) -> None:
    text, value, _ = doc
    assert tomllib.loads(text) == value
    assert Document(text).value == tomllib.loads(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_adding_our_table_keeps_every_comment_and_value_and_removing_it_gives_back_the_text(
    doc: tuple[str, dict[str, Any], int],
) -> None:
    text, _, count = doc
    before = tomllib.loads(text)

    added = Document(text).set(SERVERS, "ollama", ENTRY)

    after = tomllib.loads(added)  # valid to a reader that is not tomlkit
    assert after["mcp_servers"]["ollama"] == ENTRY
    assert after == before | {"mcp_servers": servers_value(before) | {"ollama": ENTRY}}
    assert comments_of(added, count) == comments_of(text, count)
    removed = Document(added).remove(SERVERS, "ollama")
    # Byte for byte; a file that did not end with a line break gains one (see the module).
    assert removed == text or (removed == text + "\n" and not text.endswith("\n"))
    assert tomllib.loads(removed) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), data=st.data())
def test_replacing_our_table_changes_only_its_lines(doc: tuple[str, dict[str, Any], int], data: st.DataObject) -> None:
    text, _, count = doc
    added = Document(text).set(SERVERS, "ollama", ENTRY)
    changed = {**ENTRY, "enabled": False, "tool_timeout_sec": data.draw(st.integers(1, 600))}

    replaced = Document(added).set(SERVERS, "ollama", changed)

    assert tomllib.loads(replaced) == tomllib.loads(added) | {
        "mcp_servers": servers_value(tomllib.loads(added)) | {"ollama": changed}
    }
    assert comments_of(replaced, count) == comments_of(text, count)
    assert Document(replaced).remove(SERVERS, "ollama").rstrip("\n") == text.rstrip("\n")


# Examples ------------------------------------------------------------------------------------------------------
CODEX = """# Codex settings
model = "gpt-5"  # the default model
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]  # pinned by npx
env = { DOCS_TOKEN = "x" }

# Trusted projects
[projects."/home/u/code"]
trust_level = "trusted"
"""


def test_our_table_goes_at_the_end_after_a_blank_line_and_comes_out_exactly() -> None:
    added = Document(CODEX).set(SERVERS, "ollama", {"command": "/x", "args": [], "enabled": True})
    assert added == CODEX + '\n[mcp_servers.ollama]\ncommand = "/x"\nargs = []\nenabled = true\n'
    assert Document(added).remove(SERVERS, "ollama") == CODEX


def test_removing_a_table_in_the_middle_keeps_the_comment_of_the_next_table() -> None:
    removed = Document(CODEX).remove(SERVERS, "docs")
    assert removed == CODEX.replace(
        '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs-mcp"]  # pinned by npx\n'
        'env = { DOCS_TOKEN = "x" }\n\n',
        "",
    )
    assert "# Trusted projects" in removed


def test_replacing_a_table_in_the_middle_rewrites_only_its_lines() -> None:
    replaced = Document(CODEX).set(SERVERS, "docs", {"command": "uvx"})
    assert replaced == CODEX.replace(
        'command = "npx"\nargs = ["-y", "docs-mcp"]  # pinned by npx\nenv = { DOCS_TOKEN = "x" }\n', 'command = "uvx"\n'
    )


def test_an_entry_inside_an_inline_servers_table_is_edited_through_tomlkit() -> None:
    text = 'mcp_servers = { other = { command = "x" } }  # inline\n'
    added = Document(text).set(SERVERS, "ollama", {"command": "/x"})
    assert tomllib.loads(added) == {"mcp_servers": {"other": {"command": "x"}, "ollama": {"command": "/x"}}}
    assert "# inline" in added
    assert Document(added).remove(SERVERS, "ollama") == text


def test_a_header_inside_a_multiline_string_is_not_taken_for_ours() -> None:
    text = 'note = """\n[mcp_servers.ollama]\n"""\n'
    added = Document(text).set(SERVERS, "ollama", {"command": "/x"})
    assert tomllib.loads(added) == {"note": "[mcp_servers.ollama]\n", "mcp_servers": {"ollama": {"command": "/x"}}}
    assert Document(added).remove(SERVERS, "ollama") == text


def test_same_value_is_no_change_and_missing_is_no_removal() -> None:
    document = Document('[mcp_servers.ollama]\ncommand = "/x"\n')
    assert document.set_splice(SERVERS, "ollama", {"command": "/x"}) is None
    assert document.remove_splice(SERVERS, "nope") is None
    assert document.remove_splice(("other",), "ollama") is None
    assert document.get((*SERVERS, "ollama", "command")) == "/x"
    assert document.get((*SERVERS, "zz")) is MISSING


def test_an_empty_file_gets_just_our_table() -> None:
    assert Document("").set(SERVERS, "ollama", {"command": "/x"}) == '[mcp_servers.ollama]\ncommand = "/x"\n'
    assert Document('[mcp_servers.ollama]\ncommand = "/x"\n').remove(SERVERS, "ollama") == ""


def test_a_new_document_renders_tables_with_inline_env() -> None:
    text = render_document({"mcp_servers": {"ollama": {"command": "/x", "env": {"A": "1"}}}})
    assert tomllib.loads(text) == {"mcp_servers": {"ollama": {"command": "/x", "env": {"A": "1"}}}}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("a = ?\n", 1, 5), ("a = 1\na = 2\n", 2, 1), ("[a]\nx = 1\n[a]\n", 3, 1), ("a = 1\nb = 2 3\n", 2, 7)],
)
def test_what_is_not_toml_is_refused_with_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(DocumentError) as caught:
        Document(text)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_servers_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(DocumentError, match="mcp_servers"):
        Document('mcp_servers = "no"\n').set(SERVERS, "ollama", {"command": "/x"})


@pytest.mark.parametrize("blank", ["", "\n", "\n\n", "  \n"])
def test_a_blank_file_gets_our_table_after_its_blank_lines_and_gets_them_back(blank: str) -> None:
    added = Document(blank).set(SERVERS, "ollama", {"command": "/x"})
    assert added == blank + '[mcp_servers.ollama]\ncommand = "/x"\n'
    assert Document(added).remove(SERVERS, "ollama") == blank
