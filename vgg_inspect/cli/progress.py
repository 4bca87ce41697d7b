"""What long work shows on stderr while it runs, where stderr is a terminal: a progress bar (bench's
timing loop, the effective field's samples) or a spinner (the peers' runs, a large file read)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr while something runs, where stderr is a terminal (gone when it is
    done; nothing at all in a pipe, a file or CI); each call advances it."""
    import sys

    if not sys.stderr.isatty():
        yield lambda what: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda what: progress.update(task, advance=1, description=what)


@contextlib.contextmanager
def working(what: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr saying what runs, where stderr is a terminal (nothing in a pipe, a file or
    CI): the peers' real runs, an identification of a large file. Each call says what runs now."""
    import sys

    if not sys.stderr.isatty():
        yield lambda what: None
        return
    from rich.console import Console

    with Console(stderr=True).status(what) as status:
        yield status.update
