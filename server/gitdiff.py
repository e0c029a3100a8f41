"""A git diff read locally: `git diff` run in a repository inside an allowed folder, with a bounded time.

Hunks of files the confinement refuses (secret-shaped paths, files outside the allowed folders) are dropped
before anything reaches a model; each is listed as skipped with its reason.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from .confine import Confinement, Document, Skipped
from .errors import MaterialError

GIT_TIMEOUT_S = 20.0
_FILE_HEADER = re.compile(r"^diff --git a/(.+?) b/(.+)$", re.MULTILINE)
_REVISION = re.compile(r"^[A-Za-z0-9_./~^@{}:+-]+(\.\.\.?[A-Za-z0-9_./~^@{}:+-]+)?$")


@dataclass
class Diff:
    files: list[Document] = field(default_factory=list)  # one per changed file: its section of the diff
    skipped: list[Skipped] = field(default_factory=list)


async def _git(repo: Path, args: Sequence[str], limit: int) -> str:
    # No pager, no prompt, no fsmonitor hook or external diff program: git here only reads.
    command = ["git", "-C", str(repo), "-c", "core.quotePath=false", "-c", "core.fsmonitor=false", *args]
    env = {**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        with anyio.fail_after(GIT_TIMEOUT_S):
            done = await anyio.run_process(command, check=False, env=env, stdin=subprocess.DEVNULL)
    except TimeoutError as exc:
        raise MaterialError(f"git took longer than {GIT_TIMEOUT_S:g} s in {repo}; review the diff yourself.") from exc
    except OSError as exc:
        raise MaterialError(f"Cannot run git ({exc.strerror}). Is git installed? Review the diff yourself.") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise MaterialError(f"git {' '.join(args[:2])} failed in {repo}: {message[-1] if message else done.returncode}")
    if len(done.stdout) > limit:
        raise MaterialError(
            f"The diff is {len(done.stdout)} bytes, over the {limit}-byte cap. Narrow it with `paths` or a "
            "shorter revision range."
        )
    return done.stdout.decode("utf-8", errors="replace")


def _check_revision(revision: str) -> str:
    if revision.startswith("-") or not _REVISION.fullmatch(revision):
        raise MaterialError(f"{revision!r} is not a revision or range git accepts here (e.g. 'main..HEAD', 'HEAD~3').")
    return revision


async def read_diff(
    confinement: Confinement, repo: str, *, staged: bool, revision: str | None, paths: Sequence[str]
) -> Diff:
    """The diff, split per file, with refused files' hunks left out.

    Raises:
        MaterialError: the repository is outside the allowed folders, git fails, or the diff is too large.
    """
    folder = confinement.locate(repo)
    top = (await _git(folder, ["rev-parse", "--show-toplevel"], 10_000)).strip()
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames"]
    if staged:
        args.append("--cached")
    if revision:
        args.append(_check_revision(revision))
    args.append("--")
    args.extend(str(confinement.locate(p)) for p in paths)
    text = await _git(folder, args, confinement.max_total_bytes)
    return split_diff(confinement, top, text)


def split_diff(confinement: Confinement, toplevel: str, text: str) -> Diff:
    """A `git diff` output (paths relative to the work tree `toplevel`) per file, refused files left out."""
    top = Path(toplevel).resolve()
    out = Diff()
    starts = [m.start() for m in _FILE_HEADER.finditer(text)]
    for index, start in enumerate(starts):
        section = text[start : starts[index + 1] if index + 1 < len(starts) else len(text)]
        header = _FILE_HEADER.match(section)
        assert header is not None
        target = (top / header.group(2)).resolve()
        shown = confinement.display(target) if confinement.root_of(target) else header.group(2)
        if confinement.root_of(target) is None:
            out.skipped.append(Skipped(shown, "refused: outside the allowed folders"))
            continue
        reason = confinement.deny_reason(target) or confinement.deny_reason(top / header.group(1))
        if reason is not None:
            out.skipped.append(Skipped(shown, f"refused: {reason}"))
            continue
        out.files.append(Document(shown, section, len(section.encode("utf-8"))))
    return out


def diff_from_text(text: str) -> Diff:
    """A diff given as text (already in the caller's hands): one document per file section, or one in all."""
    out = Diff()
    starts = [m.start() for m in _FILE_HEADER.finditer(text)]
    if not starts:
        out.files.append(Document("(text)", text, len(text.encode("utf-8"))))
        return out
    if text[: starts[0]].strip():
        head = text[: starts[0]]
        out.files.append(Document("(text)", head, len(head.encode("utf-8"))))
    for index, start in enumerate(starts):
        section = text[start : starts[index + 1] if index + 1 < len(starts) else len(text)]
        header = _FILE_HEADER.match(section)
        assert header is not None
        out.files.append(Document(f"(text) {header.group(2)}", section, len(section.encode("utf-8"))))
    return out


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def number_diff(section: str) -> str:
    """A file's diff with each new-side line prefixed by its line number in the new file."""
    out: list[str] = []
    number = 0
    for line in section.splitlines():
        hunk = _HUNK.match(line)
        if hunk:
            number = int(hunk.group(1))
            out.append(line)
        elif number and line[:1] in (" ", "+"):
            out.append(f"{number}: {line}")
            number += 1
        elif number and line[:1] == "-":
            out.append(f"   {line}")
        else:
            out.append(line)
    return "\n".join(out)
