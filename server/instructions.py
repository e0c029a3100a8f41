"""The server's `instructions`: what a client shows the model at session start, before any tool schema.

Claude Code defers MCP tool schemas behind its tool search: at start the model sees only the tool names and
this text (cut at 2 KB), so it says *when* to reach for the local models first, then which tools and which
models there are. It is paid for in every session, so it stays short (see bench/bench_adoption.py).

Tools are named from the ones the server registers, so the text never names a tool that is absent (the
management tools exist only when enabled). A new tool gets its one-line use in `USES`; a registered tool
without one is still listed by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from .descriptions import fit

LIMIT = 2048  # bytes; Claude Code cuts longer instructions
MAX_MODELS = 6  # model names shown; the rest are counted

WHEN = (
    "Hand work to the user's local Ollama models when it should stay on this machine (private code, "
    "documents, logs with personal data) or is self-contained and repetitive: summaries, classification, "
    "extraction, rewording, drafts, first-pass review. Keep planning, edits and final answers yourself; "
    "check what comes back, local models are smaller than you."
)

# The single place that says what each tool is for, in the order they are listed: the work-doing tools
# first, the model-information tools after, the management tools last. Short: this text is in every session.
USES: dict[str, str] = {
    "ollama_generate": "one prompt",
    "ollama_chat": "a conversation",
    "ollama_embed": "similarity vectors",
    "ollama_list_models": "installed models",
    "ollama_show": "a model's details",
    "ollama_ps": "loaded now",
    "ollama_pull": "download a model, ask the user first",
    "ollama_delete": "remove a model, ask the user first",
}


def _tools_line(tools: Sequence[str]) -> str:
    ordered = [t for t in USES if t in tools] + sorted(t for t in tools if t not in USES)
    parts = [f"{t} ({USES[t]})" if t in USES else t for t in ordered]
    return "Tools: " + ", ".join(parts) + "."


def _models_line(models: Sequence[str], default: str | None) -> str:
    if not models:
        known = f"Default model: {default}. " if default else ""
        return known + "Installed models: not known yet (ollama_list_models lists them)."
    shown = [f"{m} (default)" if m == default else m for m in models[:MAX_MODELS]]
    rest = len(models) - len(shown)
    more = f" and {rest} more (ollama_list_models)" if rest else ""
    head = f"Default model: {default}. " if default and default not in models[:MAX_MODELS] else ""
    return f"{head}Installed models: {', '.join(shown)}{more}."


def server_instructions(tools: Sequence[str], models: Sequence[str], default: str | None) -> str:
    """The instructions for a server that registers `tools`, with `models` installed (cached names)."""
    return fit(" ".join([WHEN, _tools_line(tools), _models_line(models, default)]), LIMIT)
