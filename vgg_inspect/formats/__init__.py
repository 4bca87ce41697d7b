"""Models saved by other frameworks, read without them (pure Python: no torch, keras or onnx).

``read`` gives a ``Description`` (the graph of a Keras config or an ONNX export) and
``description_traces`` the rows the report is built from, exactly as for a torch module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import VggInspectError
from ..ops import Conv2d, LayerKind, Linear
from ..ops.traced import LayerTrace
from .graph import Description, FileError, description_traces

__all__ = ["Description", "FileError", "description_traces", "framework_totals", "keras_config", "read",
           "state_shapes"]  # fmt: skip


def read(path: str, framework: str) -> Description:
    """The model a Keras (``.keras``, ``.json``, ``.h5``) or ONNX (``.onnx``) file describes."""
    if not os.path.exists(path):
        raise VggInspectError(f"{path} does not exist", param="model")
    if not os.path.isfile(path):
        raise VggInspectError(f"{path} is not a regular file", param="model")
    if framework == "onnx":
        from .onnx import read_onnx

        return readable(path, lambda: read_onnx(path))
    from .keras import read as read_keras

    return readable(path, lambda: read_keras(path))


def keras_config(label: str, config: dict[str, Any]) -> Description:
    """A Keras model's configuration (its ``to_json()``), read as a file's would be."""
    from .keras import describe

    return readable(label, lambda: describe(label, config))


def readable(path: str, read_it: Callable[[], Description]) -> Description:
    """What a reader gives, or a one-line error: a value of the wrong type or size anywhere in a
    file (``"filters": "x"``) is the file's problem, said as such, never a traceback."""
    try:
        return read_it()
    except VggInspectError:
        raise
    except RecursionError:
        raise FileError(path, "nests its models too deeply to be a VGG") from None
    except PermissionError:
        raise VggInspectError(f"{path} cannot be read (permission denied)", param="model") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise FileError(path, f"holds a value this reader cannot use ({type(exc).__name__}: {exc})",
                        "is it a model's file as its framework saved it?") from None  # fmt: skip


def framework_totals(desc: Description, traces: list[LayerTrace]) -> str | None:
    """Keras's own totals line, as ``model.summary()`` prints it: Keras counts a BatchNormalization's
    moving mean and variance as non-trainable params (torch calls them buffers), and its "MB" is MiB."""
    if not desc.framework.startswith("Keras"):
        return None
    stats = sum(desc.buffers.values())
    total = sum(t.params for t in traces) + stats
    trainable = sum(t.trainable_params for t in traces)
    mib = total * 4 / 2**20
    line = (f"Keras's own totals (model.summary()): Total params: {total:,} ({mib:.2f} MB), Trainable params: "
            f"{trainable:,}, Non-trainable params: {total - trainable:,}. Its 'MB' is MiB (4 bytes a param, 2^20 "
            "bytes a MiB)")  # fmt: skip
    if stats:
        line += (f"; its non-trainable params include the BatchNormalization moving means and variances "
                 f"({stats:,}), which torch and this tool count as buffers")  # fmt: skip
    return line


def state_shapes(traces: list[LayerTrace], folded_norm: bool) -> tuple[dict[str, tuple[int, ...]], int]:
    """The rows as torchvision's state-dict layout would key them (``features.N.weight``...), for
    ``identify``: a conv, its BatchNorm (also where it was folded into the conv at export), ReLU and
    pool each take an index of ``features``; the rows after the first Linear are ``classifier``."""
    shapes: dict[str, tuple[int, ...]] = {}
    index, part, params = 0, "features", 0
    for t in traces:
        op = t.op
        params += t.params
        if part == "features" and t.op.kind == LayerKind.FC:
            part, index = "classifier", 0
        if part == "features" and t.op.kind in (LayerKind.FLATTEN, LayerKind.AVGPOOL):
            continue
        key = f"{part}.{index}"
        if isinstance(op, Conv2d):
            o = op.out_channels
            shapes[f"{key}.weight"] = (o, op.in_channels // op.groups, *op.kernel_size)
            if op.bias:
                shapes[f"{key}.bias"] = (o,)
            if folded_norm:
                index += 1
                for leaf in ("weight", "bias", "running_mean", "running_var"):
                    shapes[f"{part}.{index}.{leaf}"] = (o,)
        elif op.kind == LayerKind.NORM:
            c = t.output_shape[1]
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{key}.{leaf}"] = (c,)
        elif isinstance(op, Linear):
            shapes[f"{key}.weight"] = (op.out_features, op.in_features)
            if op.bias:
                shapes[f"{key}.bias"] = (op.out_features,)
        elif op.kind not in (LayerKind.RELU, LayerKind.POOL, LayerKind.DROPOUT, LayerKind.LRN):
            continue  # a softmax, a join: no index of its own in torchvision's layout
        index += 1
    return shapes, params
