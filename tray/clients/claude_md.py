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
    """The section's text, markers included, without a trailing newline."""
    prefix = f"mcp__{server_name}__ollama_"
    model = f" (default model: `{default_model}`)" if default_model else ""
    return "\n".join(
        [
            BEGIN,
            "## Local model usage",
            "",
            f"A local Ollama model is available through the `{server_name}` MCP server{model}.",
            f"- Hand it self-contained, low-stakes work: summarising, drafting, classifying, rewriting, "
            f"extracting, first-pass review (`{prefix}generate`, `{prefix}chat`).",
            "- When the user asks to keep something private (their code, documents, logs with personal data), "
            "process it with the local model rather than quoting it into your own context.",
            "- Keep planning, editing files and final answers yourself; check what it returns before using it.",
            f"- `{prefix}list_models` shows the installed models; pick a coder model for code.",
            "- It runs on the user's own machine: it is free to call but slower; prefer short, focused prompts.",
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
