"""The adoption kit: what makes Claude Code reach for the local model without being asked each time.

Pieces (each installed and removed on its own, idempotently, through the careful editor, and marked as ours):
- `skill`: `~/.claude/skills/ollama-local/SKILL.md` (user scope), when and how to delegate;
- `agent`: `~/.claude/agents/ollama-local.md`, a subagent for mechanical local work;
- `prompt-hook`: a `UserPromptSubmit` command hook in `~/.claude/settings.json` (a one-line hint);
- `bash-hook`: a `PostToolUse` command hook on Bash in the same file (very long output -> a local digest).
The CLAUDE.md section is `claude_md.py`'s. Whole files of ours carry MARK in their body; a hook of ours is
recognised by its command (`is_our_hook`), and removing one cuts out exactly our entry. A file at our path
that is not ours is never overwritten.

Facts (Claude Code 2.1.330, read from its binary and checked by tests/test_claude_session.py): skill frontmatter
takes name, description, when_to_use, allowed-tools, ...; subagent frontmatter name, description, tools,
disallowedTools (listed in every session as "(Tools: ...)" / "All tools except ...");
`settings.json` hooks are `{"hooks": {Event: [{"matcher": ..., "hooks": [{"type": "command", ...}]}]}}`.
"""

from __future__ import annotations

import contextlib
import enum
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.paths import make_private_dir

from ..configfile.errors import ConfigFileRefused
from ..configfile.json_array import append_element, remove_element
from ..configfile.json_document import DocumentError, json_type, parse_document, remove_member, set_member
from ..configfile.safe_edit import SafeEditor
from ..launch import HOOK_ARGUMENT, HOOK_MODULES, HOOK_SCRIPT, ServerLaunch, hook_command

NAME = "ollama-local"
MARK = "<!-- ollama-mcp-tray: added by Ollama MCP Tray; `ollama-mcp-tray kit --remove` removes it -->"
BASH_HOOK_TIMEOUT_S = 120


class Piece(enum.Enum):
    SKILL = "skill"
    AGENT = "agent"
    PROMPT_HOOK = "prompt-hook"
    BASH_HOOK = "bash-hook"


DEFAULT_PIECES = (Piece.SKILL, Piece.AGENT)
"""What `kit` installs without naming pieces; the hooks are opt-in."""


class NotOurs(ConfigFileRefused):
    """A file at one of our paths was written by someone else; it was left alone."""


def skill_text(server: str) -> str:
    tool = f"mcp__{server}__ollama_"
    return "\n".join(
        [
            "---",
            f"name: {NAME}",
            "description: Delegate mechanical work on local files, diffs and logs (summarise, ask, extract, label, "
            "review, digest) to the local Ollama model.",
            "---",
            MARK,
            "",
            "# Delegating to the local model",
            "",
            "Use it when the task is mechanical and the material is on disk: summarise a folder, answer a "
            "question from files, extract fields to JSON, label many items, first-pass review of a diff, find "
            "the failures in a long log. Pass paths; do not read the files first.",
            "",
            f"- `{tool}summarize_files` paths=[...], focus; `{tool}ask_files` question, paths (cites path:line)",
            f"- `{tool}extract_json` schema, instructions, paths; `{tool}label_items` labels, path|paths|items",
            f"- `{tool}review_diff` repo, staged or revision; `{tool}digest_log` path (save output first: "
            "`cmd > /tmp/out.log 2>&1`)",
            f"- other text work: `{tool}generate` / `{tool}chat`",
            "",
            "Keep planning, edits and the final answer yourself. Check cited lines before relying on them. If a "
            "tool says to do the task yourself (Ollama down, nothing readable), do so.",
            "",
        ]
    )


def agent_text(server: str) -> str:
    # Tools as a deny list: Claude Code lists an agent's allowed tools in every session (names of ours would
    # cost ~80 tokens), and denying the file readers is what keeps the material out of this agent's context.
    return "\n".join(
        [
            "---",
            f"name: {NAME}",
            "description: Mechanical bulk work on local files via the local Ollama model; returns only results.",
            "disallowedTools: Read, Edit, Write, Bash",
            "---",
            MARK,
            "",
            f"You hand mechanical work to the local model through the `{server}` MCP tools (mcp__{server}__ollama_*: "
            "summarize_files, ask_files, extract_json, label_items, review_diff, digest_log) and report only the "
            "results. Find paths with Glob if needed, never read file contents yourself: pass paths to the "
            "tools. Return a short answer with the path:line citations the tools give and the model that did "
            "the work. If a tool fails, say so and stop.",
            "",
        ]
    )


@dataclass(frozen=True)
class KitPaths:
    claude_dir: Path

    @property
    def skill(self) -> Path:
        return self.claude_dir / "skills" / NAME / "SKILL.md"

    @property
    def agent(self) -> Path:
        return self.claude_dir / "agents" / f"{NAME}.md"

    @property
    def settings(self) -> Path:
        return self.claude_dir / "settings.json"


def _kind(piece: Piece) -> str:
    return "prompt" if piece is Piece.PROMPT_HOOK else "bash"


def _hook_entry(piece: Piece, server: ServerLaunch) -> tuple[str, dict[str, Any]]:
    """The event and the matcher group we add for a hook piece, its command started as `server` is."""
    command = shlex.join(hook_command(server, _kind(piece)))
    if piece is Piece.PROMPT_HOOK:
        return "UserPromptSubmit", {"hooks": [{"type": "command", "command": command, "timeout": 10}]}
    hook = {"type": "command", "command": command, "timeout": BASH_HOOK_TIMEOUT_S}
    return "PostToolUse", {"matcher": "Bash", "hooks": [hook]}


def is_our_hook(hook: Any, piece: Piece) -> bool:
    """Whether a hook entry runs our hook for `piece`, in any form an install of ours writes: `python -I -m`
    the hook's module (also an older install's interpreter), the frozen app's `<binary> _hook KIND`, or the
    `ollama-mcp-hook KIND` console script."""
    command = hook.get("command") if isinstance(hook, dict) else None
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    kind = _kind(piece)
    module = HOOK_MODULES[kind]
    if module in words and words.index(module) > 0 and words[words.index(module) - 1] == "-m":
        return True
    program = Path(words[0]).name.lower() if words else ""
    if len(words) == 3 and words[1:] == [HOOK_ARGUMENT, kind]:
        return True
    return len(words) == 2 and words[1] == kind and program in (HOOK_SCRIPT, HOOK_SCRIPT + ".exe")


def _our_places(groups: list[Any], piece: Piece) -> list[tuple[int, int | None]]:
    """Where our hook sits in an event's matcher groups: (group, None) for a group holding only ours, or
    (group, index) for our hook inside a group the user also put hooks in. In document order."""
    places: list[tuple[int, int | None]] = []
    for g, group in enumerate(groups):
        hooks = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(hooks, list):
            continue
        mine = [i for i, hook in enumerate(hooks) if is_our_hook(hook, piece)]
        if mine and len(mine) == len(hooks):
            places.append((g, None))
        else:
            places += [(g, i) for i in mine]
    return places


def _event_groups(document: dict[str, Any], event: str) -> list[Any]:
    hooks = document.get("hooks")
    if hooks is None:
        return []
    if not isinstance(hooks, dict):
        raise DocumentError(f'"hooks" should be a JSON object but is {json_type(hooks)}')
    groups = hooks.get(event, [])
    if not isinstance(groups, list):
        raise DocumentError(f'"hooks" > "{event}" should be a JSON array but is {json_type(groups)}')
    return groups


def _edit_hook(text: str | None, piece: Piece, server: ServerLaunch, install: bool) -> str | None:
    """Add (install) or take away our hook for `piece`, touching nothing else: our matcher group is cut out of
    the event's array, or appended to it, as one element; the user's elements keep their bytes and order."""
    event, entry = _hook_entry(piece, server)
    base = text if text and text.strip() else "{}\n"
    groups = _event_groups(parse_document(base), event)
    places = _our_places(groups, piece)
    if install and len(places) == 1 and places[0][1] is None and groups[places[0][0]] == entry:
        return None  # exactly our entry is there already
    if not install and not places:
        return None
    after = base
    for group, index in reversed(places):  # from the end, so the places not yet cut keep their indexes
        if index is None:
            after = remove_element(after, ("hooks", event), group)
        else:
            after = remove_element(after, ("hooks", event, group, "hooks"), index)
    left = _event_groups(parse_document(after), event)
    if install:
        return append_element(after, ("hooks", event), entry) if left else set_member(after, ["hooks"], event, [entry])
    if not left:  # the array held only ours: the event goes, and "hooks" when nothing else is in it
        after = remove_member(after, ["hooks"], event)
        if not parse_document(after).get("hooks"):
            after = remove_member(after, [], "hooks")
    return after


def _whole_file(text: str | None, content: str, path: Path) -> str | None:
    if text is not None and MARK not in text:
        raise NotOurs(
            f"{path} exists and was not written by Ollama MCP Tray, so it was left alone. Move it away and run "
            "the command again.",
            path,
        )
    return None if text == content else content


@dataclass
class Kit:
    editor: SafeEditor
    paths: KitPaths
    server: str
    launch: ServerLaunch  # how the registered server starts; the hooks start the same way (see hook_command)

    def install(self, piece: Piece) -> bool:
        """Install (or refresh) `piece`; True when a file changed."""
        if piece in (Piece.SKILL, Piece.AGENT):
            path = self.paths.skill if piece is Piece.SKILL else self.paths.agent
            content = skill_text(self.server) if piece is Piece.SKILL else agent_text(self.server)
            make_private_dir(path.parent)
            return self.editor.edit(path, lambda text: _whole_file(text, content, path), new_mode=0o600).changed
        return self.editor.edit(self.paths.settings, lambda text: _edit_hook(text, piece, self.launch, True)).changed

    def remove(self, piece: Piece) -> bool:
        """Remove `piece` when it is ours; True when a file changed."""
        if piece in (Piece.SKILL, Piece.AGENT):
            path = self.paths.skill if piece is Piece.SKILL else self.paths.agent
            if not self.is_installed(piece):
                return False
            path.unlink()
            if piece is Piece.SKILL:
                with contextlib.suppress(OSError):  # the user put something else in the folder: it stays
                    path.parent.rmdir()
            return True
        if not self.paths.settings.exists():
            return False
        return self.editor.edit(self.paths.settings, lambda text: _edit_hook(text, piece, self.launch, False)).changed

    def is_installed(self, piece: Piece) -> bool:
        if piece in (Piece.SKILL, Piece.AGENT):
            path = self.paths.skill if piece is Piece.SKILL else self.paths.agent
            try:
                return MARK in path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return False
        try:
            document = json.loads(self.paths.settings.read_text(encoding="utf-8"))
            event, _ = _hook_entry(piece, self.launch)
            return bool(_our_places(_event_groups(document, event), piece)) if isinstance(document, dict) else False
        except (OSError, ValueError):
            return False

    def status(self, pieces: Sequence[Piece] = tuple(Piece)) -> dict[str, bool]:
        return {piece.value: self.is_installed(piece) for piece in pieces}

    def report(self) -> list[dict[str, Any]]:
        """Each piece: name, installed, the file it lives in (for `status` and `doctor`)."""
        return [{"piece": p.value, "installed": self.is_installed(p), "file": str(self.where(p))} for p in Piece]

    def where(self, piece: Piece) -> Path:
        return {Piece.SKILL: self.paths.skill, Piece.AGENT: self.paths.agent}.get(piece, self.paths.settings)
