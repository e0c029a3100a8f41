"""Logging for the stdio server: stderr and a rotating file. Never stdout, which carries the protocol."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None, level: str = "INFO", *, stderr: bool = True) -> None:
    """Send our logs and the SDK's to `log_file` (1 MB x 3) when it can be opened, and to stderr unless told not
    to (the tray logs there only when a terminal is attached)."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(console)
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True)
        except OSError as exc:
            root.warning("Logging to stderr only: cannot use %s (%s)", log_file, exc)
        else:
            handler.setFormatter(logging.Formatter(FORMAT))
            root.addHandler(handler)
    # httpx2 logs every request at INFO; that is noise in a user's log.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
