"""Presentation: a View (title, columns, rows, notes) rendered as a rich table, CSV or Markdown.

Commands build Views from report data; nothing here computes a number. CSV cells hold raw values
(integers, not '1,792'); table and Markdown cells are formatted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = Any


@dataclass
class Column:
    header: str
    value: Callable[[Any], Cell]  # raw value for CSV / JSON-like use
    fmt: Callable[[Cell], str] = lambda v: "" if v is None else str(v)
    justify: str = "right"
    wrap: bool = False  # long prose may wrap; numbers and names never do


@dataclass
class View:
    title: str
    columns: list[Column]
    rows: Sequence[Any]
    notes: list[str] = field(default_factory=list)  # totals and conventions, printed under the table
    styles: Callable[[Any], str | None] = lambda row: None
    heatmap: list[list[float]] | None = None  # values in [0, 1], drawn under the table

    def raw_rows(self) -> list[list[Cell]]:
        return [[c.value(r) for c in self.columns] for r in self.rows]

    def text_rows(self) -> list[list[str]]:
        return [[c.fmt(c.value(r)) for c in self.columns] for r in self.rows]


def to_csv(views: Sequence[View]) -> str:
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
        out.append("| " + " | ".join(_md_escape(c.header) for c in view.columns) + " |")
        out.append("|" + "|".join("---:" if c.justify == "right" else ":---" for c in view.columns) + "|")
        for row in view.text_rows():
            out.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
        if view.notes:
            out.append("")
            out.extend(f"- {n}" for n in view.notes)
        if view.heatmap:
            out.append("\n```")
            out.extend("".join(_shade(v) * 2 for v in row) for row in view.heatmap)
            out.append("```")
        out.append("")
    return "\n".join(out)


def to_rich(views: Sequence[View], console: Any) -> None:
    from rich.table import Table

    for view in views:
        table = Table(title=view.title, title_justify="left", header_style="bold", show_lines=False)
        for c in view.columns:
            table.add_column(c.header, justify=c.justify, no_wrap=not c.wrap,  # type: ignore[arg-type]
                             ratio=1 if c.wrap else None)
        for row, cells in zip(view.rows, view.text_rows()):
            table.add_row(*cells, style=view.styles(row))
        console.print(table)
        for n in view.notes:
            console.print(n, highlight=False)
        if view.heatmap:
            console.print(_heat(view.heatmap))
        console.print()


SHADES = " .:-=+*#%@"


def _shade(v: float) -> str:
    """A character for a value in [0, 1], for terminals and documents without colour."""
    return SHADES[min(len(SHADES) - 1, int(v * len(SHADES)))]


def _heat(grid: list[list[float]]) -> Any:
    """Two terminal cells per value, dark to bright; shade characters too, for no-colour terminals."""
    from rich.text import Text

    text = Text()
    for row in grid:
        for v in row:
            level = int(round(255 * max(0.0, min(1.0, v)) ** 0.5))  # sqrt: faint tails stay visible
            text.append(_shade(v) * 2, style=f"rgb({level},{level // 3},0) on rgb({level},{level // 2},{level // 8})")
        text.append("\n")
    return text
