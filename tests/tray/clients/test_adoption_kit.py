"""The adoption kit's pieces: installed and removed idempotently, marked as ours, a foreign file or hook left
alone, and the user's other settings kept."""

from __future__ import annotations

import json
import stat

import pytest

from ollama_mcp_tray.tray.clients.adoption_kit import Kit, KitPaths, NotOurs, Piece
from ollama_mcp_tray.tray.configfile.errors import ConfigFileRefused
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor
from ollama_mcp_tray.tray.launch import SERVER_MODULE, ServerLaunch

PYTHON = "/opt/py/bin/python"
ISOLATED = ServerLaunch(PYTHON, ("-I", "-m", SERVER_MODULE))


@pytest.fixture
def kit(tmp_path) -> Kit:
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l")
    return Kit(editor, KitPaths(tmp_path / ".claude"), "ollama", ISOLATED)


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
    assert kit.paths.settings.read_text(encoding="utf-8") == theirs  # byte for byte


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


# A user's settings with hooks of their own in both events, in their own layout: 4-space indents, a group on
# one line, a comment-free but unusual spacing, and keys after "hooks".
THEIRS = """{
    "model": "opus",
    "hooks": {
        "UserPromptSubmit": [
            { "hooks": [ { "type": "command", "command": "~/bin/remind.sh" } ] }
        ],
        "PostToolUse": [
            {"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]},
            {
                "matcher": "Write",
                "hooks": [
                    {
                        "type": "command",
                        "command": "ruff format"
                    }
                ]
            }
        ]
    },
    "theme": "dark"
}
"""


def write_settings(kit: Kit, text: str) -> None:
    kit.paths.settings.parent.mkdir(parents=True, exist_ok=True)
    kit.paths.settings.write_text(text, encoding="utf-8")


def settings_text(kit: Kit) -> str:
    return kit.paths.settings.read_text(encoding="utf-8")


def test_installing_appends_our_group_after_the_users_and_removing_cuts_only_it(kit: Kit):
    write_settings(kit, THEIRS)
    assert kit.install(Piece.BASH_HOOK) and kit.install(Piece.PROMPT_HOOK)
    installed = settings_text(kit)
    document = json.loads(installed)
    assert [g.get("matcher") for g in document["hooks"]["PostToolUse"]] == ["Edit", "Write", "Bash"]
    assert document["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"] == "~/bin/remind.sh"
    # The user's groups are untouched, each event's in one piece, and ours follow them in their layout.
    prompt_end = THEIRS.index("] }") + len("] }")
    # Their prompt group is on one line, so ours is too; their Write group is spread out, so ours is too.
    assert installed.startswith(THEIRS[:prompt_end] + ',\n            {"hooks": [{"type": "command", "command": ')
    post_start = THEIRS.index('{"matcher": "Edit"')
    post_end = THEIRS.index("            }\n        ]\n    },") + len("            }")
    assert THEIRS[post_start:post_end] + ',\n            {\n                "matcher": "Bash",\n' in installed
    assert installed.endswith('    "theme": "dark"\n}\n')
    assert not kit.install(Piece.BASH_HOOK) and not kit.install(Piece.PROMPT_HOOK)

    assert kit.remove(Piece.BASH_HOOK)
    after_bash = settings_text(kit)
    assert '"matcher": "Bash"' not in after_bash and "hook_prompt" in after_bash
    assert kit.remove(Piece.PROMPT_HOOK)
    assert settings_text(kit) == THEIRS  # byte for byte: order, spacing and the one-line groups


def test_removing_ours_from_a_group_the_user_shares_with_it_leaves_their_hooks_in_place(kit: Kit):
    ours = f'{{"type": "command", "command": "{PYTHON} -I -m ollama_mcp_tray.server.hook_bash", "timeout": 120}}'
    shared = THEIRS.replace(
        '"hooks": [{"type": "command", "command": "prettier --write"}]}',
        f'"hooks": [{ours}, {{"type": "command", "command": "prettier --write"}}]}}',
    )
    write_settings(kit, shared)
    assert kit.is_installed(Piece.BASH_HOOK)
    assert kit.remove(Piece.BASH_HOOK)
    assert settings_text(kit) == THEIRS


def test_an_older_install_of_ours_is_replaced_in_place_of_a_second_entry(kit: Kit):
    write_settings(kit, THEIRS)
    older = Kit(kit.editor, kit.paths, "ollama", ServerLaunch("/old/venv/bin/python", ("-I", "-m", SERVER_MODULE)))
    assert older.install(Piece.BASH_HOOK)
    assert kit.is_installed(Piece.BASH_HOOK)  # recognised by what it runs, whichever interpreter
    assert kit.install(Piece.BASH_HOOK)
    groups = json.loads(settings_text(kit))["hooks"]["PostToolUse"]
    assert [g["hooks"][0]["command"] for g in groups if g.get("matcher") == "Bash"] == [
        f"{PYTHON} -I -m ollama_mcp_tray.server.hook_bash"
    ]
    assert kit.remove(Piece.BASH_HOOK) and settings_text(kit) == THEIRS


def test_a_one_line_settings_file_gets_our_group_on_one_line_and_back(kit: Kit):
    one_line = '{"hooks":{"PostToolUse":[{"matcher":"Edit","hooks":[{"type":"command","command":"fmt"}]}]}}'
    write_settings(kit, one_line)
    assert kit.install(Piece.BASH_HOOK)
    text = settings_text(kit)
    assert "\n" not in text and text.startswith(one_line[:-3] + ",{")
    assert kit.remove(Piece.BASH_HOOK) and settings_text(kit) == one_line


@pytest.mark.parametrize(
    ("launch", "prompt_command", "bash_command"),
    [
        (
            ISOLATED,
            f"{PYTHON} -I -m ollama_mcp_tray.server.hook_prompt",
            f"{PYTHON} -I -m ollama_mcp_tray.server.hook_bash",
        ),
        (
            ServerLaunch("/opt/Ollama MCP Tray/ollama-mcp-tray", ("serve",)),
            "'/opt/Ollama MCP Tray/ollama-mcp-tray' _hook prompt",
            "'/opt/Ollama MCP Tray/ollama-mcp-tray' _hook bash",
        ),
        (
            ServerLaunch("/home/u/.local/bin/ollama-mcp-server", ()),
            "/home/u/.local/bin/ollama-mcp-hook prompt",
            "/home/u/.local/bin/ollama-mcp-hook bash",
        ),
    ],
    ids=["source", "frozen", "console-script"],
)
def test_the_hook_commands_start_as_the_server_does(tmp_path, launch, prompt_command, bash_command):
    editor = SafeEditor(backups_dir=tmp_path / "b", lock_dir=tmp_path / "l")
    kit = Kit(editor, KitPaths(tmp_path / ".claude"), "ollama", launch)
    assert kit.install(Piece.PROMPT_HOOK) and kit.install(Piece.BASH_HOOK)
    hooks = json.loads(settings_text(kit))["hooks"]
    assert hooks["UserPromptSubmit"][0]["hooks"][0]["command"] == prompt_command
    assert hooks["PostToolUse"][0]["hooks"][0]["command"] == bash_command
    assert kit.status() == {"skill": False, "agent": False, "prompt-hook": True, "bash-hook": True}
    assert kit.remove(Piece.PROMPT_HOOK) and kit.remove(Piece.BASH_HOOK)
    assert json.loads(settings_text(kit)) == {}


def test_a_users_hook_that_merely_mentions_our_words_is_not_taken_for_ours(kit: Kit):
    theirs = THEIRS.replace('"ruff format"', '"echo _hook bash-like; ollama-mcp-hook-wrapper bash"')
    write_settings(kit, theirs)
    assert not kit.is_installed(Piece.BASH_HOOK) and not kit.remove(Piece.BASH_HOOK)
    assert settings_text(kit) == theirs
