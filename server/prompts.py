"""The MCP prompts: Claude Code shows each as a slash command, `/mcp__<server>__<prompt> ARGS`.

Each prompt's text asks Claude to call one material tool with the user's arguments, so the files, the diff or
the log are read by the server and never pass through Claude. The text names the tool by its MCP name; Claude
Code loads it through its tool search. Arguments are plain strings (a slash command passes words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

# Shared by every prompt: what makes a delegation a delegation.
_DONT_READ = (
    "Do not read the material yourself (no Read, cat or grep on it first): the tool reads it on this machine "
    "and returns only the result."
)
_REPORT = "Then give me the result, say which local model did it, and check any claim you repeat."


def _paths(words: str) -> list[str]:
    """Paths from a slash command's words: separated by spaces or commas; '' means the project folder."""
    found = [p for p in re.split(r"[\s,]+", words.strip()) if p]
    return found or ["."]


def _call(tool: str, arguments: dict[str, Any]) -> str:
    shown = json.dumps({k: v for k, v in arguments.items() if v not in (None, "")}, ensure_ascii=False)
    return f"Call the `ollama_{tool}` tool with these arguments: {shown}. {_DONT_READ} {_REPORT}"


def summarise_folder(
    folder: Annotated[str, Field(description="The folder (or files, globs) to summarise; default: the project.")] = "",
    focus: Annotated[str, Field(description="What the summary should attend to.")] = "",
) -> str:
    return "Summarise this material for me. " + _call(
        "summarize_files", {"paths": _paths(folder), "focus": focus or None}
    )


def ask_files(
    question: Annotated[str, Field(description="The question to answer from the files.")],
    paths: Annotated[str, Field(description="Files, folders or globs to read; default: the project.")] = "",
) -> str:
    return (
        "Answer my question from these files. "
        + _call("ask_files", {"question": question, "paths": _paths(paths)})
        + " Keep the path:line citations."
    )


def review_diff(
    revision: Annotated[str, Field(description="A revision or range (main..HEAD); empty: uncommitted changes.")] = "",
    focus: Annotated[str, Field(description="What to look for.")] = "",
) -> str:
    staged = revision.strip().lower() in ("staged", "--staged", "--cached")
    arguments: dict[str, Any] = {"repo": ".", "focus": focus or None}
    if staged:
        arguments["staged"] = True
    elif revision.strip():
        arguments["revision"] = revision.strip()
    return (
        "Give me a first review of my changes. "
        + _call("review_diff", arguments)
        + (" List the findings by severity with path:line; I decide what to change.")
    )


def digest_log(
    path: Annotated[str, Field(description="The saved log: test, build or lint output.")],
    focus: Annotated[str, Field(description="What matters most.")] = "",
) -> str:
    return "Tell me what failed in this log. " + _call("digest_log", {"path": path.strip(), "focus": focus or None})


@dataclass(frozen=True)
class PromptSpec:
    fn: Callable[..., str]
    title: str
    description: str


PROMPTS: dict[str, PromptSpec] = {
    "summarise_folder": PromptSpec(
        summarise_folder, "Summarise a folder locally", "Summarise files or a folder with the local model."
    ),
    "ask_files": PromptSpec(ask_files, "Ask about files locally", "Answer a question from files with the local model."),
    "review_diff": PromptSpec(
        review_diff, "Review my diff locally", "First review of uncommitted changes or a range, by the local model."
    ),
    "digest_log": PromptSpec(
        digest_log, "Digest a log locally", "The failures in a saved test/build/lint log, by the local model."
    ),
}
"""The prompts by name; Claude Code lists them as /mcp__<server>__<name>."""
