"""A Keras model in a Python file (the article's ``vgg16_tf.py``): its code runs because it was named,
and the model it builds is read through its own ``to_json()`` by the Keras reader (``formats``).

Where TensorFlow is not installed but Keras is, ``import tensorflow as tf`` gets ``tf.keras`` as
Keras 3 on its torch backend, so the article's code runs as written."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import types
from collections.abc import Iterator
from typing import Any


class ForeignModel(Exception):
    """Raised by the loader when the object named is a Keras model: its configuration, to be read
    by ``formats.keras`` instead of traced as an nn.Module."""

    def __init__(self, label: str, config: dict[str, Any], notes: list[str]) -> None:
        super().__init__(label)
        self.label, self.config, self.notes = label, config, notes


def is_keras(obj: Any) -> bool:
    """A Keras model instance (by its class's module: no import of keras is needed to tell)."""
    return any(c.__module__.split(".")[0] in ("keras", "tf_keras", "tensorflow") for c in type(obj).__mro__) and \
        callable(getattr(obj, "to_json", None))  # fmt: skip


def uses_keras(module: Any) -> bool:
    """The file imported keras or tensorflow (its factories build Keras models: not on meta)."""
    return any(isinstance(v, types.ModuleType) and v.__name__.split(".")[0] in ("keras", "tensorflow", "tf_keras")
               for v in vars(module).values())  # fmt: skip


def foreign(obj: Any, label: str, notes: list[str]) -> ForeignModel:
    try:
        config = json.loads(obj.to_json())
    except Exception as exc:  # the model's own code: said in one line
        from ..errors import AnalysisError

        raise AnalysisError(f"{label} is a Keras model whose to_json() failed: {type(exc).__name__}: {exc}") from None
    return ForeignModel(label, config, notes)


@contextlib.contextmanager
def tensorflow_from_keras(path: str, notes: list[str]) -> Iterator[None]:
    """``import tensorflow as tf`` in ``path`` where TensorFlow is absent and Keras present: a stand-in
    module whose ``keras`` is Keras 3 (torch backend), for the time the file is imported."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            wants = "tensorflow" in fh.read()
    except OSError:
        wants = False
    if not wants or importlib.util.find_spec("tensorflow") is not None or importlib.util.find_spec("keras") is None:
        yield
        return
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    shim = types.ModuleType("tensorflow")
    shim.keras = keras  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("tensorflow", "tensorflow.keras")}
    sys.modules["tensorflow"], sys.modules["tensorflow.keras"] = shim, keras
    notes.append("TensorFlow is not installed: the file's tf.keras ran as Keras 3 on its torch backend")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
