"""Records: dataclass-like classes whose methods are shared, not generated.

``dataclasses`` compiles an ``__init__``, ``__repr__``, ``__eq__`` (and for frozen classes
``__setattr__``, ``__delattr__``, ``__hash__``) per class with ``exec``: about 0.3 ms a class, paid
by every process at import. The tool defines some forty record types and a CLI call needs most of
them, so that was a third of ``params vgg16``'s time. ``record`` gives the same behaviour (fields
from annotations in MRO order, defaults, ``field(default_factory=...)``, frozen instances,
equality, hashing, ``asdict``, ``replace``) with methods defined once, here. Type checkers read it
as a dataclass through ``dataclass_transform``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
elif sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: only type checkers need it

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda f: f


T = TypeVar("T")
C = TypeVar("C", bound=type)


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made fresh for each instance (lists, dicts)."""
    return _Factory(default_factory)  # type: ignore[return-value]


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _fields(cls: type) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, annotation in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (own only)
            if not _is_classvar(annotation):
                names[name] = None
    return tuple(names)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__record_fields__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, got {len(args)}")
    values = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument '{key}'")
        if key in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument '{key}'")
        values[key] = value
    setter = object.__setattr__
    for name in names:
        if name in values:
            value = values[name]
        else:
            default = cls.__record_defaults__.get(name, _Factory)
            if default is _Factory:
                raise TypeError(f"{cls.__name__}() missing required argument '{name}'")
            value = default.make() if isinstance(default, _Factory) else default
        setter(self, name, value)


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, n) for n in self.__record_fields__)


def _repr(self: Any) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__)
    return f"{type(self).__name__}({inner})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash((type(self), _values(self)))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise AttributeError(f"cannot assign to field '{name}' of frozen {type(self).__name__}")


@overload
@dataclass_transform(field_specifiers=(field,))
def record(cls: C, /) -> C: ...
@overload
def record(*, frozen: bool = False) -> Callable[[C], C]: ...


def record(cls: Any = None, /, *, frozen: bool = False) -> Any:
    """Make ``cls`` a record: ``@record`` or ``@record(frozen=True)``."""

    def wrap(cls: Any) -> Any:
        names = _fields(cls)
        defaults = dict(getattr(cls, "__record_defaults__", {}))
        defaults.update({n: cls.__dict__[n] for n in names if n in cls.__dict__})
        for name in names:  # dataclass semantics: defaults live on instances, not the class
            if name in cls.__dict__:
                delattr(cls, name)
        cls.__record_fields__ = names
        cls.__record_defaults__ = defaults
        cls.__init__ = _init
        if "__repr__" not in cls.__dict__:  # a class's own repr stays (a report's one-line summary)
            cls.__repr__ = _repr
        cls.__eq__ = _eq
        if frozen:
            cls.__setattr__ = _frozen_setattr
            cls.__delattr__ = _frozen_setattr
            cls.__hash__ = _hash
        else:
            cls.__hash__ = None
        return cls

    return wrap if cls is None else wrap(cls)


def is_record(obj: Any) -> bool:
    return hasattr(type(obj), "__record_fields__")


_PLAIN = (int, float, str, bool, type(None))


def asdict(obj: Any) -> Any:
    """Records to dicts, recursively (lists, tuples and dicts too): the JSON form."""
    if type(obj) in _PLAIN:
        return obj
    if is_record(obj):
        return {n: asdict(getattr(obj, n)) for n in obj.__record_fields__}
    if isinstance(obj, (list, tuple)):
        return [asdict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: asdict(v) for k, v in obj.items()}
    return obj


def replace(obj: T, **changes: Any) -> T:
    values = {n: getattr(obj, n) for n in type(obj).__record_fields__}  # type: ignore[attr-defined]
    values.update(changes)
    return type(obj)(**values)
