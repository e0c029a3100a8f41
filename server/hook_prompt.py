"""Claude Code `UserPromptSubmit` hook: a one-line hint when the prompt looks like work for a material tool.

    python -I -m ollama_mcp_tray.server.hook_prompt      (Claude Code passes the hook's JSON on stdin)

Delegable means a mechanical verb (summarise, classify, extract, digest, ...) *and* material on disk (files, a
folder, a diff, a log, a path). Both are needed, so "summarise what we decided" or "fix the failing test" stay
quiet. Standard library only, no Ollama call: it runs before every prompt, so deciding not to act must cost
only the interpreter's start. Any failure is silent (exit 0, no output): a hint is never worth blocking Claude.
"""

from __future__ import annotations

import json
import re
import sys

VERB = re.compile(
    r"\b(summari[sz]e|summary|summaries|tl;?dr|overview of|gist of|classify|categori[sz]e|label|tag each|"
    r"triage|extract|pull out|list (?:all|every) (?:the )?(?:todos?|functions|endpoints|classes|settings)|"
    r"digest|what (?:failed|broke)|which tests? failed|skim|review (?:my|the|this) (?:diff|changes|patch))\b",
    re.IGNORECASE,
)
MATERIAL = re.compile(
    r"(\b(files?|folders?|director(?:y|ies)|repo(?:sitory)?|codebase|modules?|docs?|documents?|readme|logs?|"
    r"output|diff|changes|patch|commits?|transcripts?|csv|json|yaml|tickets|issues|emails)\b"
    r"|[\w.-]*/[\w./*-]+|\b[\w-]+\.(?:py|md|txt|log|js|ts|go|rs|java|json|ya?ml|toml|csv|html)\b)",
    re.IGNORECASE,
)
HINT = (
    "Local-model hint (ollama MCP server): this looks like mechanical work on local material. Pass the paths to "
    "a material tool (ollama_summarize_files, ollama_ask_files, ollama_extract_json, ollama_label_items, "
    "ollama_review_diff, ollama_digest_log) instead of reading the files yourself."
)


def is_delegable(prompt: str) -> bool:
    """Whether `prompt` asks for mechanical work (a verb) on material on disk (an object)."""
    return bool(VERB.search(prompt)) and bool(MATERIAL.search(prompt))


def answer(event: dict[str, object]) -> str | None:
    """The hook's stdout for this event, or None to stay silent."""
    prompt = event.get("prompt")
    if not isinstance(prompt, str) or prompt.lstrip().startswith("/") or not is_delegable(prompt):
        return None
    output = {"hookEventName": "UserPromptSubmit", "additionalContext": HINT}
    return json.dumps({"hookSpecificOutput": output})


def main() -> int:
    try:
        event = json.loads(sys.stdin.read() or "{}")
        said = answer(event) if isinstance(event, dict) else None
    except Exception:  # noqa: BLE001 - a hint is optional; never block the prompt
        return 0
    if said:
        sys.stdout.write(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
