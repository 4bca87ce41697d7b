"""Views rendered as rich tables in a terminal (the only module that imports rich)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .views import View, shade


def to_rich(views: Sequence[View], console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    for view in views:
        table = Table(
            title=Text(view.title),
            title_justify="left",
            header_style="bold",
            show_lines=False,
            box=box.SIMPLE_HEAD if view.compact else box.HEAVY_HEAD,
            padding=(0, 1),
            pad_edge=not view.compact,
        )
        for c in view.columns:
            table.add_column(
                Text(c.header),
                justify=c.justify,
                no_wrap=not c.wrap,
                ratio=1 if c.wrap and not view.compact else None,
            )
        # Text, not str: cells are data, never rich markup or emoji codes (and skip parsing them)
        for row, cells in zip(view.rows, view.text_rows()):
            bold = view.emphasis or (lambda _row, _i: False)
            table.add_row(
                *(Text(cell, style="bold" if bold(row, i) else "") for i, cell in enumerate(cells)),
                style=view.styles(row),
                end_section=bool(view.section_end and view.section_end(row)),
            )
        console.print(table)
        for n in view.notes:
            console.print(Text(n))
        if view.heatmap:
            console.print(_heat(view.heatmap))
        console.print()


def _heat(grid: list[list[float]]) -> Any:
    """Two terminal cells per value, dark to bright; shade characters too, for no-colour terminals."""
    from rich.text import Text

    text = Text()
    for row in grid:
        for v in row:
            level = round(255 * max(0.0, min(1.0, v)) ** 0.5)  # sqrt: faint tails stay visible
            text.append(shade(v) * 2, style=f"rgb({level},{level // 3},0) on rgb({level},{level // 2},{level // 8})")
        text.append("\n")
    return text
