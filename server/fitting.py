"""Fitting material into a model's context: token estimates, `num_ctx`, and splitting at natural boundaries.

Two estimates, both from UTF-8 bytes because no tokenizer runs here:
    fit_tokens      ceil(bytes / 3): sizes requests. Conservative on purpose: code, non-English text and numbers
                    tokenise denser than English prose (about 4 bytes a token), and an over-estimate only costs
                    a smaller part, while an under-estimate costs a refused request.
    account_tokens  ceil(bytes / 4): the usual rule of thumb for English and code, used for accounting (tokens
                    read locally, tokens returned to Claude, and the difference, kept out of Claude's context).

`num_ctx` is chosen from powers of two (4096, 8192, ...) so that consecutive requests reuse a loaded model
instead of making Ollama reload it for every small change of context size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

FIT_BYTES_PER_TOKEN = 3
ACCOUNT_BYTES_PER_TOKEN = 4
MIN_NUM_CTX = 4096
HEADING = re.compile(r"^(#{1,6} |={3,}$|-{3,}$)")
DEFINITION = re.compile(
    r"^(async def |def |class |@|function |export |public |private |protected |fn |pub |func |impl |struct |"
    r"interface |type |const |let |var |module |package |---|diff --git |@@ |={3,} |FAIL|ERROR|_{5,}|={5,})"
)


def fit_tokens(text: str) -> int:
    """Tokens a request's text may take, over-estimated (see the module docstring)."""
    return math.ceil(len(text.encode("utf-8")) / FIT_BYTES_PER_TOKEN)


def account_tokens(size: int | str) -> int:
    """Tokens for accounting: a byte count or a text, at 4 bytes a token."""
    n = size if isinstance(size, int) else len(size.encode("utf-8"))
    return math.ceil(n / ACCOUNT_BYTES_PER_TOKEN)


def choose_num_ctx(needed: int, limit: int) -> int:
    """The smallest power of two (at least 4096) holding `needed` tokens, never above `limit`."""
    size = MIN_NUM_CTX
    while size < needed and size < limit:
        size *= 2
    return min(size, limit)


def number_lines(text: str, first: int = 1) -> str:
    """Each line prefixed with its number, so a model can cite `path:line`."""
    lines = text.splitlines()
    return "\n".join(f"{first + i}: {line}" for i, line in enumerate(lines))


@dataclass(frozen=True)
class Span:
    """Lines `first`..`last` (1-based, inclusive) of a text."""

    first: int
    last: int
    text: str


def _boundary_rank(lines: Sequence[str], i: int) -> int:
    """How good a place line `i` is to start a new piece: 3 heading, 2 definition, 1 after a blank line, 0 any."""
    line = lines[i]
    if HEADING.match(line):
        return 3
    if DEFINITION.match(line):
        return 2
    if i > 0 and not lines[i - 1].strip():
        return 1
    return 0


def split_lines(text: str, budget: int, first: int = 1) -> list[Span]:
    """Split `text` into spans of at most `budget` fit-tokens each, cutting at the best boundary available.

    The cut falls in the second half of a full piece where possible: at a heading, else a definition, else
    after a blank line, else at a line end. A single line longer than the budget is cut by characters.
    """
    lines = text.splitlines()
    spans: list[Span] = []
    start = 0
    while start < len(lines):
        used = 0
        end = start
        while end < len(lines):
            cost = fit_tokens(lines[end]) + 1
            if used + cost > budget and end > start:
                break
            used += cost
            end += 1
        if end < len(lines) and end - start > 1:
            best, best_rank = end, -1
            floor = start + max(1, (end - start) // 2)
            for i in range(end - 1, floor - 1, -1):
                rank = _boundary_rank(lines, i)
                if rank > best_rank:
                    best, best_rank = i, rank
                if rank == 3:
                    break
            end = best if best_rank > 0 else end
        if end - start == 1 and fit_tokens(lines[start]) > budget:
            spans.extend(_split_long_line(lines[start], budget, first + start))
        else:
            spans.append(Span(first + start, first + end - 1, "\n".join(lines[start:end])))
        start = end
    return spans or [Span(first, first, "")]


def _split_long_line(line: str, budget: int, number: int) -> list[Span]:
    width = max(1, budget * FIT_BYTES_PER_TOKEN // 2)  # characters: UTF-8 may take up to 2 bytes for most scripts
    return [Span(number, number, line[i : i + width]) for i in range(0, len(line), width)]


@dataclass(frozen=True)
class Piece:
    """A document, or a span of one, rendered for a model: a header naming it, then numbered lines."""

    label: str  # "src/app.py" or "src/app.py (lines 120-340 of 900)"
    path: str
    rendered: str

    @property
    def tokens(self) -> int:
        return fit_tokens(self.rendered)


def render(path: str, text: str, budget: int, numbered: bool = True) -> list[Piece]:
    """A document as one piece, or as several when it exceeds `budget` fit-tokens."""
    total = len(text.splitlines())
    whole = number_lines(text) if numbered else text
    if fit_tokens(whole) + fit_tokens(path) + 8 <= budget:
        return [Piece(path, path, f"=== {path} ===\n{whole}")]
    pieces: list[Piece] = []
    # Numbering adds a few bytes a line; leave room for it and the header.
    for span in split_lines(text, max(64, budget * 4 // 5 - fit_tokens(path) - 16)):
        label = f"{path} (lines {span.first}-{span.last} of {total})"
        body = number_lines(span.text, span.first) if numbered else span.text
        pieces.append(Piece(label, path, f"=== {label} ===\n{body}"))
    return pieces


@dataclass(frozen=True)
class Part:
    """What one request carries: pieces that fit together."""

    pieces: tuple[Piece, ...]

    @property
    def label(self) -> str:
        first = self.pieces[0].label
        return first if len(self.pieces) == 1 else f"{first} and {len(self.pieces) - 1} more"

    @property
    def text(self) -> str:
        return "\n\n".join(p.rendered for p in self.pieces)

    @property
    def tokens(self) -> int:
        return fit_tokens(self.text)


def pack(pieces: Sequence[Piece], budget: int) -> list[Part]:
    """Group pieces in order into parts of at most `budget` fit-tokens (files stay whole where they fit)."""
    parts: list[Part] = []
    current: list[Piece] = []
    used = 0
    for piece in pieces:
        cost = piece.tokens + 1
        if current and used + cost > budget:
            parts.append(Part(tuple(current)))
            current, used = [], 0
        current.append(piece)
        used += cost
    if current:
        parts.append(Part(tuple(current)))
    return parts


def halve(part: Part) -> list[Part]:
    """A refused part made smaller: its pieces in two groups, or its single piece split in two."""
    if len(part.pieces) > 1:
        mid = len(part.pieces) // 2
        return [Part(part.pieces[:mid]), Part(part.pieces[mid:])]
    piece = part.pieces[0]
    header, _, body = piece.rendered.partition("\n")
    spans = split_lines(body, max(32, piece.tokens // 2 + 1))
    if len(spans) < 2:
        return [part]
    label = header.strip("= ")
    return [
        Part(
            (Piece(f"{label} [{i + 1}/{len(spans)}]", piece.path, f"=== {label} [{i + 1}/{len(spans)}] ===\n{s.text}"),)
        )
        for i, s in enumerate(spans)
    ]
