"""The usage window: local calls and tokens over the last 7 or 30 days, per day (a bar chart) and per model.

It reads the server's usage records (`usage.jsonl`), which carry per call the model, the outcome, the prompt and
output token counts and, for the material tools, `kept_out_tokens`: the estimated tokens of the files the local
model read that stayed out of Claude's context (what it read minus the answer Claude got; server/material_tools.py).
Records from before that field read as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ollama_mcp_tray.server.usage import UsageRecord, read_usage

from ...app_context import AppContext
from .toolkit import layout_for, make_root
from .widgets import PAD, heading, note

CHART_W, CHART_H = 640, 200


@dataclass(frozen=True)
class Tally:
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0
    kept_out_tokens: int = 0

    def add(self, record: UsageRecord) -> Tally:
        return Tally(
            self.calls + 1,
            self.errors + (record.outcome != "ok"),
            self.prompt_tokens + record.prompt_tokens,
            self.output_tokens + record.output_tokens,
            self.kept_out_tokens + record.kept_out_tokens,
        )

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.calls + other.calls,
            self.errors + other.errors,
            self.prompt_tokens + other.prompt_tokens,
            self.output_tokens + other.output_tokens,
            self.kept_out_tokens + other.kept_out_tokens,
        )


def by_day(records: Sequence[UsageRecord], today: dt.date, days: int) -> list[tuple[dt.date, Tally]]:
    """One tally per local day, oldest first, the last `days` days up to `today` (days without calls too)."""
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    tallies = {d: Tally() for d in dates}
    for record in records:
        day = dt.datetime.fromtimestamp(record.ts).date()
        if day in tallies:
            tallies[day] = tallies[day].add(record)
    return [(d, tallies[d]) for d in dates]


def by_model(records: Sequence[UsageRecord], since: dt.date) -> list[tuple[str, Tally]]:
    """Tallies per model since a local date, the busiest first."""
    tallies: dict[str, Tally] = {}
    for record in records:
        if dt.datetime.fromtimestamp(record.ts).date() >= since:
            name = record.model or "(none)"
            tallies[name] = tallies.get(name, Tally()).add(record)
    return sorted(tallies.items(), key=lambda item: (-item[1].calls, item[0]))


class UsageWindow:
    def __init__(self, ctx: AppContext, root: Any | None = None, today: dt.date | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.ctx = ctx
        self.today = today or dt.date.today()
        self.root = root or make_root("Ollama MCP Tray: usage")
        self.layout = layout_for(self.root)
        self.records = read_usage(ctx.paths.usage_file)
        outer = ttk.Frame(self.root, padding=PAD)
        outer.pack(fill="both", expand=True)
        choice = ttk.Frame(outer)
        choice.pack(anchor="w", padx=PAD)
        self.days = tk.IntVar(value=7)
        for days in (7, 30):
            button = ttk.Radiobutton(
                choice, text=f"Last {days} days", value=days, variable=self.days, command=self.draw
            )
            button.pack(side="left", padx=(0, PAD))
            self.layout.name(f"days:{days}", button)
        self.totals = self.layout.name("totals", heading(outer, ""))
        self.canvas = tk.Canvas(outer, width=CHART_W, height=CHART_H, background="white", highlightthickness=0)
        self.canvas.pack(padx=PAD, pady=PAD)
        heading(outer, "Per model")
        columns = (
            ("calls", "calls"),
            ("failed", "failed"),
            ("read", "tokens read"),
            ("written", "written"),
            ("kept", "kept out of Claude"),
        )
        self.table = ttk.Treeview(outer, columns=[c for c, _t in columns], height=6)
        self.table.heading("#0", text="model")
        for column, text in columns:
            self.table.heading(column, text=text)
            self.table.column(column, width=130 if column == "kept" else 85)
        self.table.column("#0", width=180)
        self.table.pack(fill="x", padx=PAD)
        self.layout.name("table", self.table)
        note(
            outer,
            "Tokens read are the prompt tokens the local model processed, so Claude did not. Kept out of Claude: "
            "what the file tools (summarize, extract, label) read locally minus the answer Claude got, estimated.",
            pady=PAD,
        )
        self.draw()

    def draw(self) -> None:
        days = int(self.days.get())
        series = by_day(self.records, self.today, days)
        total = Tally()
        for _day, tally in series:
            total = total.plus(tally)
        self.totals.configure(
            text=f"{total.calls} local calls · {total.prompt_tokens:,} tokens read · {total.output_tokens:,} written"
            f"\n{total.kept_out_tokens:,} kept out of Claude's context by the file tools"
        )
        self.canvas.delete("all")
        peak = max((t.calls for _d, t in series), default=0) or 1
        slot = CHART_W / len(series)
        for index, (day, tally) in enumerate(series):
            height = (CHART_H - 40) * tally.calls / peak  # room above the tallest bar for its count
            x0 = index * slot + slot * 0.15
            x1 = (index + 1) * slot - slot * 0.15
            self.canvas.create_rectangle(x0, CHART_H - 20 - height, x1, CHART_H - 20, fill="#2f6fdf", width=0)
            if days <= 7 or index % 5 == 0:
                self.canvas.create_text((x0 + x1) / 2, CHART_H - 10, text=day.strftime("%d %b"), font=("", 8))
            if tally.calls and days <= 7:
                self.canvas.create_text((x0 + x1) / 2, CHART_H - 28 - height, text=str(tally.calls), font=("", 8))
        self.table.delete(*self.table.get_children())
        since = self.today - dt.timedelta(days=days - 1)
        for model, tally in by_model(self.records, since):
            values = (
                tally.calls,
                tally.errors,
                f"{tally.prompt_tokens:,}",
                f"{tally.output_tokens:,}",
                f"{tally.kept_out_tokens:,}",
            )
            self.table.insert("", "end", iid=model, text=model, values=values)


def run(ctx: AppContext) -> int:
    window = UsageWindow(ctx)
    window.root.mainloop()
    return 0
