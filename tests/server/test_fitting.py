"""Token estimates, num_ctx, and splitting at natural boundaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ollama_mcp_tray.server.fitting import (
    Part,
    account_tokens,
    choose_num_ctx,
    fit_tokens,
    halve,
    number_lines,
    pack,
    render,
    split_lines,
)


def test_the_estimates_round_up_at_3_bytes_for_fitting_and_4_for_accounting() -> None:
    assert (fit_tokens(""), fit_tokens("abc"), fit_tokens("abcd"), fit_tokens("é")) == (0, 1, 2, 1)
    assert (account_tokens(0), account_tokens(4), account_tokens(5), account_tokens("abcdefgh")) == (0, 1, 2, 2)


def test_num_ctx_is_the_smallest_power_of_two_from_4096_within_the_limit() -> None:
    assert choose_num_ctx(100, 32_768) == 4096
    assert choose_num_ctx(4097, 32_768) == 8192
    assert choose_num_ctx(50_000, 16_384) == 16_384
    assert choose_num_ctx(100, 2048) == 2048


def test_splitting_prefers_headings_then_definitions_then_blank_lines() -> None:
    sections = ["# One\n" + "text line\n" * 30, "# Two\n" + "text line\n" * 30, "# Three\n" + "text line\n" * 30]
    spans = split_lines("".join(sections), budget=160)
    assert [s.text.splitlines()[0] for s in spans] == ["# One", "# Two", "# Three"]
    code = "import os\n\n" + "".join(f"def f{n}():\n" + "    x = 1\n" * 12 + "\n" for n in range(6))
    starts = [s.text.splitlines()[0] for s in split_lines(code, budget=80)]
    assert all(line.startswith(("def ", "import")) for line in starts), starts


def test_a_single_overlong_line_is_cut_by_characters() -> None:
    spans = split_lines("y" * 3000, budget=100)
    assert len(spans) > 1 and "".join(s.text for s in spans) == "y" * 3000
    assert all(s.first == s.last == 1 for s in spans)


@given(st.lists(st.text(alphabet="ab #\tdefclass:é", max_size=60), max_size=120), st.integers(20, 400))
def test_spans_cover_every_line_once_in_order_and_stay_within_the_budget(lines: list[str], budget: int) -> None:
    text = "\n".join(lines)
    spans = split_lines(text, budget)
    whole = [s for s in spans if fit_tokens(s.text) > budget]
    assert not whole or all(s.first == s.last for s in whole)  # only a cut overlong line may exceed it
    rebuilt: list[str] = []
    for span in spans:
        if rebuilt and span.first == span.last and span.first == len(rebuilt):
            rebuilt[-1] += span.text  # the pieces of one cut line
        else:
            rebuilt.extend(span.text.split("\n"))
    assert rebuilt == (text.splitlines() or [""])


def test_rendered_pieces_carry_numbered_lines_and_say_which_lines_they_hold() -> None:
    text = "\n".join(f"line {n}" for n in range(1, 401))
    pieces = render("src/big.py", text, budget=600)
    assert len(pieces) > 1 and pieces[0].label.startswith("src/big.py (lines 1-")
    assert pieces[0].rendered.splitlines()[1] == "1: line 1"
    last = pieces[-1].rendered.splitlines()
    assert last[-1] == "400: line 400" and "of 400)" in last[0]
    assert render("a.py", "x = 1", budget=600)[0].rendered == "=== a.py ===\n1: x = 1"
    assert number_lines("a\nb", 7) == "7: a\n8: b"


def test_packing_keeps_files_whole_and_halving_splits_a_refused_part() -> None:
    pieces = [p for n in range(6) for p in render(f"f{n}.py", "v = 1\n" * 40, budget=10_000)]
    parts = pack(pieces, budget=280)
    assert [len(p.pieces) for p in parts] == [2, 2, 2]
    assert [len(h.pieces) for h in halve(parts[0])] == [1, 1]
    single = halve(Part((pieces[0],)))
    assert len(single) >= 2 and single[0].text.startswith(f"=== f0.py [1/{len(single)}] ===\n1: v = 1")
    assert "".join(p.text.split("===\n", 1)[1] + "\n" for p in single) == pieces[0].rendered.split("\n", 1)[1] + "\n"
