"""One small dataclass per layer type, each carrying the closed-form formulas for that type.

Both analysis paths feed these: the analytical path builds ops from a layer list, the torch path
converts instantiated modules into the same ops (``torch_backend.op_from_module``). Formulas take
shapes as tuples ``(N, C, H, W)`` or ``(N, F)``. Conventions (documented in the README):

* MACs: multiply-accumulates of conv and linear weights only, bias excluded; FLOPs = 2 x MACs.
* Extra FLOPs (``--include``): bias 1 per output element of a biased layer; relu 1 per output
  element; pool 1 per comparison in a max-pool window (k*k - 1 per output), and for adaptive
  average pooling one per element summed in a window plus the divide (= window size per output);
  norm: BatchNorm (eval, folded into one multiply and one add) 2 per element, LRN n + 5 per
  element (square, n-wide window average, scale, offset, power, divide: PyTorch's decomposition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

Shape = tuple[int, ...]
Pair = tuple[int, int]


def numel(shape: Shape) -> int:
    return math.prod(shape)


def _pair(v: int | Pair) -> Pair:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


@dataclass(frozen=True)
class Saved:
    """A tensor autograd keeps for backward: the layer's input, its output, or a new buffer."""

    what: str  # "input" | "output" | "new"
    nbytes: int = 0


@dataclass(frozen=True)
class Window:
    """Receptive-field geometry of a sliding window along one axis."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


@dataclass(frozen=True)
class Op:
    kind: ClassVar[str] = "other"
    type_name: ClassVar[str] = "Module"
    inplace: ClassVar[bool] = False  # output shares the input's storage

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def params(self) -> int:
        return 0

    def buffers(self) -> int:
        return 0

    def buffer_bytes(self, itemsize: int) -> int:
        return 0

    def params_formula(self, in_shape: Shape) -> str | None:
        return None

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        return 0

    def backward_macs(self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool) -> int:
        """MACs of the backward pass (FlopCounterMode counts matmul/conv backward only)."""
        return 0

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return ()

    def windows(self) -> tuple[Window, Window] | None:
        """Per-axis (H, W) geometry; None means pointwise (receptive field unchanged)."""
        return None


@dataclass(frozen=True)
class Conv2d(Op):
    kind: ClassVar[str] = "conv"
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
        n, c, h, w = _expect_4d(self, shape, self.in_channels)
        ho, wo = (
            (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, k, s, p, d in zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation)
        )
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

    def backward_macs(self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool) -> int:
        fwd = self.macs(in_shape, out_shape)
        return fwd * (2 if needs_input_grad else 1)  # grad w.r.t. weight, and w.r.t. input

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"bias": numel(out_shape)} if self.bias else {}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return (Saved("input"),)

    def windows(self) -> tuple[Window, Window]:
        return _sliding_windows(self.kernel_size, self.stride, self.padding, self.dilation)


@dataclass(frozen=True)
class Linear(Op):
    kind: ClassVar[str] = "fc"
    type_name: ClassVar[str] = "Linear"
    in_features: int = 4096
    out_features: int = 4096
    bias: bool = True

    def output_shape(self, shape: Shape) -> Shape:
        # torchvision's VGG flattens everything after the batch dimension before the classifier.
        feats = numel(shape[1:])
        if feats != self.in_features:
            raise ValueError(f"Linear expects {self.in_features} input features, got {feats} from shape {shape}")
        return (shape[0], self.out_features)

    def params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def params_formula(self, in_shape: Shape) -> str:
        # Show where 25088 comes from: (512·7·7)·4096 makes the paper's fc6 count obvious.
        inner = in_shape[1:]
        fin = f"({'·'.join(map(str, inner))})" if len(inner) > 1 else str(self.in_features)
        text = f"{fin}·{self.out_features}"
        return text + (f" + {self.out_features}" if self.bias else "")

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        return in_shape[0] * self.in_features * self.out_features

    def backward_macs(self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool) -> int:
        fwd = self.macs(in_shape, out_shape)
        return fwd * (2 if needs_input_grad else 1)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"bias": numel(out_shape)} if self.bias else {}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return (Saved("input"),)


@dataclass(frozen=True)
class MaxPool2d(Op):
    kind: ClassVar[str] = "pool"
    type_name: ClassVar[str] = "MaxPool2d"
    kernel_size: Pair = (2, 2)
    stride: Pair = (2, 2)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _expect_4d(self, shape)
        out = []
        for size, k, s, p, d in zip((h, w), self.kernel_size, self.stride, self.padding, self.dilation):
            span = size + 2 * p - d * (k - 1) - 1
            o = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (o - 1) * s >= size + p:
                o -= 1  # PyTorch: the last window must start inside the input
            out.append(o)
        return (n, c, out[0], out[1])

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        kh, kw = self.kernel_size
        return {"pool": numel(out_shape) * (kh * kw - 1)}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return (Saved("input"), Saved("new", numel(out_shape) * 8))  # int64 argmax indices

    def windows(self) -> tuple[Window, Window]:
        return _sliding_windows(self.kernel_size, self.stride, self.padding, self.dilation)


def adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows: [floor(i*In/Out), ceil((i+1)*In/Out)) per output i."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


@dataclass(frozen=True)
class AdaptiveAvgPool2d(Op):
    kind: ClassVar[str] = "avgpool"
    type_name: ClassVar[str] = "AdaptiveAvgPool2d"
    output_size: Pair = (7, 7)

    def output_shape(self, shape: Shape) -> Shape:
        n, c, h, w = _expect_4d(self, shape)
        oh, ow = (s if o is None else o for s, o in zip((h, w), self.output_size))
        return (n, c, oh, ow)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        n, c, h, w = in_shape
        _, _, oh, ow = out_shape
        rows = sum(b - a for a, b in adaptive_bounds(h, oh))
        cols = sum(b - a for a, b in adaptive_bounds(w, ow))
        return {"pool": n * c * rows * cols}  # window-size adds+divide per output, summed

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return (Saved("input"),)


@dataclass(frozen=True)
class ReLU(Op):
    kind: ClassVar[str] = "relu"
    type_name: ClassVar[str] = "ReLU"
    inplace_flag: bool = True

    @property
    def inplace(self) -> bool:  # type: ignore[override]
        return self.inplace_flag

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"relu": numel(out_shape)}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        return (Saved("output"),)


@dataclass(frozen=True)
class Dropout(Op):
    kind: ClassVar[str] = "dropout"
    type_name: ClassVar[str] = "Dropout"
    p: float = 0.5

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        # The mask: a bool tensor from CUDA's fused kernel, an input-dtype tensor elsewhere.
        per = 1 if device.startswith("cuda") else itemsize
        return (Saved("new", numel(out_shape) * per),)


@dataclass(frozen=True)
class BatchNorm2d(Op):
    kind: ClassVar[str] = "norm"
    type_name: ClassVar[str] = "BatchNorm2d"
    num_features: int = 64
    affine: bool = True
    track_running_stats: bool = True

    def output_shape(self, shape: Shape) -> Shape:
        _expect_4d(self, shape, self.num_features)
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

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        # input, plus the batch mean and inverse std (float32 accumulators), one per channel each
        return (Saved("input"), Saved("new", 4 * self.num_features), Saved("new", 4 * self.num_features))


@dataclass(frozen=True)
class LocalResponseNorm(Op):
    kind: ClassVar[str] = "lrn"
    type_name: ClassVar[str] = "LocalResponseNorm"
    size: int = 5
    alpha: float = 5e-4
    beta: float = 0.75
    k: float = 2.0

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"norm": (self.size + 5) * numel(out_shape)}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, device: str) -> tuple[Saved, ...]:
        # F.local_response_norm: x*x (saves x), a channel-padded copy for avg_pool3d, then
        # pow (saves its base) and x / div (saves x and div): two new tensors of the output's size.
        n, c, h, w = in_shape
        padded = n * (c + self.size // 2 + (self.size - 1) // 2) * h * w
        size = numel(out_shape) * itemsize
        return (Saved("input"), Saved("new", padded * itemsize), Saved("new", size), Saved("new", size))


@dataclass(frozen=True)
class Flatten(Op):
    kind: ClassVar[str] = "flatten"
    type_name: ClassVar[str] = "Flatten"
    inplace: ClassVar[bool] = True  # a view: no new storage

    def output_shape(self, shape: Shape) -> Shape:
        return (shape[0], numel(shape[1:]))


@dataclass(frozen=True)
class Unknown(Op):
    """A module the tool has no formulas for (a user's own layer): counted, not computed."""

    type_label: str = "Module"


def _sliding_windows(kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> tuple[Window, Window]:
    h, w = (Window(k, s, p, d) for k, s, p, d in zip(kernel, stride, padding, dilation))
    return h, w


def flatten_for(op: Op, shape: Shape) -> Shape:
    """torchvision's VGG.forward flattens before the classifier (torch.flatten, no module)."""
    if isinstance(op, Linear) and len(shape) > 2:
        return (shape[0], numel(shape[1:]))
    return shape


def _expect_4d(op: Op, shape: Shape, channels: int | None = None) -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ValueError(f"{op.type_name} expects an (N, C, H, W) input, got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise ValueError(f"{op.type_name} expects {channels} input channels, got {shape[1]}")
    n, c, h, w = shape
    return n, c, h, w
