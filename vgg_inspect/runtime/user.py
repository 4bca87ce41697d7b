"""Your own model: ``path/to/file.py:Name`` or ``package.module:Name``, where Name is an nn.Module
subclass, an instance, or a factory. Loading it imports and runs your code (only when you name it).
Errors name the file, the name and your own line; ``--debug`` shows the whole traceback."""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import sysconfig
import traceback
from collections.abc import Iterator
from typing import Any

from . import require

require("torch", "analysing your own model")
import torch  # noqa: E402

from .. import errors  # noqa: E402
from ..errors import AnalysisError, VggInspectError, did_you_mean  # noqa: E402
from ..network.reference import UserCode  # noqa: E402
from . import keras_code  # noqa: E402


def _items(text: str) -> list[str]:
    """``a=[1,2],b='x,y',c=3`` -> its items: split at the commas outside brackets and quotes."""
    items, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """``num_classes=10,batch_norm=true,cfg=[64,'M',128],name='a,b'`` -> Python literals (numbers,
    strings, lists, tuples, dicts), true/false/none in any case, and a bare word as a string."""
    out: dict[str, Any] = {}
    for part in _items(text or ""):
        key, sep, value = part.partition("=")
        if not sep or not key.strip().isidentifier():
            raise VggInspectError(f"malformed {{param}} item '{part}': expected NAME=VALUE", param="kwargs")
        raw = value.strip()
        lowered = raw.lower()
        if lowered in ("true", "false", "none"):
            out[key.strip()] = {"true": True, "false": False, "none": None}[lowered]
            continue
        try:
            out[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if raw[:1] in "[({'\"":
                raise VggInspectError(
                    f"{{param}} value of {key.strip()} is not a Python literal: {raw} (lists, tuples, dicts and "
                    "quoted strings are read as Python writes them)",
                    param="kwargs",
                ) from None
            out[key.strip()] = raw  # a bare word is a string
    return out


def _user_line(exc: BaseException, path: str | None) -> str:
    """Where in the user's own code the exception arose: file:line, or the last frame (a syntax
    error: its own place, not importlib's frame that compiled it)."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if path and os.path.abspath(f.filename) == os.path.abspath(path)]
    chosen = mine or frames
    return f"{chosen[-1].filename}:{chosen[-1].lineno}" if chosen else "?"


def _fail(what: str, exc: BaseException, path: str | None) -> AnalysisError:
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)  # its place is said apart
    first = text.strip().splitlines()[0] if text.strip() else ""
    return errors.code_failed(f"{what} ({_user_line(exc, path)}): {type(exc).__name__}: {first}", exc)


# A model file's folder -> the modules that importing it added from that folder (its siblings).
_SIBLINGS: dict[str, set[str]] = {}


def _within(module: Any, folder: str) -> bool:
    found = getattr(module, "__file__", None)
    return isinstance(found, str) and os.path.abspath(found).startswith(folder + os.sep)


@contextlib.contextmanager
def _as_script(path: str) -> Iterator[None]:
    """Import ``path`` as ``python path`` would run it: its folder first on sys.path, no arguments
    (a module-level ``parse_args()`` must not read vgg-inspect's), and its own sibling modules: two
    model files that each import a ``helpers.py`` of their own must not share the first one."""
    folder = os.path.dirname(os.path.abspath(path))
    for other, names in _SIBLINGS.items():
        for name in names if other != folder else ():
            if _within(sys.modules.get(name), other):
                del sys.modules[name]  # the other file keeps its objects; this file imports its own
    installed = {os.path.abspath(p) + os.sep for p in (sys.prefix, *sysconfig.get_paths().values())}
    before = set(sys.modules)
    argv, sys.argv = sys.argv, [path]
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.argv = argv
        if folder in sys.path:
            sys.path.remove(folder)
        _SIBLINGS.setdefault(folder, set()).update(
            name
            for name in set(sys.modules) - before
            if _within(sys.modules[name], folder)
            and not any(os.path.abspath(sys.modules[name].__file__ or "").startswith(p) for p in installed)
        )


def load(code: UserCode, kwargs_text: Any = None, device: str = "meta") -> tuple[torch.nn.Module, str]:
    """The nn.Module your code names (parsed once, ``network.reference``), and a label for it; a class
    or factory is called under ``device`` (meta by default: no weights are allocated or initialised)."""
    reference, source, name = code.reference, code.source, code.name
    if isinstance(kwargs_text, dict):  # from the Python API: the arguments themselves
        if not all(isinstance(k, str) and k.isidentifier() for k in kwargs_text):
            raise VggInspectError("{param} keys must be argument names", param="kwargs")
        kwargs = dict(kwargs_text)
    elif kwargs_text is None or isinstance(kwargs_text, str):
        kwargs = parse_kwargs(kwargs_text)
    else:
        raise VggInspectError(f"{{param}} must be a dict or NAME=VALUE,... text, got {type(kwargs_text).__name__}",
                              param="kwargs")  # fmt: skip
    path = None
    notes: list[str] = []  # said with a Keras model's report
    if code.is_file:
        path = source
        if not os.path.isfile(path):
            raise VggInspectError(f"{path} does not exist (from '{reference}')", param="model")
        spec = importlib.util.spec_from_file_location(f"vgg_inspect_user_{abs(hash(os.path.abspath(path)))}", path)
        if spec is None or spec.loader is None:
            raise VggInspectError(f"{path} is not a Python file that can be imported", param="model")
        module = importlib.util.module_from_spec(spec)
        try:
            with _as_script(path), keras_code.tensorflow_from_keras(path, notes):
                spec.loader.exec_module(module)
        except Exception as exc:
            raise _fail(f"importing {path} failed", exc, path) from None
    else:
        try:
            module = importlib.import_module(source)
        except ModuleNotFoundError as exc:
            raise VggInspectError(f"cannot import '{source}': {exc}", param="model") from None
        except Exception as exc:
            raise _fail(f"importing {source} failed", exc, getattr(sys.modules.get(source), "__file__", None)) from None
        path = getattr(module, "__file__", None)
    if not hasattr(module, name):
        names = [n for n in dir(module) if not n.startswith("_")]
        raise VggInspectError(f"{source} has no '{name}'{did_you_mean(name, names)}", param="model")
    obj = getattr(module, name)
    label = f"{os.path.basename(source) if path else source}:{name}"
    if keras_code.is_keras(obj):
        raise keras_code.foreign(obj, label, notes)
    if isinstance(obj, torch.nn.Module):
        if kwargs:
            raise VggInspectError(f"{label} is an instance: --kwargs apply to a class or a factory", param="kwargs")
        return obj, label
    if not callable(obj):
        raise VggInspectError(f"{label} is a {type(obj).__name__}, not an nn.Module, a class or a factory",
                              param="model")  # fmt: skip
    try:
        inspect.signature(obj).bind(**kwargs)
    except TypeError as exc:
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        hint = f"--kwargs gave {given}" if given else "give them with --kwargs NAME=VALUE,..."
        raise VggInspectError(f"{label}{inspect.signature(obj)}: {exc}; {hint}", param="kwargs") from None
    except ValueError:
        pass  # no signature to check (a builtin): let the call say
    try:
        with torch.device(device) if not keras_code.uses_keras(module) else contextlib.nullcontext():
            made = obj(**kwargs)
    except Exception as exc:
        raise _fail(f"building {label} failed", exc, path) from None
    if keras_code.is_keras(made):
        raise keras_code.foreign(made, label, notes)
    if not isinstance(made, torch.nn.Module):
        raise VggInspectError(f"{label}(...) returned a {type(made).__name__}, not an nn.Module", param="model")
    return made, label
