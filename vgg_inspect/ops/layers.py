"""One record type per layer, each carrying its closed-form formulas (``runtime/bindings.py`` binds
each to the torch modules and aten operations it covers).

Conventions (stated in the README and in every report's ``conventions``):

* MACs: multiply-accumulates of conv and linear weights only, bias excluded; FLOPs = 2 x MACs.
* Extra FLOPs (``--include``): bias 1 per output element of a biased layer; relu 1 per output
  element; pool k*k - 1 comparisons per max-pool output, and for adaptive average pooling one per
  element summed in a window plus the divide (= window size per output); norm: BatchNorm (eval,
  folded into one multiply and one add) 2 per element, LRN n + 5 per element (square, n-wide
  window average, scale, offset, power, divide: PyTorch's decomposition).
* Saved for backward and inference workspaces follow PyTorch's kernels, as measured in the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..records import record
from .base import Axis, Convention, ConvKernel, Geometry, LayerKind, Op, Pair, Saved, Shape, Window, numel


def expect_4d(op: Op, shape: Shape, channels: int | None = None) -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ValueError(f"{op.type_name} expects an (N, C, H, W) input, got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise ValueError(f"{op.type_name} expects {channels} input channels, got {shape[1]}")
    n, c, h, w = shape
    return n, c, h, w


def sliding(kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> tuple[Window, Window]:
    h, w = (Window(k, s, p, d) for k, s, p, d in zip(kernel, stride, padding, dilation))
    return h, w


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


class WeightLayer(Op):
    """What conv and linear layers share: the backward pass (gradient w.r.t. the weights, and
    w.r.t. the input when it needs one), the bias adds, and the input saved for backward."""

    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)

    if TYPE_CHECKING:  # a field of each subclass (declared there, in its own order)
        bias: bool

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        raise NotImplementedError

    def backward_macs(
        self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool, needs_weight_grad: bool = True
    ) -> int:
        return self.macs(in_shape, out_shape) * (int(needs_input_grad) + int(needs_weight_grad))

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"bias": numel(out_shape)} if self.bias else {}

    def onnx_tool_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"macs": self.macs(in_shape, out_shape), **self.extra_flops(in_shape, out_shape)}

    def torchinfo_parts(self, in_shape: Shape, out_shape: Shape, params: int, batch: int) -> dict[str, int]:
        # parameters x output positions: the MACs, and one add per output element for a bias
        return {"macs": self.macs(in_shape, out_shape) or 0, **self.extra_flops(in_shape, out_shape)}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("input"),)


@record(frozen=True)
class Conv2d(WeightLayer):
    kind: ClassVar[LayerKind] = LayerKind.CONV
    type_name: ClassVar[str] = "Conv2d"
    in_channels: int = 3
    out_channels: int = 64
    kernel_size: Pair = (3, 3)
    stride: Pair = (1, 1)
    padding: Pair = (1, 1)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True

    def output_shape(self, shape: Shape) -> Shape:
        n, _, h, w = expect_4d(self, shape, self.in_channels)
        ho, wo = (_conv_out(*a) for a in zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation))
        return (n, self.out_channels, ho, wo)

    def weight_count(self) -> int:
        kh, kw = self.kernel_size
        return kh * kw * (self.in_channels // self.groups) * self.out_channels

    def params(self) -> int:
        return self.weight_count() + (self.out_channels if self.bias else 0)

    def params_formula(self, in_shape: Shape) -> str:
        kh, kw = self.kernel_size
        cin = str(self.in_channels) if self.groups == 1 else f"({self.in_channels}/{self.groups})"
        text = f"{kh}·{kw}·{cin}·{self.out_channels}"
        return text + (f" + {self.out_channels}" if self.bias else "")

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        kh, kw = self.kernel_size
        return numel(out_shape) * (self.in_channels // self.groups) * kh * kw

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        # oneDNN on CPU: a reordered copy of the weights and one transient output buffer, at 16 bits
        # as at 32 where the CPU runs the dtype natively (conv1_2 alone: 2.00x its output at float32
        # and bfloat16); measured per dtype in tests/test_memory.py.
        onednn = self.weight_count() * itemsize + numel(out_shape) * itemsize
        if itemsize >= 4 or kernel is ConvKernel.ONEDNN:
            return onednn
        # im2col: the columns of the whole batch (none for a 1x1, stride-1, unpadded conv, a plain matmul)
        direct = self.kernel_size == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)
        n, _, ho, wo = out_shape
        columns = (
            0 if direct else n * (self.in_channels // self.groups) * self.kernel_size[0] * self.kernel_size[1] * ho * wo
        )
        im2col = columns * itemsize
        return im2col if kernel is ConvKernel.IM2COL else max(onednn, im2col)

    def geometry(self, in_shape: Shape) -> Geometry:
        return sliding(self.kernel_size, self.stride, self.padding, self.dilation)


@record(frozen=True)
class Linear(WeightLayer):
    """``y = x W^T + b`` on the last dimension; any leading dimensions are batch-like."""

    kind: ClassVar[LayerKind] = LayerKind.FC
    type_name: ClassVar[str] = "Linear"
    in_features: int = 4096
    out_features: int = 4096
    bias: bool = True

    def output_shape(self, shape: Shape) -> Shape:
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"Linear expects {self.in_features} features in the last dimension, got shape {shape}")
        return (*shape[:-1], self.out_features)

    def params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def params_formula(self, in_shape: Shape) -> str:
        # ``in_shape`` is the shape before any flatten: (512·7·7)·4096 makes fc6's count obvious.
        inner = in_shape[1:]
        fin = (
            f"({'·'.join(map(str, inner))})"
            if len(inner) > 1 and numel(inner) == self.in_features
            else str(self.in_features)
        )
        text = f"{fin}·{self.out_features}"
        return text + (f" + {self.out_features}" if self.bias else "")

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        return numel(in_shape[:-1]) * self.in_features * self.out_features

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        # At 16 bits the CPU kernels convert in blocks: measured at most 1.6% of the weights + 0.6 MB
        # (fc6..fc8, batch 1-5); a 1/32 share and 1 MiB bound it.
        return 0 if itemsize >= 4 else self.in_features * self.out_features * itemsize // 32 + 2**20

    def geometry(self, in_shape: Shape) -> Geometry:
        # On (N, C, H, W) it mixes the last axis (W) only; after a flatten it sees everything.
        return (Axis.POINT, Axis.GLOBAL) if len(in_shape) == 4 else (Axis.GLOBAL, Axis.GLOBAL)


@record(frozen=True)
class ReLU(Op):
    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)
    kind: ClassVar[LayerKind] = LayerKind.RELU
    type_name: ClassVar[str] = "ReLU"
    inplace_flag: bool = True

    @property
    def inplace(self) -> bool:  # type: ignore[override]
        return self.inplace_flag

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"relu": numel(out_shape)}

    def onnx_tool_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return self.extra_flops(in_shape, out_shape)

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("output"),)


@record(frozen=True)
class Dropout(Op):
    kind: ClassVar[LayerKind] = LayerKind.DROPOUT
    type_name: ClassVar[str] = "Dropout"
    p: float = 0.5
    feature: bool = False  # Dropout2d: whole channels dropped (a mask per (sample, channel))

    @property
    def rules_measured(self) -> bool:  # type: ignore[override]
        return not self.feature

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        if self.feature:
            return (Saved("new", out_shape[0] * out_shape[1] * itemsize),)
        # The mask: bool from CUDA's fused kernel; elsewhere (CPU, meta) a tensor of the input dtype.
        per = 1 if convention is Convention.CUDA else itemsize
        return (Saved("new", numel(out_shape) * per),)


@record(frozen=True)
class BatchNorm2d(Op):
    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)
    kind: ClassVar[LayerKind] = LayerKind.NORM
    type_name: ClassVar[str] = "BatchNorm2d"
    num_features: int = 64
    affine: bool = True
    track_running_stats: bool = True

    def output_shape(self, shape: Shape) -> Shape:
        expect_4d(self, shape, self.num_features)
        return shape

    def params(self) -> int:
        return 2 * self.num_features if self.affine else 0

    def buffers(self) -> int:
        # running_mean, running_var and the one-element num_batches_tracked
        return 2 * self.num_features + 1 if self.track_running_stats else 0

    def buffer_bytes(self, itemsize: int) -> int:
        return 2 * self.num_features * itemsize + 8 if self.track_running_stats else 0

    def params_formula(self, in_shape: Shape) -> str | None:
        return f"2·{self.num_features}" if self.affine else None

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"norm": 2 * numel(out_shape)}

    def fvcore_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"macs": 0, "norm": self.extra_flops(in_shape, out_shape)["norm"]}  # 2 per element (eval, affine)

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        # The input, plus the batch mean and inverse std per channel: in the input dtype from the
        # CPU kernel, float32 from the CUDA and meta kernels.
        stat = self.num_features * (itemsize if convention is Convention.CPU else 4)
        return (Saved("input"), Saved("new", stat), Saved("new", stat))


@record(frozen=True)
class LocalResponseNorm(Op):
    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)
    kind: ClassVar[LayerKind] = LayerKind.LRN
    type_name: ClassVar[str] = "LocalResponseNorm"
    size: int = 5
    alpha: float = 5e-4
    beta: float = 0.75
    k: float = 2.0

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"norm": (self.size + 5) * numel(out_shape)}

    def _padded(self, in_shape: Shape) -> int:
        n, c, h, w = in_shape
        return n * (c + self.size // 2 + (self.size - 1) // 2) * h * w

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        # F.local_response_norm: x*x (saves x), a channel-padded copy for avg_pool3d, then
        # pow (saves its base) and x / div (saves x and div): two new tensors of the output's size.
        size = numel(out_shape) * itemsize
        return (Saved("input"), Saved("new", self._padded(in_shape) * itemsize), Saved("new", size), Saved("new", size))

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        return (self._padded(in_shape) + numel(in_shape)) * itemsize  # the square, padded, and its average


@record(frozen=True)
class Flatten(Op):
    """``torch.flatten(x, start_dim, end_dim)``: a view, no new storage."""

    rules_measured: ClassVar[bool] = True  # held to real CPU runs (tests/test_memory.py)

    kind: ClassVar[LayerKind] = LayerKind.FLATTEN
    type_name: ClassVar[str] = "Flatten"
    inplace: ClassVar[bool] = True
    start_dim: int = 1
    end_dim: int = -1

    def _dims(self, shape: Shape) -> tuple[int, int]:
        start, end = (d if d >= 0 else d + len(shape) for d in (self.start_dim, self.end_dim))
        if not 0 <= start <= end < len(shape):
            raise ValueError(f"Flatten({self.start_dim}, {self.end_dim}) does not fit shape {shape}")
        return start, end

    def output_shape(self, shape: Shape) -> Shape:
        start, end = self._dims(shape)
        return (*shape[:start], numel(shape[start : end + 1]), *shape[end + 1 :])

    def geometry(self, in_shape: Shape) -> Geometry:
        start, end = self._dims(in_shape)
        merges_space = len(in_shape) == 4 and start <= 3 and end >= 2 and end > start
        return "flatten" if merges_space else (Axis.POINT, Axis.POINT)


@record(frozen=True)
class Unknown(Op):
    """A module the tool has no formulas for (a user's own layer): counted, not computed."""

    type_label: str = "Module"
    rules_measured: ClassVar[bool] = False
    # it ran none of the kernels that multiply-accumulate (convolutions, matrix products): no MACs,
    # by the convention's own definition, though its other figures stay unknown
    mac_free: bool = False

    def macs(self, in_shape: Shape, out_shape: Shape) -> int | None:
        return 0 if self.mac_free else None

    def geometry(self, in_shape: Shape) -> Geometry:
        return (Axis.UNKNOWN, Axis.UNKNOWN)
