"""Operators that change the grid: padding, cropping by slicing, upsampling (nearest, bilinear) and
transposed convolutions (FCN's), and adaptive max pooling.

Conventions: a transposed conv has MACs (each input element times each of its kernel's taps and
output channels, bias excluded: what FlopCounterMode counts); padding, cropping and interpolation
have none (``--include elementwise``: bilinear 4 per output element, nearest 0). Their receptive
fields are exact per output unit: each unit's input positions are listed (``Windows``), so an
upsampled unit reads the one or two pixels it interpolates, a transposed conv's unit the inputs
whose kernels reach it.
"""

from __future__ import annotations

from typing import ClassVar

from ..records import record
from .base import Axis, AxisOp, ConvKernel, Geometry, LayerKind, Op, Pair, Shape, Window, Windows, numel
from .layers import WeightLayer
from .pooling import adaptive_axis


def _four(op: Op, shape: Shape) -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ValueError(f"{op.type_name} expects an (N, C, H, W) input, got shape {shape}")
    n, c, h, w = shape
    return n, c, h, w


@record(frozen=True)
class Crop(Op):
    """``x[..., start:stop:step]`` along one spatial axis (``dim`` 2 or 3): a view, no new storage."""

    kind: ClassVar[LayerKind] = LayerKind.RESAMPLE
    type_name: ClassVar[str] = "Crop"
    inplace: ClassVar[bool] = True
    rules_measured: ClassVar[bool] = False
    dim: int = 2
    start: int = 0
    stop: int = 1
    step: int = 1

    def output_shape(self, shape: Shape) -> Shape:
        out = list(shape)
        out[self.dim] = max(0, -(-(min(self.stop, shape[self.dim]) - self.start) // self.step))
        return tuple(out)

    def geometry(self, in_shape: Shape) -> Geometry:
        window = Window(1, self.step, -self.start)
        return (window, Axis.POINT) if self.dim == 2 else (Axis.POINT, window)


@record(frozen=True)
class Pad(Op):
    """``F.pad`` / ``nn.ZeroPad2d``: (left, right, top, bottom); ``mode`` constant, reflect or replicate."""

    kind: ClassVar[LayerKind] = LayerKind.RESAMPLE
    type_name: ClassVar[str] = "Pad"
    rules_measured: ClassVar[bool] = False
    padding: tuple[int, int, int, int] = (1, 1, 1, 1)
    mode: str = "constant"

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _four(self, shape)
        left, right, top, bottom = self.padding
        return (n, c, h + top + bottom, w + left + right)

    def _axis(self, size: int, before: int, after: int) -> AxisOp:
        if self.mode == "constant":
            return Window(1, 1, before)
        bounds = []
        for o in range(size + before + after):
            i = o - before
            if self.mode == "reflect":
                i = -i if i < 0 else 2 * (size - 1) - i if i >= size else i
            else:  # replicate
                i = min(max(i, 0), size - 1)
            bounds.append((i, i + 1))
        return Windows(tuple(bounds))

    def geometry(self, in_shape: Shape) -> Geometry:
        _, _, h, w = _four(self, in_shape)
        left, right, top, bottom = self.padding
        return self._axis(h, top, bottom), self._axis(w, left, right)


@record(frozen=True)
class Interpolate(Op):
    """``F.interpolate`` / ``nn.Upsample``, nearest or bilinear, to ``size`` or by ``scale`` (per axis)."""

    kind: ClassVar[LayerKind] = LayerKind.RESAMPLE
    type_name: ClassVar[str] = "Interpolate"
    rules_measured: ClassVar[bool] = False
    mode: str = "nearest"
    size: tuple[int, int] | None = None
    scale: tuple[float, float] | None = None
    align_corners: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _four(self, shape)
        if self.size is not None:
            return (n, c, *self.size)
        assert self.scale is not None  # one of the two, as torch requires
        return (n, c, int(h * self.scale[0]), int(w * self.scale[1]))

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"elementwise": 4 * numel(out_shape) if self.mode == "bilinear" else 0}

    def fvcore_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        # 1 per output element of nearest upsampling, 4 of bilinear
        return {"macs": 0, "upsampling": self.extra_flops(in_shape, out_shape)["elementwise"] or numel(out_shape)}

    def _axis(self, size: int, out: int, scale: float | None) -> Windows:
        # torch's source index: a given scale is used as given (1/scale), else size/out
        ratio = 1 / scale if scale else size / out
        bounds = []
        for o in range(out):
            if self.mode == "nearest":
                i = min(int(o * ratio), size - 1)
                bounds.append((i, i + 1))
                continue
            src = o * (size - 1) / (out - 1) if self.align_corners and out > 1 else (o + 0.5) * ratio - 0.5
            src = max(src, 0.0) if not self.align_corners else src
            lo = min(int(src), size - 1)
            hi = lo + 1 if lo < size - 1 and src > lo else lo
            bounds.append((lo, hi + 1))
        return Windows(tuple(bounds))

    def geometry(self, in_shape: Shape) -> Geometry:
        if self.mode not in ("nearest", "bilinear"):
            return (Axis.UNKNOWN, Axis.UNKNOWN)
        _, _, h, w = _four(self, in_shape)
        _, _, oh, ow = self.output_shape(in_shape)
        sh, sw = self.scale if self.scale is not None and self.size is None else (None, None)
        return self._axis(h, oh, sh), self._axis(w, ow, sw)


@record(frozen=True)
class ConvTranspose2d(WeightLayer):
    """Its backward (weight and input gradients) and bias adds are a weight layer's; its MACs count
    input positions, where a conv's count output positions."""

    kind: ClassVar[LayerKind] = LayerKind.RESAMPLE
    type_name: ClassVar[str] = "ConvTranspose2d"
    rules_measured: ClassVar[bool] = False
    in_channels: int = 21
    out_channels: int = 21
    kernel_size: Pair = (4, 4)
    stride: Pair = (2, 2)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _four(self, shape)
        if c != self.in_channels:
            raise ValueError(f"ConvTranspose2d expects {self.in_channels} input channels, got {c}")
        ho, wo = (
            (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            for size, k, s, p, op, d in zip(
                (h, w), self.kernel_size, self.stride, self.padding, self.output_padding, self.dilation
            )
        )
        return (n, self.out_channels, ho, wo)

    def weight_count(self) -> int:
        kh, kw = self.kernel_size
        return self.in_channels * (self.out_channels // self.groups) * kh * kw

    def params(self) -> int:
        return self.weight_count() + (self.out_channels if self.bias else 0)

    def params_formula(self, in_shape: Shape) -> str:
        kh, kw = self.kernel_size
        cout = str(self.out_channels) if self.groups == 1 else f"({self.out_channels}/{self.groups})"
        return f"{kh}·{kw}·{self.in_channels}·{cout}" + (f" + {self.out_channels}" if self.bias else "")

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        kh, kw = self.kernel_size
        return numel(in_shape) * (self.out_channels // self.groups) * kh * kw

    def torchinfo_parts(self, in_shape: Shape, out_shape: Shape, params: int, batch: int) -> dict[str, int]:
        # to torchinfo a conv: every parameter (its bias too) times the output positions, and the bias adds
        return {"macs": params * out_shape[0] * out_shape[2] * out_shape[3], **self.extra_flops(in_shape, out_shape)}

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        return 0

    def _axis(self, size: int, out: int, k: int, s: int, p: int, d: int) -> AxisOp:
        if d != 1:
            return Axis.UNKNOWN  # a dilated transposed conv's inputs per unit are not one range
        # output o = i*s - p + t (t < k): the inputs i whose kernel reaches o
        bounds = []
        for o in range(out):
            lo = max(0, -(-(o + p - k + 1) // s))
            hi = min(size - 1, (o + p) // s)
            bounds.append((lo, max(lo, hi + 1)))
        return Windows(tuple(bounds))

    def geometry(self, in_shape: Shape) -> Geometry:
        _, _, h, w = _four(self, in_shape)
        _, _, oh, ow = self.output_shape(in_shape)
        args = zip((h, w), (oh, ow), self.kernel_size, self.stride, self.padding, self.dilation)
        hh, ww = (self._axis(*a) for a in args)
        return hh, ww


@record(frozen=True)
class AdaptiveMaxPool2d(Op):
    kind: ClassVar[LayerKind] = LayerKind.POOL
    type_name: ClassVar[str] = "AdaptiveMaxPool2d"
    rules_measured: ClassVar[bool] = False
    output_size: tuple[int | None, int | None] = (1, 1)

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _four(self, shape)
        oh, ow = (s if o is None else o for s, o in zip((h, w), self.output_size))
        return (n, c, oh, ow)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        from .pooling import adaptive_bounds

        rows = sum(b - a for a, b in adaptive_bounds(in_shape[2], out_shape[2]))
        cols = sum(b - a for a, b in adaptive_bounds(in_shape[3], out_shape[3]))
        return {"pool": in_shape[0] * in_shape[1] * rows * cols - numel(out_shape)}  # window - 1 comparisons

    def geometry(self, in_shape: Shape) -> Geometry:
        out = self.output_shape(in_shape)
        return adaptive_axis(in_shape[2], out[2]), adaptive_axis(in_shape[3], out[3])
