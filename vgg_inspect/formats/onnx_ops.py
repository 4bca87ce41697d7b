"""The rows of each ONNX operator: one function per op type, giving each row's name, the ONNX type
it shows, how its record is made from the shapes that reach it, and the weights it holds. ``r`` is
the reader (``onnx.py``): its initializers, folded integer values and weight counting."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .. import ops
from .graph import Build, Shape, concatenated, fixed, join, same_pads
from .onnx_wire import OnnxNode

# Ops that only make integers from shapes (the legacy exporter's x.view(x.size(0), -1)): no rows
VALUE_OPS = frozenset({"Shape", "Gather", "Unsqueeze", "Concat", "Constant", "Cast", "Squeeze", "Slice"})
ALIASES = frozenset({"Identity", "Transpose"})  # no row: a name for its input (Transpose: layout only)

Rows = list[tuple[str, str, Build, int | None]]


def _ints(n: OnnxNode, name: str, default: Sequence[int]) -> list[int]:
    a = n.attributes.get(name)
    return list(a.ints) if a is not None and a.ints else list(default)


def _int(n: OnnxNode, name: str, default: int) -> int:
    a = n.attributes.get(name)
    return a.i if a is not None and a.i is not None else default


def _float(n: OnnxNode, name: str, default: float) -> float:
    a = n.attributes.get(name)
    return a.f if a is not None and a.f is not None else default


def _text(n: OnnxNode, name: str, default: str) -> str:
    a = n.attributes.get(name)
    return a.s.decode("utf-8", "replace") if a is not None and a.s is not None else default


def _window_pads(n: OnnxNode, shape: Shape, kernel: list[int], stride: list[int], dilation: list[int]) -> list[int]:
    """[top, left, bottom, right] from ``pads`` or ``auto_pad`` (SAME_UPPER pads the extra after,
    SAME_LOWER before, VALID nothing)."""
    auto = _text(n, "auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        (t, b), (left, right) = (same_pads(shape[2 + i], kernel[i], stride[i], dilation[i]) for i in range(2))
        if auto == "SAME_LOWER":
            t, b, left, right = b, t, right, left
        return [t, left, b, right]
    if auto == "VALID":
        return [0, 0, 0, 0]
    return _ints(n, "pads", [0, 0, 0, 0])


Make = Callable[[list[int], Shape], ops.Op]


def _windowed(n: OnnxNode, label: str, make: Make, kernel_of: Callable[[Shape], list[int]],
              pad_mode: str = "constant") -> Rows:  # fmt: skip
    """A conv or pool: symmetric pads go into the record; unequal ones are a Pad row before it."""
    stride = _ints(n, "strides", [1, 1])
    dilation = _ints(n, "dilations", [1, 1])

    def pads(shape: Shape) -> list[int]:
        return _window_pads(n, shape, kernel_of(shape), stride, dilation)

    def symmetric(shape: Shape) -> bool:
        p = pads(shape)
        return p[0] == p[2] and p[1] == p[3]

    def pad_row(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        t, left, b, right = pads(shapes[0])
        return ops.Pad((left, right, t, b), pad_mode), None

    def main(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        p = pads(shapes[0])
        return make(p[:2] if symmetric(shapes[0]) else [0, 0], shapes[0]), None

    auto = _text(n, "auto_pad", "NOTSET")
    explicit = _ints(n, "pads", [0, 0, 0, 0])
    unequal = (auto in ("SAME_UPPER", "SAME_LOWER") and not all(s == 1 for s in stride)) or (
        auto == "NOTSET" and (explicit[0] != explicit[2] or explicit[1] != explicit[3]))  # fmt: skip
    if unequal:
        return [(f"{label}/pad", f"{n.op_type} pads", pad_row, 0), (label, n.op_type, _after_pad(make), None)]
    return [(label, n.op_type, main, None)]


def _after_pad(make: Callable[[list[int], Shape], ops.Op]) -> Build:
    return lambda shapes: (make([0, 0], shapes[0]), None)


def _conv(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    w = r.dims(n.inputs[1]) if len(n.inputs) > 1 else None
    if w is None or len(w) != 4:
        return [(label, "Conv", fixed(ops.Unknown("Conv")), r.held(n.inputs[1:]))]
    groups = _int(n, "group", 1)
    stride = tuple(_ints(n, "strides", [1, 1]))
    dilation = tuple(_ints(n, "dilations", [1, 1]))
    bias = len(n.inputs) > 2 and bool(n.inputs[2])
    held = r.held(n.inputs[1:])

    def make(p: list[int], shape: Shape) -> ops.Op:
        return ops.Conv2d(shape[1], w[0], (w[2], w[3]), (stride[0], stride[-1]), (p[0], p[1]),
                          (dilation[0], dilation[-1]), groups, bias)  # fmt: skip

    made = _windowed(n, label, make, lambda shape: [w[2], w[3]])
    return [(row, t, b, held if p is None else p) for row, t, b, p in made]


def _pool(kind: str) -> Any:
    def rows(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
        kernel = _ints(n, "kernel_shape", [1, 1])
        stride = tuple(_ints(n, "strides", [1, 1]))
        ceil = bool(_int(n, "ceil_mode", 0))
        dilation = tuple(_ints(n, "dilations", [1, 1]))

        def make(p: list[int], shape: Shape) -> ops.Op:
            if kind == "max":
                return ops.MaxPool2d((kernel[0], kernel[-1]), (stride[0], stride[-1]), (p[0], p[1]),
                                     (dilation[0], dilation[-1]), ceil)  # fmt: skip
            return ops.AvgPool2d((kernel[0], kernel[-1]), (stride[0], stride[-1]), (p[0], p[1]), ceil)

        return [(row, t, b, 0) for row, t, b, _ in _windowed(n, label, make, lambda s: kernel)]

    return rows


def _gemm(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    w = r.dims(n.inputs[1]) if len(n.inputs) > 1 else None
    held = r.held(n.inputs[1:])
    if w is None or len(w) != 2 or _int(n, "transA", 0):
        return [(label, "Gemm", fixed(ops.Unknown("Gemm")), held)]
    out_f, in_f = (w[0], w[1]) if _int(n, "transB", 0) else (w[1], w[0])
    bias = len(n.inputs) > 2 and bool(n.inputs[2])
    return [(label, "Gemm", fixed(ops.Linear(in_f, out_f, bias)), held)]


def _matmul(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    w = r.dims(n.inputs[1]) if len(n.inputs) > 1 and r.is_weight(n.inputs[1]) else None
    if w is None or len(w) != 2:  # two activations: MACs, no weight layer

        def product(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
            a, b = shapes[0], shapes[1]
            return ops.MatMul(math.prod(a[:-1]), a[-1], b[-1]), (*a[:-1], b[-1])

        return [(label, "MatMul", product, 0)]
    extra = [i for i in r.bias_of.get(r.model.nodes.index(n), ()) if r.is_weight(i)] if biased else []
    return [(label, "MatMul + Add" if biased else "MatMul", fixed(ops.Linear(w[0], w[1], biased)),
             r.held([n.inputs[1], *extra]))]  # fmt: skip


def _batch_norm(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    scale = r.dims(n.inputs[1]) if len(n.inputs) > 1 else None
    channels = scale[0] if scale else None
    held = r.held(n.inputs[1:3])
    stats = r.held(n.inputs[3:5])

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        return ops.BatchNorm2d(channels or shapes[0][1], True, True), None

    r.statistics_of[label] = stats  # running mean and variance, without torch's num_batches_tracked
    return [(label, "BatchNormalization", build, held)]


def _reshape(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    target = n.inputs[1] if len(n.inputs) > 1 else ""

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        shape = shapes[0]
        want = r.values.get(target)
        if want is None:
            raise ValueError("its target shape is computed at run time from values the file does not fix")
        out = [shape[i] if v == 0 else v for i, v in enumerate(want)]
        if -1 in out:
            known = math.prod(v for v in out if v != -1)
            out[out.index(-1)] = math.prod(shape) // max(known, 1)
        if math.prod(out) != math.prod(shape) and out and math.prod(out[1:]) * shape[0] == math.prod(shape):
            out[0] = shape[0]  # an export at batch 1 fixes its leading 1: --batch scales it
        if math.prod(out) != math.prod(shape):
            raise ValueError(f"cannot reshape {'x'.join(map(str, shape))} to {want}")
        if len(out) == 2 and out[0] == shape[0]:
            return ops.Flatten(1), tuple(out)
        return ops.Unknown("Reshape", mac_free=True), tuple(out)

    return [(label, "Reshape", build, 0)]


def _flatten(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    axis = _int(n, "axis", 1)

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        s = shapes[0]
        a = axis % len(s) if axis else 0
        return ops.Flatten(1), (math.prod(s[:a]), math.prod(s[a:]))

    return [(label, "Flatten", build, 0)]


def _pad(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    mode = {"reflect": "reflect", "edge": "replicate"}.get(_text(n, "mode", "constant"), "constant")
    source = n.inputs[1] if len(n.inputs) > 1 and n.inputs[1] else ""

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        p = r.values.get(source) if source else _ints(n, "pads", [])
        if p is None or len(p) != 8 or any(p[i] for i in (0, 1, 4, 5)):
            raise ValueError(f"pads {p} are not the spatial pads of an (N, C, H, W) map")
        return ops.Pad((p[3], p[7], p[2], p[6]), mode), None

    return [(label, "Pad", build, 0)]


def _softmax(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    axis = _int(n, "axis", 1 if r.model.opset < 13 else -1)
    return [(label, n.op_type, lambda s: (ops.Softmax(axis % len(s[0]), n.op_type == "LogSoftmax"), None), 0)]


def _simple(op: ops.Op) -> Any:
    return lambda r, n, label, biased: [(label, n.op_type, fixed(op), r.held(n.inputs[1:]))]


def _dropout(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    # opset 12 on gives the ratio as a float tensor input, which is not read: no count depends on it
    p = _float(n, "ratio", 0.5)
    return [(label, "Dropout", fixed(ops.Dropout(p)), 0)]


def _lrn(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    op = ops.LocalResponseNorm(_int(n, "size", 5), _float(n, "alpha", 1e-4), _float(n, "beta", 0.75),
                               _float(n, "bias", 1.0))  # fmt: skip
    return [(label, "LRN", fixed(op), 0)]


def _join(kind: str) -> Any:
    def rows(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
        axis = _int(n, "axis", 1)
        held = r.held([i for i in n.inputs if r.is_weight(i)])

        def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
            if kind == "cat":
                return ops.Pointwise("cat", copy=True), concatenated(shapes, axis)
            if len(shapes) == 1:  # x + a weight (a bias): shaped like x
                return ops.Pointwise(kind), shapes[0]
            return join(kind)(shapes)

        return [(label, n.op_type, build, held)]

    return rows


def _global(kind: str) -> Any:
    op: ops.Op = ops.AdaptiveAvgPool2d((1, 1)) if kind == "avg" else ops.AdaptiveMaxPool2d((1, 1))
    return lambda r, n, label, biased: [(label, n.op_type, fixed(op), 0)]


OPS = {
    "Conv": _conv, "MaxPool": _pool("max"), "AveragePool": _pool("avg"), "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _batch_norm, "Reshape": _reshape, "Flatten": _flatten, "Pad": _pad,
    "Softmax": _softmax, "LogSoftmax": _softmax, "Relu": _simple(ops.ReLU(False)),
    "LeakyRelu": _simple(ops.Pointwise("leaky_relu", activation=True)),
    "Sigmoid": _simple(ops.Pointwise("sigmoid", activation=True)), "Dropout": _dropout, "LRN": _lrn,
    "Add": _join("add"), "Sum": _join("add"), "Mul": _join("mul"), "Concat": _join("cat"),
    "GlobalAveragePool": _global("avg"), "GlobalMaxPool": _global("max"),
}  # fmt: skip


def rows(r: Any, n: OnnxNode, label: str, biased: bool) -> Rows:
    """The rows of node ``n``: an op this module does not know is one row of its type, shaped like
    its input, and the report's coverage names it (never a silent zero)."""
    made = OPS.get(n.op_type)
    if made is None:
        return [(label, n.op_type, fixed(ops.Unknown(n.op_type)), r.held(n.inputs[1:]))]
    result: Rows = made(r, n, label, biased)
    return result


def _constant(n: OnnxNode) -> list[int] | None:
    """A Constant node's integers (``value`` as a small integer tensor, ``value_ints``, ``value_int``)."""
    a = n.attributes.get("value")
    if a is not None and a.t is not None:
        return a.t.values
    if (a := n.attributes.get("value_ints")) is not None:
        return list(a.ints)
    if (a := n.attributes.get("value_int")) is not None and a.i is not None:
        return [a.i]
    return None


def value_build(r: Any, n: OnnxNode) -> Build:
    """A node that computes integers from shapes: its values folded as the shapes reach it."""
    out = n.outputs[0] if n.outputs else ""

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        vals = [r.values.get(i) for i in n.inputs if i]
        result: list[int] | None = None
        if n.op_type == "Shape":
            result = list(shapes[0])
        elif n.op_type == "Constant":
            result = _constant(n)
        elif n.op_type == "Gather" and vals and vals[0] is not None and len(vals) > 1 and vals[1] is not None:
            result = [vals[0][i] for i in vals[1]]
        elif n.op_type in ("Unsqueeze", "Squeeze", "Cast") and vals and vals[0] is not None:
            result = vals[0]
        elif n.op_type == "Concat" and vals and all(v is not None for v in vals):
            result = [x for v in vals for x in (v or [])]
        if result is not None:
            r.values[out] = result
        return ops.Unknown(n.op_type, mac_free=True), (len(result) if result is not None else 0,)

    return build


__all__ = ["ALIASES", "OPS", "VALUE_OPS", "Rows", "rows", "value_build"]
