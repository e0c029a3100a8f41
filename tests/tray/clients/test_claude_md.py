"""The CLAUDE.md section: added once, refreshed in place, removed leaving the user's text as it was."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ollama_mcp_tray.tray.clients import claude_md
from ollama_mcp_tray.tray.clients.claude_md import BEGIN, END, add_section, remove_section, section
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor

BLOCK = section("ollama", "qwen2.5-coder:3b")
user_texts = st.text(alphabet=st.characters(blacklist_characters="<"), max_size=200).map(
    lambda t: t if not t or t.endswith("\n") else t + "\n"
)


@given(user_texts)
def test_adding_then_removing_gives_back_the_users_file(text):
    added = add_section(text, BLOCK)
    assert BEGIN in added and END in added
    assert remove_section(added) == text


@given(user_texts)
def test_adding_twice_is_the_same_as_adding_once(text):
    once = add_section(text, BLOCK)
    assert add_section(once, BLOCK) == once


def test_a_changed_section_is_replaced_in_place_not_appended_again():
    text = "# Mine\n\n" + add_section("", section("ollama", "old:1b")) + "\n## After\n"
    updated = add_section(text, BLOCK)
    assert updated.count(BEGIN) == 1
    assert "qwen2.5-coder:3b" in updated and "old:1b" not in updated
    assert updated.startswith("# Mine\n\n") and updated.endswith("\n## After\n")


def test_removing_when_absent_changes_nothing():
    assert remove_section("# Mine\n") is None
    assert remove_section(None) is None


def test_install_and_uninstall_edit_the_file_and_report_whether_it_changed(tmp_path):
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l")
    path = tmp_path / ".claude" / "CLAUDE.md"
    path.parent.mkdir()
    path.write_text("# My rules\n- be brief\n", encoding="utf-8")
    assert claude_md.install(editor, path, "ollama", None)
    assert not claude_md.install(editor, path, "ollama", None)
    assert claude_md.is_installed(path)
    assert "mcp__ollama__ollama_summarize_files" in path.read_text(encoding="utf-8")
    assert claude_md.uninstall(editor, path)
    assert path.read_text(encoding="utf-8") == "# My rules\n- be brief\n"
    assert not claude_md.uninstall(editor, path)


def test_the_section_leads_with_the_tools_that_read_material_themselves() -> None:
    # The server's instructions name each tool; the section (in every session's first request) only says
    # when to hand material over, and stays short.
    text = section("ollama", None)
    first_tip = next(line for line in text.splitlines() if "summarize_files" in line)
    assert "mcp__ollama__ollama_summarize_files" in first_tip and "instead of reading them" in first_tip
    for name in ("ask_files", "extract_json", "review_diff", "label_items", "digest_log"):
        assert f"`{name}`" in first_tip
    assert text.index("summarize_files") < text.index("ollama_generate")
