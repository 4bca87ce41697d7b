"""What kind of model a request names, parsed once (pure Python: nothing is imported or run).

* ``Builtin``: a variant name or paper letter (``vgg16``, ``D-BN``), resolved by ``model_spec``;
* ``ConfigList``: a custom layer list (``--config 64,M,128`` or ``config:64,M,128`` in ``diff``);
* ``UserCode``: your own model, ``path/to/file.py:Name`` or ``package.module:Name``: its code runs
  when it is analysed, and only then;
* ``FrameworkFile``: a model saved by another framework, read without it: Keras (``.keras``,
  ``.json``, ``.h5``) or ONNX (``.onnx``).
"""

from __future__ import annotations

import ast
import os
from typing import Any

from ..errors import VggInspectError
from ..records import record

CONFIG_PREFIX = "config:"


@record(frozen=True)
class Builtin:
    name: str | None  # None: the default, vgg16


@record(frozen=True)
class ConfigList:
    layers: str


@record(frozen=True)
class UserCode:
    reference: str  # as given: path/to/file.py:Name or package.module:Name
    source: str  # the file's path or the dotted module: path/to/file.py, package.module
    name: str  # the class, factory or instance in it

    @property
    def is_file(self) -> bool:
        return self.source.endswith(".py") or os.sep in self.source


@record(frozen=True)
class FrameworkFile:
    path: str
    framework: str  # "keras" or "onnx"


FRAMEWORK_EXTENSIONS = {".keras": "keras", ".json": "keras", ".h5": "keras", ".hdf5": "keras", ".onnx": "onnx"}

ModelRef = Builtin | ConfigList | UserCode | FrameworkFile


def framework_of(text: Any) -> str | None:
    """The framework a model path's extension names (``model.onnx``: onnx), None for anything else."""
    if not isinstance(text, str):
        return None
    return FRAMEWORK_EXTENSIONS.get(os.path.splitext(text.strip())[1].lower())


def looks_like_user_code(text: Any) -> bool:
    """``file.py:Name`` or ``package.module:Name`` (not a built-in name, nor ``config:LAYERS``)."""
    return isinstance(text, str) and ":" in text and not text.startswith(CONFIG_PREFIX)


def parse_model(model: Any, config: Any = None) -> ModelRef:
    """The reference a MODEL argument (and ``--config``) make. Values that are no reference at all
    (a number, an empty name) are left to ``model_spec``, whose errors name them."""
    if framework_of(model) is not None and not looks_like_user_code(model):
        return FrameworkFile(model.strip(), str(framework_of(model)))
    if looks_like_user_code(model):
        source, _, name = model.rpartition(":")
        if not source or not name.isidentifier() or ":" in source:
            raise VggInspectError(f"malformed model '{model}': expected path/to/file.py:Name or package.module:Name",
                                  param="model")  # fmt: skip
        return UserCode(model, source, name)
    if isinstance(model, str) and model.startswith(CONFIG_PREFIX) and config is None:
        return ConfigList(model[len(CONFIG_PREFIX) :])
    if model is None and config is not None:
        return ConfigList(config)
    return Builtin(model)


def describe_file(path: str) -> str:
    """A file given without :Name: which names it holds, read with ``ast`` (nothing runs)."""
    if not os.path.isfile(path):
        return f"{path} does not exist; your own model is given as path/to/file.py:Name"
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        return f"{path} cannot be read as Python ({type(exc).__name__}); give your model as file.py:Name"
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
               and any("Module" in ast.unparse(b) for b in n.bases)]  # fmt: skip
    found = f" (nn.Module classes there: {', '.join(classes[:6])})" if classes else ""
    return f"{path} is a file: name the model in it, e.g. {path}:{classes[0] if classes else 'Name'}{found}"
