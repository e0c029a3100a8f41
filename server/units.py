"""Sizes as people read them, shared by the tools' results and the tray's menu (one rule for both)."""

from __future__ import annotations


def human_size(n: int) -> str:
    """Bytes in decimal units, as Ollama shows them: one decimal below 100, none from 100 up.

    >>> human_size(1_986_000_000)
    '2.0 GB'
    >>> human_size(274_000_000)
    '274 MB'
    >>> human_size(0)
    '0 B'
    >>> human_size(1_500_000_000_000)
    '1.5 TB'
    """
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n} B"
