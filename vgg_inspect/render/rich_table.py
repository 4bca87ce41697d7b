"""Views rendered as rich tables in a terminal (the only module that imports rich).

A table is fitted to the console's width before rendering, so that a number is never cut: first
the columns marked droppable are left out (module path, type...), then numbers switch to their
compact form (SI units), and the notes say what was done and that ``--wide`` shows everything.
Cells never wrap inside a word; prose columns wrap between words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import replace
from .views import Column, View, shade


def _cells(view: View, columns: list[Column], compact: bool) -> list[list[str]]:
    return [[c.cell(r, compact) for c in columns] for r in view.rows]


def _bounds(view: View, columns: list[Column], rows: list[list[str]]) -> list[tuple[int, int]]:
    """Per column, the narrowest width that breaks no cell (prose: no word) and no header word,
    and the width at which nothing wraps at all."""
    from rich.cells import cell_len

    out = []
    for i, c in enumerate(columns):
        cells = [row[i] for row in rows]
        full = max((cell_len(x) for x in cells), default=0)
        unbroken = max((cell_len(w) for x in cells for w in x.split()), default=0) if c.wrap else full
        header_word = max((cell_len(w) for w in c.header.split()), default=0)
        out.append((max(unbroken, header_word, 1), max(full, cell_len(c.header), 1)))
    return out


def _table(view: View, columns: list[Column], rows: list[list[str]], widths: list[int]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(view.title),
        title_justify="left",
        header_style="bold",
        show_lines=False,
        box=box.SIMPLE_HEAD if view.compact else box.HEAVY_HEAD,
        padding=(0, 1),
        pad_edge=not view.compact,
    )
    for c, w in zip(columns, widths):  # fixed widths: rich lays out exactly what was fitted
        table.add_column(Text(c.header), justify=c.justify, width=w, overflow="fold")
    bold = view.emphasis or (lambda _row, _i: False)
    index = [view.columns.index(c) for c in columns]
    for row, cells in zip(view.rows, rows):
        table.add_row(
            # Text, not str: cells are data, never rich markup or emoji codes (and skip parsing them)
            *(Text(cell, style="bold" if bold(row, i) else "") for i, cell in zip(index, cells)),
            style=view.styles(row),
            end_section=bool(view.section_end and view.section_end(row)),
        )
    return table


def _overhead(view: View, n: int) -> int:
    """Borders, separators and padding around ``n`` columns, as rich draws them (measured)."""
    from rich.console import Console
    from rich.measure import Measurement

    probe = View(view.title, [], [], compact=view.compact)
    table = _table(probe, [], [], [])
    for _ in range(n):
        table.add_column("", width=1)
    console = Console(width=10**4)
    return int(Measurement.get(console, console.options, table).maximum) - n


def _layout(view: View, columns: list[Column], compact: bool, width: int | None) -> tuple[Any, int, int]:
    """The table at ``width`` (None: unlimited), its width, and the narrowest width it can take."""
    rows = _cells(view, columns, compact)
    bounds = _bounds(view, columns, rows)
    widths = [low for low, _ in bounds]
    narrowest = sum(widths) + _overhead(view, len(columns))
    spare = (10**9 if width is None else width) - narrowest
    for prose in (False, True):  # widen to stop wrapping: headers of number columns first, then prose
        for i, (c, (_, high)) in enumerate(zip(columns, bounds)):
            if c.wrap == prose and spare > 0:
                grow = min(high - widths[i], spare)
                widths[i] += grow
                spare -= grow
    return _table(view, columns, rows, widths), sum(widths) + _overhead(view, len(columns)), narrowest


def fit(view: View, width: int) -> tuple[Any, int, list[str]]:  # table, its width, notes
    """The table to print and the notes that say what was left out or shortened. If even the
    narrowest form is too wide, it keeps that width and overflows (a number is never cut)."""
    columns = list(view.columns)
    compact = False
    dropped: list[str] = []
    table, used, narrowest = _layout(view, columns, compact, width)
    while narrowest > width:
        droppable = [c for c in columns if c.drop]
        can_compact = not compact and any(c.compact for c in columns)
        if droppable and (not can_compact or max(c.drop for c in droppable) >= 5):
            worst = max(droppable, key=lambda c: c.drop)
            columns.remove(worst)
            dropped.append(worst.header)
        elif can_compact:
            compact = True
        else:
            break
        table, used, narrowest = _layout(view, columns, compact, width)
    if compact:  # columns dropped after compacting may leave room for the exact numbers again
        exact = _layout(view, columns, False, width)
        if exact[2] <= width:
            (table, used, narrowest), compact = exact, False
    notes = []
    if narrowest > width:
        notes.append(f"This table needs {narrowest} columns, more than the {width} available: it is printed whole.")
    if dropped:
        notes.append(f"Left out to fit {width} columns: {', '.join(dropped)} (--wide shows every column).")
    if compact and any(c.compact for c in columns):
        notes.append(
            "Numbers in SI units to fit (K = 10^3, M = 10^6, G = 10^9); --wide or --format csv for exact ones."
        )
    return table, used, notes


def split(view: View, width: int) -> list[View]:
    """A table too wide even in its narrowest form, as several that fit, each keeping the first
    column (the paper's six configurations as A-C, then C-E); one view where none would help."""
    if len(view.columns) < 3:
        return [view]
    key, rest = view.columns[0], list(view.columns[1:])
    if fit(view, width)[1] <= width or _layout(view, [key, rest[0]], True, width)[2] > width:
        return [view]  # it fits (leaving columns out, shortening numbers), or no part would
    groups: list[list[Column]] = [[]]
    for column in rest:
        if groups[-1] and _layout(view, [key, *groups[-1], column], True, width)[2] > width:
            groups.append([])
        groups[-1].append(column)
    parts = []
    for i, group in enumerate(groups, 1):
        last = i == len(groups)  # the notes and a heat map follow the last part
        parts.append(replace(view, title=f"{view.title} ({i} of {len(groups)}, to fit {width} columns)",
                             columns=[key, *group], notes=view.notes if last else [],
                             heatmap=view.heatmap if last else None))  # fmt: skip
    return parts


def to_rich(views: Sequence[View], console: Any, wide: bool = False) -> None:
    from rich.text import Text

    if not wide:
        views = [part for view in views for part in split(view, console.width)]
    for view in views:
        fit_notes: list[str] = []
        if wide:
            table, needed, _ = _layout(view, list(view.columns), False, None)
        else:
            table, needed, fit_notes = fit(view, console.width)
        if view.columns:
            width = console.width
            console.width = max(needed, width)  # rich lays a table out within the console's width
            try:
                console.print(table, crop=False)
            finally:
                console.width = width
        else:
            console.print(Text(view.title))
        for n in [*fit_notes, *view.notes]:
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
