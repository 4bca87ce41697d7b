"""Presentation: a View (title, columns, rows, notes) rendered as a rich table, CSV or Markdown.

Commands build Views from report data; nothing here computes a number. CSV cells hold raw values
(integers, not '1,792'); table and Markdown cells are formatted.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ..records import field, record

Cell = Any


@record
class Column:
    header: str
    value: Callable[[Any], Cell]  # raw value for CSV / JSON-like use
    fmt: Callable[[Cell], str] = lambda v: "" if v is None else str(v)
    justify: Literal["left", "right"] = "right"
    wrap: bool = False  # long prose may wrap; numbers and names never do
    text: Callable[[Any], str] | None = None  # formats from the whole row, where the value alone is not enough
    drop: int = 0  # to fit a narrow terminal, columns are left out highest first; 0: never
    compact: Callable[[Cell], str] | None = None  # a shorter form (SI units) used before leaving columns out

    def cell(self, row: Any, compact: bool = False) -> str:
        if compact and self.compact:
            value = self.value(row)
            return "" if value is None else self.compact(value)
        return self.text(row) if self.text else self.fmt(self.value(row))


@record
class View:
    title: str
    columns: list[Column]
    rows: Sequence[Any]
    notes: list[str] = field(default_factory=list)  # totals and conventions, printed under the table
    styles: Callable[[Any], str | None] = lambda row: None
    heatmap: list[list[float]] | None = None  # values in [0, 1], drawn under the table
    emphasis: Callable[[Any, int], bool] | None = None  # (row, column index): a cell to set in bold
    section_end: Callable[[Any], bool] | None = None  # a rule under this row (blocks of Table 1)
    compact: bool = False  # no vertical rules: for wide comparisons that must fit 100 columns

    def raw_rows(self) -> list[list[Cell]]:
        return [[c.value(r) for c in self.columns] for r in self.rows]

    def text_rows(self, compact: bool = False) -> list[list[str]]:
        return [[c.cell(r, compact) for c in self.columns] for r in self.rows]


def to_csv(views: Sequence[View]) -> str:
    import csv  # only this format needs it

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, view in enumerate(views):
        if i:
            buf.write("\n")
        writer.writerow([c.header for c in view.columns])
        for raw in view.raw_rows():
            writer.writerow([_csv_cell(v) for v in raw])
    return buf.getvalue()


def _csv_cell(v: Cell) -> Cell:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v))  # shapes as 1x512x14x14
    return v


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(views: Sequence[View]) -> str:
    out: list[str] = []
    for view in views:
        out.append(f"### {view.title}\n")
        if not view.columns:
            out.extend(f"- {n}" for n in view.notes)
            out.append("")
            continue
        out.append("| " + " | ".join(_md_escape(c.header) for c in view.columns) + " |")
        out.append("|" + "|".join("---:" if c.justify == "right" else ":---" for c in view.columns) + "|")
        for raw, row in zip(view.rows, view.text_rows()):
            cells = [
                f"**{_md_escape(v)}**" if v and view.emphasis and view.emphasis(raw, i) else _md_escape(v)
                for i, v in enumerate(row)
            ]
            out.append("| " + " | ".join(cells) + " |")
        if view.notes:
            out.append("")
            out.extend(f"- {n}" for n in view.notes)
        if view.heatmap:
            out.append("\n```")
            out.extend("".join(shade(v) * 2 for v in row) for row in view.heatmap)
            out.append("```")
        out.append("")
    return "\n".join(out)


SHADES = " .:-=+*#%@"


def shade(v: float) -> str:
    """A character for a value in [0, 1], for terminals and documents without colour."""
    return SHADES[min(len(SHADES) - 1, int(v * len(SHADES)))]
