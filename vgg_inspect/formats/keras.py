"""A Keras model from its configuration, without Keras: ``model.to_json()`` (Keras 3, or Keras 2 /
tf.keras), a ``.keras`` zip (its ``config.json`` member alone; the weights are never read) or a
legacy full-model ``.h5`` (the root attribute ``model_config``; h5py, an optional extra).

Sequential and Functional models, nested ones flattened into ``outer/inner`` names. Shapes are
kept in the tool's (N, C, H, W) layout; a channels_last model's own layout is named in a note.
A layer's activation (``Conv2D(..., activation="relu")``) is a row of its own, as in torch.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from typing import Any

from .. import ops
from ..errors import MissingDependency
from .graph import MODEL_INPUT, Build, Description, FileError, Node, check_dim, fixed
from .keras_layers import LAYERS, activation

MAX_CONFIG_BYTES = 64 << 20  # a config is kilobytes; more is not a config
MODELS = ("Sequential", "Functional", "Model")


def read(path: str) -> Description:
    """The model a ``.json``, ``.keras`` or ``.h5`` file describes."""
    config = load_config(path)
    return describe(path, config)


def load_config(path: str) -> dict[str, Any]:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".keras":
        raw = _zip_member(path, "config.json")
    elif ext in (".h5", ".hdf5"):
        raw = _h5_config(path)
    else:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise FileError(path, "is larger than any model configuration", "give model.to_json()'s output")
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileError(path, f"is not JSON ({str(exc).splitlines()[0]})", "give model.to_json()'s output") from None
    if not isinstance(config, dict) or "class_name" not in config or not isinstance(config.get("config"), dict):
        raise FileError(path, "is JSON, but not a Keras model (no class_name and config at its top)",
                        "give the output of model.to_json(), a .keras file or a full-model .h5")  # fmt: skip
    return config


def _zip_member(path: str, member: str) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(member)
            except KeyError:
                raise FileError(path, f"is a zip without {member}", "a .keras file from model.save()") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise FileError(path, f"its {member} declares {info.file_size:,} bytes, more than any config")
            return archive.read(info)  # that member only: the weights are never read
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise FileError(path, f"is not a readable .keras zip ({exc})") from None


def _h5_config(path: str) -> bytes:
    try:
        import h5py
    except ImportError:
        raise MissingDependency("reading a Keras .h5 file needs h5py: pip install h5py (or save the model as "
                                ".keras, or its model.to_json(), which need nothing)") from None  # fmt: skip
    try:
        with h5py.File(path, "r") as fh:
            raw = fh.attrs.get("model_config")
    except OSError as exc:
        raise FileError(path, f"is not a readable HDF5 file ({str(exc).splitlines()[0]})") from None
    if raw is None:
        raise FileError(path, "holds no model_config (a weights-only .h5?)", "save the whole model, or use .keras")
    return raw if isinstance(raw, bytes) else str(raw).encode()


# --- the graph ---


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes: list[Node] = []
        self.input_shape: list[int | None] | None = None
        self.channels_first = False
        self.trainable_off: set[str] = set()
        self.statistics: dict[str, int] = {}  # BatchNormalization name -> its moving mean and variance count

    def fail(self, problem: str) -> FileError:
        return FileError(self.path, problem)

    # A Keras tensor's name here is "layer:node:index"; a layer with one output writes "layer:0:0".
    @staticmethod
    def tensor(layer: str, node: int = 0, index: int = 0) -> str:
        return f"{layer}:{node}:{index}"

    def model(self, cfg: dict[str, Any], prefix: str, inputs: Sequence[str]) -> list[str]:
        """Read a (possibly nested) model whose inputs are the tensors ``inputs``; its output tensors."""
        kind = cfg.get("class_name")
        conf = cfg.get("config")
        if not isinstance(conf, dict):
            raise self.fail(f"the model {prefix or '(top)'} has no config")
        layers = conf.get("layers")
        if not isinstance(layers, list):
            raise self.fail(f"{kind} {conf.get('name', '')} lists no layers")
        if kind == "Sequential":
            return self.sequential(layers, prefix, inputs, conf)
        return self.functional(layers, prefix, inputs, conf)

    def sequential(self, layers: list[Any], prefix: str, inputs: Sequence[str], conf: dict[str, Any]) -> list[str]:
        current = list(inputs)
        shape = conf.get("build_input_shape")
        if isinstance(shape, list) and not prefix and self.input_shape is None:
            self.input_shape = shape
        for i, layer in enumerate(layers):
            if not isinstance(layer, dict):
                raise self.fail(f"layer {i} of {conf.get('name', 'the model')} is not a layer")
            lconf: dict[str, Any] = layer["config"] if isinstance(layer.get("config"), dict) else {}
            name = prefix + str(lconf.get("name", f"layer_{i}"))
            if layer.get("class_name") == "InputLayer" or (i == 0 and "batch_input_shape" in lconf):
                if not prefix and self.input_shape is None:
                    self.input_shape = lconf.get("batch_shape") or lconf.get("batch_input_shape")
                if layer.get("class_name") == "InputLayer":
                    continue
            current = self.layer(layer, name, current)
        return current

    def functional(self, layers: list[Any], prefix: str, inputs: Sequence[str], conf: dict[str, Any]) -> list[str]:
        names = {str(layer.get("name") or (layer.get("config") or {}).get("name")): layer for layer in layers
                 if isinstance(layer, dict)}  # fmt: skip
        input_layers = _pairs(conf.get("input_layers"))
        outputs = {}  # a layer's own name -> the tensor names it writes
        for j, (lname, _, _) in enumerate(input_layers):
            layer = names.get(lname)
            if layer is None:
                raise self.fail(f"input layer {lname} is not among the layers")
            lconf = layer.get("config") or {}
            if not prefix and self.input_shape is None:
                self.input_shape = lconf.get("batch_shape") or lconf.get("batch_input_shape")
            outputs[self.tensor(lname)] = inputs[j] if j < len(inputs) else MODEL_INPUT
        for layer in layers:
            if not isinstance(layer, dict):
                raise self.fail("a layer of the model is not a layer")
            lname = str(layer.get("name") or (layer.get("config") or {}).get("name"))
            if layer.get("class_name") == "InputLayer":
                continue
            inbound = _inbound(layer.get("inbound_nodes"))
            if inbound is None:
                raise self.fail(f"{lname}'s inbound_nodes cannot be read")
            for n, sources in enumerate(inbound):
                reads = []
                for src in sources:
                    key = self.tensor(*src)
                    if key not in outputs:
                        outputs[key] = prefix + key  # made later (checked by the graph's order) or nowhere
                    reads.append(outputs[key])
                made = self.layer(layer, prefix + lname + (f"_{n}" if n else ""), reads)
                for k, tensor in enumerate(made):
                    outputs[self.tensor(lname, n, k)] = tensor
        result = []
        for lname, n, k in _pairs(conf.get("output_layers")):
            key = self.tensor(lname, n, k)
            if key not in outputs:
                raise self.fail(f"output layer {lname} is not among the layers")
            result.append(outputs[key])
        return result

    def layer(self, layer: dict[str, Any], name: str, inputs: Sequence[str]) -> list[str]:
        """The rows of one layer (the layer and its activation); the tensor it writes."""
        kind = str(layer.get("class_name"))
        conf: dict[str, Any] = layer["config"] if isinstance(layer.get("config"), dict) else {}
        if kind in MODELS:
            return self.model(layer, name + "/", inputs)
        if conf.get("trainable") is False:
            self.trainable_off.add(name)
        if conf.get("data_format") == "channels_first":
            self.channels_first = True
        made = LAYERS.get(kind)
        builds: list[tuple[str, str, Build]] = made(self, name, conf) if made else [
            (name, kind, fixed(ops.Unknown(kind)))]  # fmt: skip
        act = conf.get("activation")
        if kind in ("Conv2D", "Dense") and act not in (None, "linear"):
            builds.append((f"{name}/{act}", str(act), fixed(activation(str(act)))))
        current = list(inputs)
        for row, label, build in builds:
            frozen = 0 if name in self.trainable_off else None  # trainable false: its weights count as non-trainable
            self.nodes.append(Node(row, label, build, tuple(current), row, trainable=frozen))
            current = [row]
        return current

    def axis(self, axis: int) -> int:
        """A 4-D Keras axis in the tool's (N, C, H, W) layout."""
        if self.channels_first:
            return axis % 4
        return {0: 0, 1: 2, 2: 3, 3: 1}[axis % 4]


def _pairs(value: Any) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: [name, node, index] or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    out = []
    for item in value or []:
        if isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str):
            out.append((item[0], int(item[1]), int(item[2])))
    return out


def _inbound(value: Any) -> list[list[tuple[str, int, int]]] | None:
    """Each call of a layer: the (layer, node, index) of every tensor it reads. Keras 3 writes
    ``{"args": [tensor or [tensors]], "kwargs": {}}``; Keras 2 ``[[name, node, index, kwargs], ...]``."""
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    calls = []
    for call in value:
        if isinstance(call, dict):  # Keras 3
            found: list[tuple[str, int, int]] = []
            _keras_tensors(call.get("args"), found)
            calls.append(found)
        elif isinstance(call, list):  # Keras 2
            calls.append([(str(t[0]), int(t[1]), int(t[2])) for t in call if isinstance(t, list) and len(t) >= 3])
        else:
            return None
    return calls


def _keras_tensors(value: Any, found: list[tuple[str, int, int]]) -> None:
    if isinstance(value, dict):
        history = (value.get("config") or {}).get("keras_history") if value.get("class_name") == "__keras_tensor__" \
            else None  # fmt: skip
        if isinstance(history, list) and len(history) == 3:
            found.append((str(history[0]), int(history[1]), int(history[2])))
    elif isinstance(value, list):
        for item in value:
            _keras_tensors(item, found)


def describe(path: str, config: dict[str, Any]) -> Description:
    reader = _Reader(path)
    outputs = reader.model(config, "", [MODEL_INPUT])
    if not reader.nodes:
        raise FileError(path, "describes a model with no layers")
    shape = reader.input_shape
    if not isinstance(shape, list) or len(shape) != 4:
        raise FileError(path, f"declares input shape {shape}, not an image batch (None, H, W, C)",
                        "vgg-inspect reads 2-D convolutional models")  # fmt: skip
    dims = shape[1:] if reader.channels_first else [shape[3], shape[1], shape[2]]
    c, h, w = (check_dim(path, int(d), "a declared input dimension") if d is not None else None for d in dims)
    if c is None:
        raise FileError(path, "leaves the input's channel count free", "the first layer needs a known one")
    keras2 = str(config.get("keras_version", "")).startswith("2") or _keras2(config)
    version = "Keras 2 (tf.keras)" if keras2 else "Keras 3"
    desc = Description(version, str(config["config"].get("name", "keras_model")), reader.nodes,
                       (1, c, h or 0, w or 0), "NCHW" if reader.channels_first else "NHWC",
                       outputs=tuple(outputs))  # fmt: skip
    if reader.trainable_off:
        desc.notes.append(f"frozen in the file (trainable false): {', '.join(sorted(reader.trainable_off))}")
    desc.buffers = reader.statistics  # filled as the traces are made
    return desc


def _keras2(config: dict[str, Any]) -> bool:
    layers = (config.get("config") or {}).get("layers") or []
    return any(isinstance(layer, dict) and "batch_input_shape" in (layer.get("config") or {}) for layer in layers)
