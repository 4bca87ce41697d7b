"""The pooling layers' records: max and average pooling, and adaptive average pooling (a plain
window where its windows are equal and evenly spaced, else explicit windows per output). Their
conventions are ``layers.py``'s."""

from __future__ import annotations

from typing import ClassVar

from ..records import record
from .base import Convention, ConvKernel, Geometry, LayerKind, Op, Pair, Saved, Shape, Window, Windows, numel
from .layers import expect_4d, sliding


def _pooled(op: Op, shape: Shape, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool) -> Shape:
    """PyTorch's pooling output size (max and average pooling share it)."""
    n, c, h, w = expect_4d(op, shape)
    out = []
    for size, k, s, p, d in zip((h, w), kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1  # PyTorch: the last window must start inside the input
        out.append(o)
    return (n, c, out[0], out[1])


@record(frozen=True)
class MaxPool2d(Op):
    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)
    kind: ClassVar[LayerKind] = LayerKind.POOL
    type_name: ClassVar[str] = "MaxPool2d"
    kernel_size: Pair = (2, 2)
    stride: Pair = (2, 2)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        return _pooled(self, shape, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        kh, kw = self.kernel_size
        return {"pool": numel(out_shape) * (kh * kw - 1)}

    def onnx_tool_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"pool": numel(out_shape) * self.kernel_size[0] * self.kernel_size[1]}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("input"), Saved("new", numel(out_shape) * 8))  # int64 argmax indices

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        return numel(out_shape) * 8  # CPU computes int64 indices even without autograd

    def geometry(self, in_shape: Shape) -> Geometry:
        return sliding(self.kernel_size, self.stride, self.padding, self.dilation)


@record(frozen=True)
class AvgPool2d(Op):
    """Average pooling with a fixed window (a user's model; the paper's VGG has none)."""

    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)

    kind: ClassVar[LayerKind] = LayerKind.POOL
    type_name: ClassVar[str] = "AvgPool2d"
    kernel_size: Pair = (2, 2)
    stride: Pair = (2, 2)
    padding: Pair = (0, 0)
    ceil_mode: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        return _pooled(self, shape, self.kernel_size, self.stride, self.padding, (1, 1), self.ceil_mode)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        kh, kw = self.kernel_size
        return {"pool": numel(out_shape) * kh * kw}  # window-size adds and a divide per output

    def onnx_tool_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return self.extra_flops(in_shape, out_shape)

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("input"),)

    def geometry(self, in_shape: Shape) -> Geometry:
        return sliding(self.kernel_size, self.stride, self.padding, (1, 1))


def adaptive_bounds(size: int, out: int) -> list[Pair]:
    """PyTorch's adaptive pooling windows: [floor(i*In/Out), ceil((i+1)*In/Out)) per output i."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_axis(size: int, out: int) -> Window | Windows:
    """A plain window when every window has the same size and spacing, else the explicit list."""
    bounds = adaptive_bounds(size, out)
    sizes = {b - a for a, b in bounds}
    steps = {bounds[i + 1][0] - bounds[i][0] for i in range(len(bounds) - 1)} or {sizes.copy().pop()}
    if len(sizes) == 1 and len(steps) == 1:
        return Window(sizes.pop(), steps.pop(), 0)
    return Windows(tuple(bounds))


@record(frozen=True)
class AdaptiveAvgPool2d(Op):
    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)
    kind: ClassVar[LayerKind] = LayerKind.AVGPOOL
    type_name: ClassVar[str] = "AdaptiveAvgPool2d"
    output_size: tuple[int | None, int | None] = (7, 7)

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = expect_4d(self, shape)
        oh, ow = (s if o is None else o for s, o in zip((h, w), self.output_size))
        return (n, c, oh, ow)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        n, c, h, w = in_shape
        _, _, oh, ow = out_shape
        rows = sum(b - a for a, b in adaptive_bounds(h, oh))
        cols = sum(b - a for a, b in adaptive_bounds(w, ow))
        return {"pool": n * c * rows * cols}  # window-size adds+divide per output, summed

    def fvcore_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"macs": 0, "avgpool": numel(in_shape)}  # 1 per input element

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("input"),)

    def geometry(self, in_shape: Shape) -> Geometry:
        out = self.output_shape(in_shape)
        return adaptive_axis(in_shape[2], out[2]), adaptive_axis(in_shape[3], out[3])
