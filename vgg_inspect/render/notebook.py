"""A report as people look at it from Python: ``print(report)`` (the summary table as text),
``rich.print(report)`` and a notebook's cell output (HTML). The package installs these on
``Report`` (the core may not import renderers); nothing here is imported until a report is shown."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from typing import Any, Literal

TEXT_WIDTH = 120  # when the width of where it goes is unknown


def _views(report: Any) -> list[Any]:
    """The summary (with its groups), then the section an API call added (a roofline, storage, a
    bench): the tables the command of that name prints."""
    from . import presenters as p

    views = list(p.summary_views(report))
    sections: dict[str, Callable[[Any], list[Any]]] = {
        "roofline": p.roofline_views, "storage": p.storage_views, "bench": p.bench_views
    }  # fmt: skip
    for section, more in sections.items():
        if getattr(report, section, None) is not None:
            views += more(report)
    return views


def as_text(report: Any) -> str:
    from rich.console import Console

    from .rich_table import to_rich

    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else shutil.get_terminal_size((TEXT_WIDTH, 24)).columns
    buffer = io.StringIO()
    to_rich(_views(report), Console(file=buffer, width=width, color_system=None), False)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def as_rich(report: Any) -> Any:
    """A renderable for rich (``rich.print(report)``): the tables at the console's width."""
    from rich.console import Console, ConsoleOptions, RenderResult

    from .rich_table import to_rich

    class Rendered:
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            buffer = io.StringIO()
            colours: Literal["truecolor"] | None = "truecolor" if console.color_system else None
            to_rich(_views(report), Console(file=buffer, width=options.max_width, force_terminal=True,
                                            color_system=colours), False)  # fmt: skip
            from rich.text import Text

            yield Text.from_ansi(buffer.getvalue())

    return Rendered()


def as_html(report: Any) -> str:
    """The summary tables as an HTML fragment (a notebook cell's output), with the page's styles."""
    from .html import STYLE, _view

    return f"<div class='vgg-inspect'><style>{scoped(STYLE)}</style>{''.join(_view(v) for v in _views(report))}</div>"


def scoped(css: str, scope: str = ".vgg-inspect") -> str:
    """The page's styles confined to the tool's own container: every selector under ``scope``, and
    the page-wide ones (``:root``, ``body``, ``main``, ``*``) the container itself, so a notebook's
    own tables, headings and fonts are left as they were. At-rules (@media) are scoped inside."""
    import re

    def selectors(text: str) -> str:
        out = []
        for sel in text.split(","):
            sel = sel.strip()
            if sel in (":root", "body", "main", "html"):
                out.append(scope)
            elif sel == "*":
                out.append(f"{scope}, {scope} *")
            else:
                out.append(f"{scope} {sel}")
        return ", ".join(out)

    def block(text: str) -> str:
        return re.sub(r"([^{}]+)\{([^{}]*)\}", lambda m: f"{selectors(m.group(1))} {{{m.group(2)}}}", text)

    # at-rules keep their condition and have their inner rules scoped
    return re.sub(r"(@[^{]+)\{((?:[^{}]*\{[^{}]*\})*[^{}]*)\}", lambda m: f"{m.group(1)}{{{block(m.group(2))}}}",
                  block_outside_at_rules(css, block))  # fmt: skip


def block_outside_at_rules(css: str, block: Callable[[str], str]) -> str:
    """``block`` applied to the plain rules, the @-rules left for their own pass."""
    import re

    parts = re.split(r"(@[^{]+\{(?:[^{}]*\{[^{}]*\})*[^{}]*\})", css)
    return "".join(p if p.startswith("@") else block(p) for p in parts)
