"""The rows of each Keras layer class: one function per class, giving each row's name, the Keras
type it shows and how its record is made from the shapes that reach it. ``r`` is the reader
(``keras.py``): its ``axis`` maps a Keras axis to the tool's (N, C, H, W), and its ``statistics``
collect each BatchNormalization's moving mean and variance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import ops
from .graph import Build, Shape, fixed, join, same_pads

Rows = list[tuple[str, str, Build]]


def _two(value: Any, default: int = 1) -> tuple[int, int]:
    if value is None:
        return (default, default)
    if isinstance(value, int):
        return (value, value)
    items = list(value)
    return (int(items[0]), int(items[-1]))


def activation(name: str) -> ops.Op:
    if name == "relu":
        return ops.ReLU(False)
    if name in ("softmax", "log_softmax"):
        return ops.Softmax(1, name == "log_softmax")
    return ops.Pointwise(name, activation=True)


def _windowed_pads(shape: Shape, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                   padding: str) -> tuple[tuple[int, int], tuple[int, int]]:  # fmt: skip
    """(top, bottom), (left, right) for 'same' (TensorFlow's rule) or 'valid'."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"padding '{padding}' (Keras has 'same' and 'valid')")
    return (
        same_pads(shape[2], kernel[0], stride[0], dilation[0]),
        same_pads(shape[3], kernel[1], stride[1], dilation[1]),
    )


def _conv(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    filters = int(conf.get("filters") or 0)
    kernel, stride = _two(conf.get("kernel_size")), _two(conf.get("strides"))
    dilation, groups = _two(conf.get("dilation_rate")), int(conf.get("groups") or 1)
    bias = bool(conf.get("use_bias", True))
    padding = str(conf.get("padding", "valid")).lower()

    def pads(shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        return _windowed_pads(shape, kernel, stride, dilation, padding)

    def pad(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        (top, bottom), (left, right) = pads(shapes[0])
        return ops.Pad((left, right, top, bottom)), None

    def conv(padded: bool) -> Build:
        def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
            shape = shapes[0]
            if len(shape) != 4:
                raise ValueError("Conv2D needs a 4-D input")
            (top, _), (left, _) = ((0, 0), (0, 0)) if padded else pads(shape)
            return ops.Conv2d(shape[1], filters, kernel, stride, (top, left), dilation, groups, bias), None

        return build

    # 'same' pads floor(total / 2) before and the rest after (TensorFlow's rule): where that can be
    # unequal, a Pad row before the conv carries it exactly (a record's padding is symmetric).
    if padding == "same" and not _symmetric_for_every_size(kernel, stride, dilation):
        return [(f"{name}/pad", "ZeroPadding2D (TensorFlow 'same')", pad), (name, "Conv2D", conv(True))]
    return [(name, "Conv2D", conv(False))]


def _symmetric_for_every_size(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]) -> bool:
    """'same' pads equally on both sides at every input size: stride 1 and an odd effective kernel
    (a VGG's 3x3 convs). Otherwise the pads depend on the size, and a Pad row carries them."""
    return all(s == 1 and (d * (k - 1)) % 2 == 0 for k, s, d in zip(kernel, stride, dilation))


def _pool(kind: str) -> Any:
    def rows(r: Any, name: str, conf: dict[str, Any]) -> Rows:
        size = _two(conf.get("pool_size"), 2)
        stride = _two(conf.get("strides") or size)
        padding = str(conf.get("padding", "valid")).lower()

        def make(pads: tuple[int, int]) -> ops.Op:
            if kind == "max":
                return ops.MaxPool2d(size, stride, pads)
            return ops.AvgPool2d(size, stride, pads)

        def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
            (top, bottom), (left, right) = _windowed_pads(shapes[0], size, stride, (1, 1), padding)
            if top == bottom and left == right:
                return make((top, left)), None
            # after-only padding at stride = size is ceil mode: the last window is cut short
            op = ops.MaxPool2d(size, stride, (top, left), ceil_mode=True) if kind == "max" else \
                ops.AvgPool2d(size, stride, (top, left), ceil_mode=True)  # fmt: skip
            want = (-(-shapes[0][2] // stride[0]), -(-shapes[0][3] // stride[1]))
            if op.output_shape(shapes[0])[2:] != want:
                raise ValueError(f"'same' pooling with pads {(top, bottom)}, {(left, right)} has no torch twin here")
            return op, None

        return [(name, "MaxPooling2D" if kind == "max" else "AveragePooling2D", build)]

    return rows


def _dense(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    units, bias = int(conf.get("units") or 0), bool(conf.get("use_bias", True))
    return [(name, "Dense", lambda s: (ops.Linear(s[0][-1], units, bias), None))]


def _batch_norm(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    axis = conf.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and axis else axis
    center, scale = bool(conf.get("center", True)), bool(conf.get("scale", True))

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        channels = shapes[0][r.axis(int(axis))] if len(shapes[0]) == 4 else shapes[0][-1]
        r.statistics[name] = 2 * channels  # moving mean and variance: Keras's non-trainable params
        if center == scale:  # gamma and beta, or neither
            return ops.BatchNorm2d(channels, center, True), None
        return ops.Normalization("BatchNormalization", channels, False, 0), None  # gamma or beta alone

    return [(name, "BatchNormalization", build)]


def _flatten(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Flatten", fixed(ops.Flatten(1)))]


def _global(kind: str) -> Any:
    def rows(r: Any, name: str, conf: dict[str, Any]) -> Rows:
        op: ops.Op = ops.AdaptiveAvgPool2d((1, 1)) if kind == "avg" else ops.AdaptiveMaxPool2d((1, 1))
        label = "GlobalAveragePooling2D" if kind == "avg" else "GlobalMaxPooling2D"
        if conf.get("keepdims", False):
            return [(name, label, fixed(op))]
        # (N, C) without keepdims: the pool, then its flatten under the layer's own name
        return [(f"{name}/pool", label, fixed(op)), (name, label, fixed(ops.Flatten(1)))]

    return rows


def _dropout(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Dropout", fixed(ops.Dropout(float(conf.get("rate", 0.5)))))]


def _relu(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    plain = not conf.get("max_value") and not conf.get("negative_slope") and not conf.get("threshold")
    return [(name, "ReLU", fixed(ops.ReLU(False) if plain else ops.Pointwise("relu (clipped or leaky)", True)))]


def _activation_layer(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Activation", fixed(activation(str(conf.get("activation", "linear")))))]


def _leaky(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "LeakyReLU", fixed(ops.Pointwise("leaky_relu", activation=True)))]


def _softmax(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Softmax", fixed(ops.Softmax(1)))]


def _add(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Add", join("add"))]


def _concatenate(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    axis = int(conf.get("axis", -1))

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        return join("cat", r.axis(axis) if len(shapes[0]) == 4 else axis)(shapes)

    return [(name, "Concatenate", build)]


def _zero_padding(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    p = conf.get("padding", 1)
    if isinstance(p, int):
        (top, bottom), (left, right) = (p, p), (p, p)
    elif isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) for v in p):
        (top, bottom), (left, right) = (p[0], p[0]), (p[1], p[1])
    else:
        (top, bottom), (left, right) = (tuple(p[0]), tuple(p[1]))
    return [(name, "ZeroPadding2D", fixed(ops.Pad((left, right, top, bottom))))]


def _rescaling(r: Any, name: str, conf: dict[str, Any]) -> Rows:
    return [(name, "Rescaling", fixed(ops.Pointwise("mul")))]


LAYERS = {
    "Conv2D": _conv, "Convolution2D": _conv, "Dense": _dense, "MaxPooling2D": _pool("max"),
    "MaxPool2D": _pool("max"), "AveragePooling2D": _pool("avg"), "AvgPool2D": _pool("avg"), "Flatten": _flatten,
    "Dropout": _dropout, "BatchNormalization": _batch_norm, "ReLU": _relu, "Activation": _activation_layer,
    "LeakyReLU": _leaky, "Softmax": _softmax, "GlobalAveragePooling2D": _global("avg"),
    "GlobalAvgPool2D": _global("avg"), "GlobalMaxPooling2D": _global("max"), "GlobalMaxPool2D": _global("max"),
    "Add": _add, "Concatenate": _concatenate, "ZeroPadding2D": _zero_padding, "Rescaling": _rescaling,
}  # fmt: skip
