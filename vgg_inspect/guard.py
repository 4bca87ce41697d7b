"""Your model's code runs inside the tool, and cannot end it or write into its output.

While the API runs (and so your module's import, construction and forward), what your code prints
goes to stderr, never into ``--format json`` on stdout; a ``sys.exit()`` (or an ``argparse`` that
rejects the arguments) becomes an :class:`AnalysisError` naming your line, instead of ending the
tool with your exit code (``check FILE:Net`` passing in CI without checking anything).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .errors import AnalysisError

F = TypeVar("F", bound=Callable[..., Any])

_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _library(filename: str) -> bool:
    """A frame of Python's own library, of vgg-inspect, or of importlib's frozen modules."""
    if filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    paths = sysconfig.get_paths()
    sites = [paths[k] + os.sep for k in ("purelib", "platlib")]
    in_stdlib = path.startswith(paths["stdlib"] + os.sep) and not any(path.startswith(s) for s in sites)
    return in_stdlib or path.startswith(_OWN)


def exit_message(exc: SystemExit) -> str:
    """What the model's exit means, with the line of the model's code that led to it."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not _library(f.filename)]
    where = f"{mine[-1].filename}:{mine[-1].lineno}" if mine else "in your model's code"
    code = exc.code
    if any(os.path.basename(f.filename) == "argparse.py" for f in frames):
        return (
            f"your model's file parses the command line when it runs ({where}: argparse exited with {code!r}); "
            'put the parsing under `if __name__ == "__main__":` so that importing the file does not read it'
        )
    return (
        f"your model's code called sys.exit({code!r}) ({where}); vgg-inspect does not end with it: "
        "a model's code must not exit the process it is imported into"
    )


# Which contexts (a thread, an asyncio task) are inside a contained call: their prints go to stderr.
_CONTAINED: contextvars.ContextVar[bool] = contextvars.ContextVar("vgg_inspect_contained", default=False)
_LOCK = threading.Lock()
_users = 0  # contained calls running now, in every thread
_saved: Any = None  # sys.stdout before the first of them


class _Router:
    """``sys.stdout`` while any call is contained: a contained context writes to stderr, every other
    thread to the stdout it had. Swapping sys.stdout itself per call (redirect_stdout) is not safe
    with threads: overlapping calls restore each other's swaps, and stdout stays on stderr for good."""

    def __init__(self, stdout: Any) -> None:
        self._stdout = stdout

    def _target(self) -> Any:
        return sys.stderr if _CONTAINED.get() else self._stdout

    def write(self, text: str) -> int:
        return int(self._target().write(text))

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


@contextlib.contextmanager
def contained() -> Iterator[None]:
    """Model code's stdout to stderr; its ``SystemExit`` to an ``AnalysisError`` (exit code 1)."""
    global _users, _saved
    with _LOCK:
        if _users == 0:
            _saved = sys.stdout
            sys.stdout = _Router(_saved)
        _users += 1
    token = _CONTAINED.set(True)
    try:
        yield
    except SystemExit as exc:
        raise AnalysisError(exit_message(exc)) from None
    finally:
        _CONTAINED.reset(token)
        with _LOCK:
            _users -= 1
            if _users == 0:
                if isinstance(sys.stdout, _Router):  # unless the caller replaced it meanwhile
                    sys.stdout = _saved
                _saved = None


def containing(f: F) -> F:
    """``f`` runs :func:`contained` (an API function that may run the model's own code)."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        with contained():
            return f(*args, **kwargs)

    return run  # type: ignore[return-value]
