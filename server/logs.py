"""Logging for the stdio server: stderr and a rotating file. Never stdout, which carries the protocol."""

from __future__ import annotations

import io
import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from .paths import make_private_dir, open_private

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log file readable by the user alone (0600 whatever the umask; rotated files keep it)."""

    def _open(self) -> io.TextIOWrapper:
        # Rotating handlers always append (a rollover renames the file and opens a fresh one).
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


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
            make_private_dir(log_file.parent, narrow=True)
            handler = PrivateRotatingFileHandler(
                log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True
            )
        except OSError as exc:
            root.warning("Logging to stderr only: cannot use %s (%s)", log_file, exc)
        else:
            handler.setFormatter(logging.Formatter(FORMAT))
            root.addHandler(handler)
    # httpx2 logs every request at INFO; that is noise in a user's log.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
