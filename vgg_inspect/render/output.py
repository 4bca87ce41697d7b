"""Write a document (JSON) or its views (table, CSV, Markdown) to stdout or a file.

Files are written atomically (a temporary file in the same folder, then renamed), so a failed or
interrupted run never leaves half a golden file; a device or a FIFO is written in place, never
replaced; every write is checked to its last byte (``writes``). ``-`` means stdout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .views import View

FORMATS = ("table", "json", "csv", "markdown", "html")
PIPED_WIDTH = 200  # piped output without COLUMNS is not wrapped to a guessed 80 columns


def emit(
    fmt: str,
    output: str | None,
    document: Any,
    make_views: Callable[[], Sequence[View]],
    wide: bool = False,
    exports: dict[str, str] | None = None,
) -> None:
    """``document`` has ``to_dict()``; ``make_views`` builds its human renderings (only when asked:
    JSON needs neither the views nor their modules). ``exports``: {"svg"|"html": path} of the
    table as rich renders it."""
    if exports:
        export(make_views(), exports, wide)
    if fmt == "json":
        import json

        write(json.dumps(document.to_dict(), indent=2) + "\n", output)
        return
    from . import views

    view_list = make_views()
    if fmt == "html":
        from .html import page

        write(page(view_list, document), output)
    elif fmt == "csv":
        write(views.to_csv(view_list), output)
    elif fmt == "markdown":
        write(views.to_markdown(view_list), output)
    else:
        table(view_list, output, wide)


def table(view_list: Sequence[View], output: str | None, wide: bool) -> None:
    import io

    from rich.console import Console

    from .rich_table import to_rich

    to_file = output not in (None, "-")
    console = Console()
    if console.is_terminal and not to_file:
        to_rich(view_list, console, wide)  # colours and the terminal's own width
        return
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 and not to_file else PIPED_WIDTH
    buffer = io.StringIO()
    to_rich(view_list, Console(file=buffer, width=width, color_system=None), wide)
    write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n", output)


def write(text: str, output: str | None) -> None:
    """To stdout, or atomically to the file ``output``."""
    write_bytes(text.encode("utf-8"), output)


def write_bytes(data: bytes, output: str | None) -> None:
    """To stdout, or to the file ``output`` (atomically; a device or FIFO in place): see ``writes``."""
    from . import writes

    if output in (None, "-"):
        writes.to_stdout(data)
    else:
        assert output is not None
        writes.to_path(data, output)


def export(view_list: Sequence[View], exports: dict[str, str], wide: bool) -> None:
    """The tables as rich draws them, recorded and saved as SVG or HTML (for slides, documents)."""
    import io

    from rich.console import Console

    from .rich_table import to_rich

    console = Console(record=True, width=PIPED_WIDTH if wide else 120, file=io.StringIO(), color_system="truecolor")
    to_rich(view_list, console, wide)
    for kind, path in exports.items():
        text = console.export_svg(title="vgg-inspect", clear=False) if kind == "svg" else console.export_html(
            clear=False, inline_styles=True)  # fmt: skip
        write(text, path)
