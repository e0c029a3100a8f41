"""A request Claude Code sent to the stand-in, and ways to read it.

What Claude Code 2.1.330 puts where (observed): the system prompt in `system`; `~/.claude/CLAUDE.md` (HTML
comments stripped) in a `<system-reminder>` text block of the first user message; the deferred tool names and
every MCP server's `instructions` in a message with role `system` (a block "# MCP Server Instructions" with a
"## <server>" heading each); a tool search result as a `tool_result` holding `tool_reference` blocks, after which
the found tools appear in full in `tools`; an MCP tool's result as a `tool_result` whose content is a string or
text blocks, with `is_error` when the tool failed; when the tool declares an output schema, that string is the
tool's *structured content* as JSON, not its text content. A very long Bash output arrives as
`<persisted-output>` with the path of a file under ~/.claude holding all of it and a 2 KB preview.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4  # Anthropic's rule of thumb for English text; the stand-in has no tokenizer


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class ToolResult:
    tool_use_id: str
    text: str
    is_error: bool


def _text_of(content: Any) -> str:
    """The text in a message's or tool result's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content")))
    return "\n".join(parts)


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON body, or None

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path.split("?", 1)[0] == "/v1/messages"

    @property
    def is_conversation(self) -> bool:
        """A turn of the agent's conversation (it offers tools), rather than a side request such as a title."""
        return self.is_messages and isinstance(self.body, dict) and bool(self.body.get("tools"))

    @property
    def streamed(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def model(self) -> str:
        return str(self.body.get("model", "claude")) if isinstance(self.body, dict) else "claude"

    @property
    def messages(self) -> list[dict[str, Any]]:
        found = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return [str(t.get("name")) for t in tools or [] if isinstance(t, dict)]

    def tool(self, name: str) -> dict[str, Any] | None:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return next((t for t in tools or [] if isinstance(t, dict) and t.get("name") == name), None)

    def system_prompt(self) -> str:
        system = self.body.get("system") if isinstance(self.body, dict) else None
        return _text_of(system)

    def message_texts(self, role: str | None = None) -> list[str]:
        return [_text_of(m.get("content")) for m in self.messages if role is None or m.get("role") == role]

    def first_user_text(self) -> str:
        return next(iter(self.message_texts("user")), "")

    def system_messages(self) -> str:
        """The system-role messages (deferred tool names, MCP server instructions) joined."""
        return "\n".join(self.message_texts("system"))

    def tool_results(self) -> Iterator[ToolResult]:
        for message in self.messages:
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    yield ToolResult(
                        str(block.get("tool_use_id")), _text_of(block.get("content")), bool(block.get("is_error"))
                    )

    def tool_result(self, tool_use_id: str) -> ToolResult | None:
        return next((r for r in self.tool_results() if r.tool_use_id == tool_use_id), None)

    def all_text(self) -> str:
        """Everything the model reads: system prompt, messages, and the tool definitions as JSON."""
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return "\n".join([self.system_prompt(), *self.message_texts(), json.dumps(tools or [])])

    def input_tokens(self) -> int:
        return estimate_tokens(self.all_text())
