"""The one exception type of the Python API, and "did you mean" suggestions.

``VggInspectError`` subclasses ``ValueError``: wrong values *and* wrong types given to the API are
reported with it, in neutral words ("batch must be at least 1, got 0"). A message may name the
parameter it is about (``param``); the CLI renders that name as its option (``--batch``).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable

DEBUG = False  # the CLI's --debug: errors raised from a user's code also print its traceback


class VggInspectError(ValueError):
    """Bad input: the message says what was wrong and what would be right. CLI exit code 2.

    ``message`` may contain ``{param}``, which is replaced by the parameter's name: the Python
    name in ``str(error)``, the option name in the CLI (see :meth:`render`).
    """

    exit_code = 2

    def __init__(self, message: str, *, param: str | None = None) -> None:
        self.template = message
        self.param = param
        super().__init__(self.render())

    def render(self, names: dict[str, str] | None = None) -> str:
        """The message with ``{param}`` spelled as ``names[param]`` (default: the Python name)."""
        if self.param is None:
            return self.template
        name = (names or {}).get(self.param, self.param)
        return self.template.replace("{param}", name)


class AnalysisError(VggInspectError):
    """A valid request that cannot be carried out here (a model that fails at this input,
    a measurement that needs CUDA). CLI exit code 1."""

    exit_code = 1


class MissingDependency(VggInspectError):
    """An optional package (torch, torchinfo, fvcore) that this request needs is not installed."""

    exit_code = 2


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message ("" for none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def code_failed(message: str, exc: BaseException) -> AnalysisError:
    """The one-line error for an exception raised in a model's own code (loading it, tracing it,
    timing it): ``message`` says what failed, where and why; under ``--debug`` its traceback is
    printed first."""
    if DEBUG:
        traceback.print_exception(exc, file=sys.stderr)
    return AnalysisError(f"{message}; --debug shows the traceback")


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a swap of two neighbours (vgg61 -> vgg16) is one edit."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """'; did you mean X or Y?' for the closest choices (typos and swaps first), or ''."""
    lowered = word.lower()
    # Ties go to the same letters in another order (vgg61 -> vgg16 before vgg11).
    scored = sorted(
        (edit_distance(lowered, c.lower()), sorted(lowered) != sorted(c.lower()), c) for c in dict.fromkeys(choices)
    )
    limit = max(2, len(word) // 3)
    best = [c for dist, _, c in scored if dist <= limit][:n]
    return "; did you mean " + " or ".join(best) + "?" if best else ""
