"""Reading torch's own argument forms: an int or a one- or two-element list for a 2-D window
(module attributes and aten arguments alike), and an aten call's arguments by their schema's names."""

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


class AtenArgs(tuple[Any, ...]):
    """An aten call's positional arguments, also read by the names of the op's schema:
    ``a["stride"]`` is the argument given, or the schema's default where it was left out. A name the
    schema does not have raises ``KeyError`` (a binding's mistake, found by the op suite), where a
    wrong index would have read another argument or been swallowed into an unknown row."""

    names: tuple[str, ...]
    given: dict[str, Any]

    def __new__(
        cls, args: tuple[Any, ...], names: tuple[str, ...] = (), given: dict[str, Any] | None = None
    ) -> AtenArgs:
        made = super().__new__(cls, args)
        made.names = names
        made.given = given or {}
        return made

    @classmethod
    def of(cls, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> AtenArgs:
        """The arguments of a call to ``func`` (an aten OpOverload), with its schema's names and defaults."""
        schema = getattr(func, "_schema", None)
        if schema is None:
            return cls(args)
        names = tuple(a.name for a in schema.arguments)
        given = {a.name: a.default_value for a in schema.arguments if a.has_default_value()}
        given.update(dict(zip(names, args)))
        given.update(kwargs or {})
        return cls(args, names, given)

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        if key not in self.names:
            raise KeyError(f"aten argument '{key}' is not in the op's schema ({', '.join(self.names) or 'none'})")
        return self.given.get(key)

    def get(self, key: str, default: Any = None) -> Any:
        """An argument only some of the op's overloads have (``running_mean`` of batch norm's
        ``no_stats``, ``scales_h`` of an upsampling's ``default`` but not its ``vec``)."""
        return self[key] if key in self.names else default
