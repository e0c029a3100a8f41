"""One rule for sizes, shared by the tools' results and the tray's menu (whose test checks it takes this one)."""

from __future__ import annotations

import doctest

from ollama_mcp_tray.server import tools, units
from ollama_mcp_tray.server.units import human_size


def test_the_examples_in_the_docstring_hold():
    assert doctest.testmod(units).failed == 0


def test_one_decimal_below_a_hundred_none_from_a_hundred_up():
    assert [human_size(n) for n in (999, 1_000, 99_940_000, 100_000_000, 1_900_000_000, 2_000_000_000_000)] == [
        "999 B",
        "1.0 KB",
        "99.9 MB",
        "100 MB",
        "1.9 GB",
        "2.0 TB",
    ]


def test_the_tools_use_it():
    assert tools.human_size is human_size
