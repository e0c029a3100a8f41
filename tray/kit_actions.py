"""Installing and removing the adoption kit's pieces, one at a time: what the `kit` and `setup` commands and the
tray's Claude Code menu all call, so a click and a command do the same thing and warn the same way.

The one warning: Claude Code before DIGEST_MIN_VERSION runs the Bash digest hook but ignores the
`updatedToolOutput` it answers for a built-in tool (such versions replaced only MCP tools' output), so the hook
costs a local model call and changes nothing. Found by running tests/test_claude_kit.py's digest test against
2.1.120 (the model got Claude Code's own preview) and 2.1.121 (it got the digest); the 2.1.121 changelog says
PostToolUse hooks can now replace any tool's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .app_context import AppContext
from .clients.adoption_kit import Piece
from .clients.claude_cli import claude_version, find_claude

DIGEST_MIN_VERSION = (2, 1, 121)


@dataclass(frozen=True)
class KitChange:
    """What one install or removal did: whether a file changed, which file, and a warning to show, if any."""

    piece: Piece
    changed: bool
    where: Path
    warning: str | None = None


def apply_piece(ctx: AppContext, piece: Piece, enabled: bool) -> KitChange:
    """Install (`enabled`) or remove `piece` through the careful editor; idempotent.

    Raises:
        ConfigFileError: the file is not ours, does not parse, or cannot be written (it is left as it was).
    """
    kit = ctx.kit()
    changed = kit.install(piece) if enabled else kit.remove(piece)
    warning = digest_warning(ctx) if enabled and piece is Piece.BASH_HOOK else None
    return KitChange(piece, changed, kit.where(piece), warning)


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in version)


def digest_warning(ctx: AppContext) -> str | None:
    """A warning when the installed Claude Code ignores the Bash digest hook; None when it is recent enough or
    not found (nothing to compare: the hook is harmless either way)."""
    claude = find_claude(ctx.env, ctx.home)
    version = claude_version(claude, env=ctx.env) if claude is not None else None
    if version is None or version >= DIGEST_MIN_VERSION:
        return None
    return (
        f"Claude Code {version_text(version)} ignores the Bash digest hook's output: it needs "
        f"{version_text(DIGEST_MIN_VERSION)} or newer. Update Claude Code (`claude update`)."
    )
