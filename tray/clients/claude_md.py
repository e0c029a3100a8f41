"""A marked, removable "local model usage" section in the user's CLAUDE.md.

The section sits between two HTML comments (invisible when rendered), so adding is idempotent, an update
replaces only our text, and removing gives back the file as it was (for a file that ended in a newline).
"""

from __future__ import annotations

from pathlib import Path

from ..configfile.safe_edit import SafeEditor

BEGIN = "<!-- ollama-mcp-tray:begin (added by Ollama MCP Tray; `ollama-mcp-tray claude-md --remove` removes it) -->"
END = "<!-- ollama-mcp-tray:end -->"
_BEGIN_PREFIX = "<!-- ollama-mcp-tray:begin"


def section(server_name: str, default_model: str | None) -> str:
    """The section's text, markers included, without a trailing newline.

    Short on purpose: it is in every session, beside the server's instructions (which name the tools)."""
    prefix = f"mcp__{server_name}__ollama_"
    model = f" `{default_model}`" if default_model else ""
    return "\n".join(
        [
            BEGIN,
            "## Local model usage",
            "To summarise, question, extract from, label, review or digest local files, diffs or logs, pass "
            f"their paths to the local model{model} instead of reading them (they stay out of your context): "
            f"`{prefix}summarize_files`, `ask_files`, `extract_json`, `label_items`, `review_diff`, `digest_log`. "
            f"Other drafting: `{prefix}generate`. Check what comes back.",
            END,
        ]
    )


def _find(text: str) -> tuple[int, int] | None:
    """Start and end (after the end marker's line) of our section, if present."""
    start = text.find(_BEGIN_PREFIX)
    while start > 0 and text[start - 1] != "\n":
        start = text.find(_BEGIN_PREFIX, start + 1)
    if start < 0:
        return None
    end = text.find(END, start)
    if end < 0:
        return None
    end += len(END)
    if text.startswith("\n", end):
        end += 1
    return start, end


def add_section(text: str | None, block: str) -> str:
    """`text` with our section added at the end, or replaced in place when already there."""
    text = text or ""
    found = _find(text)
    if found is not None:
        start, end = found
        return text[:start] + block + "\n" + text[end:]
    if not text:
        return block + "\n"
    base = text if text.endswith("\n") else text + "\n"
    return base + "\n" + block + "\n"


def remove_section(text: str | None) -> str | None:
    """`text` without our section (and the blank line we put before it); None when there is nothing to remove."""
    if text is None:
        return None
    found = _find(text)
    if found is None:
        return None
    start, end = found
    if text.endswith("\n\n", 0, start):
        start -= 1
    return text[:start] + text[end:]


def install(editor: SafeEditor, path: Path, server_name: str, default_model: str | None) -> bool:
    """Add or refresh our section in the CLAUDE.md at `path`; True when the file changed."""
    block = section(server_name, default_model)
    outcome = editor.edit(path, lambda text: add_section(text, block), new_mode=0o644)
    return outcome.changed


def uninstall(editor: SafeEditor, path: Path) -> bool:
    """Remove our section from the CLAUDE.md at `path`; True when the file changed."""
    return editor.edit(path, remove_section).changed


def is_installed(path: Path) -> bool:
    """Whether the CLAUDE.md at `path` holds our section."""
    try:
        return _find(path.read_text(encoding="utf-8")) is not None
    except FileNotFoundError:
        return False
