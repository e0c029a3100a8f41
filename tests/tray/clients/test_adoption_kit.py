"""The adoption kit's pieces: installed and removed idempotently, marked as ours, a foreign file or hook left
alone, and the user's other settings kept."""

from __future__ import annotations

import json
import stat

import pytest

from ollama_mcp_tray.tray.clients.adoption_kit import Kit, KitPaths, NotOurs, Piece
from ollama_mcp_tray.tray.configfile.errors import ConfigFileRefused
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor

PYTHON = "/opt/py/bin/python"


@pytest.fixture
def kit(tmp_path) -> Kit:
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l")
    return Kit(editor, KitPaths(tmp_path / ".claude"), "ollama", PYTHON)


def test_every_piece_installs_once_reports_itself_and_removes_cleanly(kit: Kit):
    for piece in Piece:
        assert kit.install(piece) and not kit.install(piece)
    assert kit.status() == {p.value: True for p in Piece}
    skill = kit.paths.skill.read_text(encoding="utf-8")
    assert skill.startswith("---\nname: ollama-local\ndescription: ") and "mcp__ollama__ollama_digest_log" in skill
    assert stat.S_IMODE(kit.paths.skill.parent.stat().st_mode) == 0o700
    hooks = json.loads(kit.paths.settings.read_text(encoding="utf-8"))["hooks"]
    assert hooks["PostToolUse"] == [
        {
            "matcher": "Bash",
            "hooks": [
                {"type": "command", "command": f"{PYTHON} -I -m ollama_mcp_tray.server.hook_bash", "timeout": 120}
            ],
        }
    ]
    assert "hook_prompt" in hooks["UserPromptSubmit"][0]["hooks"][0]["command"]
    for piece in Piece:
        assert kit.remove(piece) and not kit.remove(piece)
    assert kit.status() == {p.value: False for p in Piece}
    assert not kit.paths.skill.parent.exists() and not kit.paths.agent.exists()
    assert json.loads(kit.paths.settings.read_text(encoding="utf-8")) == {}


def test_the_users_own_hooks_and_settings_stay_as_they_were(kit: Kit):
    theirs = (
        '{\n    "model": "opus",\n    "hooks": {\n        "PostToolUse": [\n            {"matcher": "Edit", "hooks": '
        '[{"type": "command", "command": "prettier --write"}]}\n        ]\n    }\n}\n'
    )
    kit.paths.settings.parent.mkdir(parents=True)
    kit.paths.settings.write_text(theirs, encoding="utf-8")
    assert kit.install(Piece.BASH_HOOK)
    document = json.loads(kit.paths.settings.read_text(encoding="utf-8"))
    assert document["model"] == "opus"
    assert [g["matcher"] for g in document["hooks"]["PostToolUse"]] == ["Edit", "Bash"]
    assert kit.install(Piece.PROMPT_HOOK) and kit.remove(Piece.PROMPT_HOOK) and kit.remove(Piece.BASH_HOOK)
    after = kit.paths.settings.read_text(encoding="utf-8")
    # The event's array is rewritten whole (our renderer's layout); everything outside it keeps its bytes.
    assert json.loads(after) == json.loads(theirs)
    assert after.startswith('{\n    "model": "opus",\n    "hooks": {\n        "PostToolUse": [')


def test_a_foreign_skill_file_is_never_overwritten_nor_removed(kit: Kit):
    kit.paths.skill.parent.mkdir(parents=True)
    kit.paths.skill.write_text("---\nname: ollama-local\n---\nmine\n", encoding="utf-8")
    with pytest.raises(NotOurs, match="was not written by Ollama MCP Tray"):
        kit.install(Piece.SKILL)
    assert not kit.remove(Piece.SKILL)
    assert kit.paths.skill.read_text(encoding="utf-8").endswith("mine\n")


def test_a_settings_file_that_does_not_parse_is_refused_untouched(kit: Kit):
    kit.paths.settings.parent.mkdir(parents=True)
    kit.paths.settings.write_text('{"hooks": [', encoding="utf-8")
    with pytest.raises(ConfigFileRefused):
        kit.install(Piece.BASH_HOOK)
    assert kit.paths.settings.read_text(encoding="utf-8") == '{"hooks": ['
