"""Reading torch's own argument forms: an int or a one- or two-element list for a 2-D window
(module attributes and aten arguments alike)."""

from __future__ import annotations

from typing import Any


def pair(value: Any, default: Any = None) -> tuple[int, int]:
    """``3`` -> (3, 3), ``[3]`` -> (3, 3), ``(2, 3)`` -> (2, 3); None or ``[]`` -> ``default``'s pair."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        value = default
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[-1]))


def optional_pair(value: Any) -> tuple[int | None, int | None]:
    """An adaptive pool's output size, where None keeps the input's size along that axis."""
    return (value, value) if value is None or isinstance(value, int) else (value[0], value[1])


def ints(value: Any, least: int) -> list[int]:
    """Two ints, each at least ``least``, from an int or a list of one or two; [] when it is not that
    (the arguments torch accepts, checked before a formula reads them)."""
    items = [value] if isinstance(value, int) else list(value) if isinstance(value, (list, tuple)) else []
    if not 1 <= len(items) <= 2 or not all(type(i) is int and i >= least for i in items):
        return []
    return items * (3 - len(items)) if len(items) == 1 else items


def arg(args: tuple[Any, ...], index: int, default: Any) -> Any:
    """A positional aten argument that may be left out."""
    return args[index] if len(args) > index else default
