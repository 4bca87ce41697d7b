"""Argument checks shared by the Python API: wrong types and values become VggInspectError.

Counts must be real integers (``bool`` and ``float`` are refused, never truncated); the error names
the parameter so that the CLI can print its option name instead.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from .errors import VggInspectError

_SIZE_RE = re.compile(r"^\s*(\d+)\s*(?:[x×]\s*(\d+)\s*)?$", re.IGNORECASE)


def count(value: Any, param: str, minimum: int = 1) -> int:
    """An integer >= ``minimum``; anything else (a str, a float, a bool) is a VggInspectError."""
    if isinstance(value, bool) or isinstance(value, float):
        raise VggInspectError(f"{{param}} must be an integer, got {value!r}", param=param)
    try:
        number = operator.index(value)
    except TypeError:
        raise VggInspectError(
            f"{{param}} must be an integer, got {type(value).__name__} {value!r}", param=param
        ) from None
    if number < minimum:
        raise VggInspectError(f"{{param}} must be at least {minimum}, got {number}", param=param)
    return number


def flag(value: Any, param: str) -> bool:
    """True or False, nothing else: ``"no"`` and ``1`` are not booleans (``"no"`` is truthy)."""
    if not isinstance(value, bool):
        raise VggInspectError(f"{{param}} must be True or False, got {type(value).__name__} {value!r}", param=param)
    return value


def input_size(value: Any, param: str = "input_size") -> tuple[int, int]:
    """``224`` or ``"224"`` -> (224, 224); ``"224x320"`` or ``(224, 320)`` -> (H, W)."""
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m:
            raise VggInspectError(
                f"malformed {{param}} '{value}': expected a size S or HxW, e.g. 224 or 224x320", param=param
            )
        h = int(m.group(1))
        w = int(m.group(2)) if m.group(2) is not None else h
        if h <= 0 or w <= 0:
            raise VggInspectError(f"{{param}} must be positive, got '{value}'", param=param)
        return h, w
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise VggInspectError(f"{{param}} must be S or (H, W), got {value!r}", param=param)
        return count(value[0], param), count(value[1], param)
    side = count(value, param)
    return side, side


def input_sizes(text: str, param: str = "input_size") -> list[tuple[int, int]]:
    """``"224,320,448"`` -> one (H, W) per comma-separated entry."""
    return [input_size(part, param) for part in str(text).split(",")]


def counts(text: Any, param: str) -> list[int]:
    """``"1,8,64"`` -> [1, 8, 64]: each a count >= 1, repeats dropped, order kept."""
    found = []
    for part in str(text).split(","):
        if not (part.strip().isascii() and part.strip().isdigit()):  # '²' is a digit to isdigit, not to int
            raise VggInspectError(f"malformed {{param}} '{text}': expected N or a comma list such as 1,8,64",
                                  param=param)  # fmt: skip
        found.append(count(int(part), param))
    return list(dict.fromkeys(found))


def names(text: Any, param: str, example: str) -> list[str]:
    """``"float32, bf16"`` -> ["float32", "bf16"]: a comma list with no empty part (each checked by its user)."""
    found = [part.strip() for part in str(text).split(",")]
    if not all(found):
        raise VggInspectError(f"malformed {{param}} '{text}': expected a name or a comma list such as {example}",
                              param=param)  # fmt: skip
    return found


def shape(value: Any, param: str = "input_shape") -> tuple[int, ...]:
    """A tensor shape: a tuple of positive integers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise VggInspectError(
            f"{{param}} must be a tuple of integers such as (1, 3, 224, 224), got {value!r}", param=param
        )
    dims = tuple(count(v, param) for v in value)
    if not dims:
        raise VggInspectError("{param} must have at least one dimension", param=param)
    return dims


def choice(value: Any, param: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise VggInspectError(f"unknown {{param}} {value!r}; expected one of {', '.join(choices)}", param=param)
    return value
