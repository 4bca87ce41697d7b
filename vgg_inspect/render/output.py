"""Write a document (JSON) or its views (table, CSV, Markdown) to stdout or a file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .views import View

FORMATS = ("table", "json", "csv", "markdown")
PIPED_WIDTH = 200  # piped output without COLUMNS is never cut to a guessed 80 columns


def emit(fmt: str, output: str | None, document: Any, make_views: Callable[[], Sequence[View]]) -> None:
    """``document`` has ``to_dict()``; ``make_views`` builds its human renderings (only when asked:
    JSON needs neither the views nor their modules)."""
    if fmt == "json":
        import json

        _write(json.dumps(document.to_dict(), indent=2) + "\n", output)
        return
    from . import views

    view_list = make_views()
    if fmt == "csv":
        _write(views.to_csv(view_list), output)
    elif fmt == "markdown":
        _write(views.to_markdown(view_list), output)
    else:
        from rich.console import Console

        from .rich_table import to_rich

        if output:
            with open(output, "w", encoding="utf-8") as fh:
                to_rich(view_list, Console(file=fh, width=PIPED_WIDTH, color_system=None))
        else:
            console = Console()
            if not console.is_terminal:
                import os

                columns = os.environ.get("COLUMNS", "")
                console = Console(width=int(columns) if columns.isdigit() and int(columns) > 0 else PIPED_WIDTH)
            to_rich(view_list, console)


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
