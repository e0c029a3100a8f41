"""Usage records: one JSON line per tool call, for the tray's "local usage today" glance.

A record holds the time, tool, model, outcome, token counts and durations; never prompt or answer text.
The file is bounded: once it passes `max_bytes`, the newest half is kept (written to a temp file and
swapped in with `os.replace`). Several server processes may append at once; each record is one small
`write` on a file opened with O_APPEND, which POSIX keeps whole. A record appended by another process
during the rare trim may be lost; that costs one line of statistics, never the file.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .paths import open_private

log = logging.getLogger(__name__)

MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class UsageRecord:
    ts: float
    tool: str
    model: str | None
    outcome: str  # "ok", or the error's class name
    prompt_tokens: int = 0
    output_tokens: int = 0
    total_duration_s: float = 0.0
    eval_duration_s: float = 0.0

    @property
    def tokens_per_second(self) -> float | None:
        if self.output_tokens and self.eval_duration_s > 0:
            return self.output_tokens / self.eval_duration_s
        return None


@dataclass(frozen=True)
class UsageSummary:
    calls: int
    errors: int
    prompt_tokens: int
    output_tokens: int
    median_tokens_per_second: float | None


class UsageLog:
    """Appends records to the usage file, keeping it open between calls (a tool call is a hot path)."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._fd: int | None = None

    def _open(self) -> int:
        return open_private(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, record: UsageRecord) -> None:
        """Append one record; trims the file past `max_bytes`. Never raises: these are statistics only."""
        line = (json.dumps(asdict(record), separators=(",", ":")) + "\n").encode("utf-8")
        try:
            if self._fd is None:
                self._fd = self._open()
            os.write(self._fd, line)
            info = os.fstat(self._fd)
            if info.st_nlink == 0:
                # Another server process trimmed (replaced) the file: write to the new one.
                self.close()
                self._fd = self._open()
                os.write(self._fd, line)
                info = os.fstat(self._fd)
            if info.st_size > self.max_bytes:
                self.close()
                _trim(self.path, self.max_bytes // 2)
        except OSError as exc:
            log.warning("Could not write the usage record to %s: %s", self.path, exc)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def append_usage(path: Path, record: UsageRecord, *, max_bytes: int = MAX_BYTES) -> None:
    """Append one record to the file at `path` (opens and closes it: for occasional writers)."""
    usage = UsageLog(path, max_bytes=max_bytes)
    usage.append(record)
    usage.close()


def _trim(path: Path, keep_bytes: int) -> None:
    data = path.read_bytes()
    tail = data[-keep_bytes:]
    # Start at a line boundary so no half record survives.
    cut = tail.find(b"\n")
    tail = tail[cut + 1 :] if cut >= 0 else b""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
        fh.write(tail)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_usage(path: Path) -> list[UsageRecord]:
    """All readable records, oldest first; lines that do not parse are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records: list[UsageRecord] = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
            records.append(
                UsageRecord(
                    ts=float(data["ts"]),
                    tool=str(data["tool"]),
                    model=data.get("model"),
                    outcome=str(data.get("outcome", "ok")),
                    prompt_tokens=int(data.get("prompt_tokens", 0)),
                    output_tokens=int(data.get("output_tokens", 0)),
                    total_duration_s=float(data.get("total_duration_s", 0.0)),
                    eval_duration_s=float(data.get("eval_duration_s", 0.0)),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return records


def summarize(records: Sequence[UsageRecord], since: float) -> UsageSummary:
    """Totals of the records at or after `since` (epoch seconds)."""
    recent = [r for r in records if r.ts >= since]
    speeds = [s for r in recent if (s := r.tokens_per_second) is not None]
    return UsageSummary(
        calls=len(recent),
        errors=sum(1 for r in recent if r.outcome != "ok"),
        prompt_tokens=sum(r.prompt_tokens for r in recent),
        output_tokens=sum(r.output_tokens for r in recent),
        median_tokens_per_second=statistics.median(speeds) if speeds else None,
    )
