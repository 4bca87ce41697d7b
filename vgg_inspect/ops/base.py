"""What every operator type shares: shapes, layer kinds, the saved-tensor and geometry records,
and the ``Op`` base class whose methods are the closed-form formulas (defaults: no parameters, no
MACs, shape unchanged, point-wise)."""

from __future__ import annotations

import math
from enum import Enum
from typing import ClassVar

from ..records import record

Shape = tuple[int, ...]
Pair = tuple[int, int]


def numel(shape: Shape) -> int:
    return math.prod(shape)


class LayerKind(str, Enum):
    """What a layer is, for naming (conv3_2, pool3, fc6), grouping and folding in tables.

    A ``str`` enum: it compares equal to, and serialises as, its value (``"conv"``)."""

    CONV = "conv"
    FC = "fc"
    POOL = "pool"
    AVGPOOL = "avgpool"
    RELU = "relu"
    NORM = "norm"
    GROUP_NORM = "gnorm"  # statistics per sample: GroupNorm, LayerNorm, InstanceNorm
    LRN = "lrn"
    DROPOUT = "dropout"
    FLATTEN = "flatten"
    ACTIVATION = "act"  # an activation other than ReLU (LeakyReLU, GELU, SiLU, a softmax)
    POINTWISE = "pointwise"  # elementwise arithmetic and copies in a forward (x * s, a + b, clone)
    RESAMPLE = "resample"  # what changes the grid without weights or with them: pad, crop, upsampling
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


# Layers that change no shape and no field: tables fold them (unless --all-layers), diff never
# counts them as a difference.
NEUTRAL_KINDS = (LayerKind.RELU, LayerKind.DROPOUT, LayerKind.FLATTEN, LayerKind.ACTIVATION, LayerKind.POINTWISE)


class Convention(str, Enum):
    """Whose kernels' saved-tensor layout the memory rules follow (they differ, see ``Op.saved``)."""

    CPU = "cpu"
    CUDA = "cuda"
    META = "meta"

    @classmethod
    def for_device(cls, device: str | None) -> Convention:
        """The analytical path (no device) follows the CPU kernels, as the tests measure them."""
        if device is None:
            return cls.CPU
        kind = device.split(":")[0]
        return cls.CUDA if kind in ("cuda", "mps") else cls.META if kind == "meta" else cls.CPU


class ConvKernel(str, Enum):
    """Which CPU convolution kernel a 16-bit conv runs, for its workspace (float32 always runs oneDNN).

    torch runs oneDNN where the CPU has native support for the dtype (bfloat16: AVX512-BF16 or
    AVX512BW; float16: AVX512-FP16 or AMX-FP16), else its im2col kernel, whose column buffer holds
    C_in·k_h·k_w values per output position of the whole batch. ``either``: not known (no torch, or
    not a CPU run): the larger of the two, so that the estimate is never below either."""

    ONEDNN = "onednn"
    IM2COL = "im2col"
    EITHER = "either"


@record(frozen=True)
class Saved:
    """A tensor autograd keeps for backward: the layer's input, its output, or a new buffer."""

    what: str  # "input" | "output" | "new"
    nbytes: int = 0


@record(frozen=True)
class Window:
    """A sliding window along one axis (receptive-field geometry)."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


@record(frozen=True)
class Windows:
    """Explicit windows [start, stop) of the input, one per output position (irregular adaptive pools)."""

    bounds: tuple[Pair, ...]


class Axis(str, Enum):
    """How a layer acts along one spatial axis when it is not a (list of) window(s)."""

    POINT = "point"  # each output position sees the same position of the input
    GLOBAL = "global"  # each output sees every input position
    UNKNOWN = "unknown"  # no formula: the geometry cannot be assumed


AxisOp = Window | Windows | Axis
Geometry = tuple[AxisOp, AxisOp] | str  # per (H, W) axis, or "flatten" (spatial axes merged)


class Op:
    """An operator type with its formulas. Subclasses are frozen records, bound to torch in ``runtime/bindings.py``."""

    kind: ClassVar[LayerKind] = LayerKind.OTHER
    type_name: ClassVar[str] = "Module"
    inplace: ClassVar[bool] = False  # output shares the input's storage (a view or in-place op)
    # Its saved-for-backward and workspace rules were measured against real CPU runs in the tests;
    # an op without them is traced (saved tensors measured) and its inference workspace is unknown.
    # False unless a real-run test says otherwise: a new op must not claim it by default.
    rules_measured: ClassVar[bool] = False

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

    def macs(self, in_shape: Shape, out_shape: Shape) -> int | None:
        """Multiply-accumulates of weights; ``None``: no formula for this layer type."""
        return 0

    def backward_macs(
        self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool, needs_weight_grad: bool = True
    ) -> int:
        """MACs of the backward pass: the gradient w.r.t. the weights (when trainable) and w.r.t. the
        input (when it needs one)."""
        return 0

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        """FLOPs that ``--include`` may add, by category (bias, relu, pool, norm)."""
        return {}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        """Tensors autograd keeps for backward in train mode, by the named device's kernels."""
        return ()

    def workspace(
        self, in_shape: Shape, out_shape: Shape, itemsize: int, kernel: ConvKernel = ConvKernel.EITHER
    ) -> int:
        """Transient bytes beside input and output during an inference call (CPU kernels, measured)."""
        return 0

    def geometry(self, in_shape: Shape) -> Geometry:
        """Receptive-field geometry per spatial axis (H, W)."""
        return (Axis.POINT, Axis.POINT)

    # How the peer tools count this op, part by part (runtime/peer_tools.py adds the parts up, says each,
    # and the tests hold the sums to each tool's own number).

    def fvcore_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        """fvcore FlopCountAnalysis: the op's MACs, which it calls flops; the ops it has a handle of
        its own for (adaptive average pooling, norms, upsampling) add a part."""
        return {"macs": self.macs(in_shape, out_shape) or 0}

    def onnx_tool_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        """onnx-tool's "MACs" of this op on an ONNX graph: its MACs, plus its own counts for the
        others (one add per biased output, one per ReLU element, k·k per pooled output)."""
        return {"macs": self.macs(in_shape, out_shape) or 0}

    def torchinfo_parts(self, in_shape: Shape, out_shape: Shape, params: int, batch: int) -> dict[str, int]:
        """torchinfo total_mult_adds, for a module of this op: a layer that is neither a conv nor a
        linear counts batch x its parameters."""
        return {"params": batch * params} if params else {}
