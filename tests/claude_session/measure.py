"""What our server and our CLAUDE.md section add to a session before any tool call, read off the first request
Claude Code sends, against the first request of the same user's session without them.

Tokens are estimated as characters / 4 (`received.CHARS_PER_TOKEN`); the figures are meant for a budget and
for comparing versions, not for billing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.claude_session.received import ReceivedRequest, estimate_tokens

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def as_claude_code_reads_it(markdown: str) -> str:
    """CLAUDE.md text as it reaches the model: Claude Code drops HTML comments (our section's markers)."""
    return _HTML_COMMENT.sub("", markdown).strip()


def our_tool_names(request: ReceivedRequest, server: str) -> list[str]:
    """Our tools named in the deferred-tool list of the system-role message."""
    prefix = f"mcp__{server}__"
    return [line.strip() for line in request.system_messages().splitlines() if line.strip().startswith(prefix)]


@dataclass(frozen=True)
class Addition:
    """Characters (and estimated tokens) our setup adds to the first request."""

    instructions: int
    tool_names: int
    claude_md: int
    total: int  # the whole first request with us minus without us: the parts above plus the client's own framing

    @property
    def total_tokens(self) -> int:
        return estimate_tokens("x" * self.total)

    def rows(self) -> list[tuple[str, int, int]]:
        parts = [
            ("server instructions", self.instructions),
            ("tool names (deferred list)", self.tool_names),
            ("CLAUDE.md section", self.claude_md),
            ("Claude Code's framing of them", self.total - self.instructions - self.tool_names - self.claude_md),
            ("all we add (request with us - without us)", self.total),
        ]
        return [(name, chars, estimate_tokens("x" * chars)) for name, chars in parts]


def addition(
    without: ReceivedRequest, with_us: ReceivedRequest, *, server: str, instructions: str, claude_md: str
) -> Addition:
    """Measure what we add; `instructions` and `claude_md` must be found verbatim in `with_us` (else ValueError)."""
    if instructions not in with_us.system_messages():
        raise ValueError("the server's instructions are not in the first request's system messages")
    if claude_md not in with_us.first_user_text():
        raise ValueError("the CLAUDE.md section is not in the first user message")
    names = our_tool_names(with_us, server)
    return Addition(
        instructions=len(instructions),
        tool_names=sum(len(n) + 1 for n in names),
        claude_md=len(claude_md),
        total=len(with_us.all_text()) - len(without.all_text()),
    )
