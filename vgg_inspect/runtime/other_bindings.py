"""Bindings of the operators people's VGGs use beyond the paper's: activations and arithmetic (by
torch's own ``Tag.pointwise`` and ``Tag.reduction``, with a short list for the untagged ones),
softmaxes, other norms, padding, upsampling, transposed convs, adaptive max pooling and channel
dropout. Registered when ``bindings`` is imported."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import ops  # noqa: E402
from ..ops.elementwise import Pointwise, Reduction, Softmax  # noqa: E402
from ..ops.norms import Normalization  # noqa: E402
from ..ops.resampling import AdaptiveMaxPool2d, ConvTranspose2d, Interpolate, Pad  # noqa: E402
from .arguments import AtenArgs, optional_pair, pair  # noqa: E402
from .op_table import Binding, register, register_fallback  # noqa: E402

ACTIVATION_MODULES: dict[type[nn.Module], str] = {
    nn.LeakyReLU: "leaky_relu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
    nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid", nn.Hardtanh: "hardtanh", nn.ELU: "elu",
    nn.SELU: "selu", nn.CELU: "celu", nn.Mish: "mish", nn.ReLU6: "relu6", nn.Softplus: "softplus",
    nn.Softsign: "softsign", nn.PReLU: "prelu", nn.LogSigmoid: "logsigmoid", nn.Identity: "identity",
}  # fmt: skip
# Pointwise ops that are activations (named act1_1... after the layer they follow); the others
# (add, mul, pow, where...) are arithmetic written in a forward.
ACTIVATIONS = frozenset({
    "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "elu", "selu", "celu",
    "mish", "relu6", "softplus", "softsign", "prelu", "_prelu_kernel", "threshold", "logsigmoid", "log_sigmoid_forward",
    "rrelu_with_noise", "glu",
})  # fmt: skip
COPIES = frozenset({"clone", "_to_copy", "copy", "contiguous", "cat", "identity"})


def pointwise(name: str) -> Pointwise:
    """An elementwise op's record, told whether it is an activation and whether it only copies."""
    bare = name.rstrip("_")
    return Pointwise(bare, activation=bare in ACTIVATIONS, copy=bare in COPIES)


# Elementwise ops torch does not tag pointwise.
UNTAGGED_POINTWISE = frozenset({"hardswish", "hardswish_", "_prelu_kernel", "hardsigmoid_", "log_sigmoid_forward"})


@register_fallback
def from_tags(name: str, args: tuple[Any, ...], tags: frozenset[str]) -> ops.Op | None:
    """An aten op no binding names, classified as torch classifies it."""
    if "pointwise" in tags or name in UNTAGGED_POINTWISE or name == "cat":  # cat: a merge that copies
        return pointwise(name)
    if "reduction" in tags:
        x = args[0]
        named = args if isinstance(args, AtenArgs) else AtenArgs(args)
        dims, keep = named.get("dim"), named.get("keepdim", False)  # sum(x, dtype) has neither: all of x
        if isinstance(dims, int):
            dims = [dims]
        if not isinstance(dims, (list, tuple)):
            dims = []
        return Reduction(
            name, tuple(int(d) % max(1, x.dim()) for d in dims), bool(keep) if isinstance(keep, bool) else False
        )
    return None


register(Binding(
    Pointwise, tuple(ACTIVATION_MODULES),
    from_module=lambda m: pointwise(ACTIVATION_MODULES[type(m)]),
    same_shape=True,
))  # fmt: skip
register(Binding(
    Softmax, (nn.Softmax, nn.LogSoftmax), ("_softmax",),
    from_module=lambda m: Softmax(1 if m.dim is None else int(m.dim), isinstance(m, nn.LogSoftmax)),
    from_aten=lambda a: Softmax(int(a["dim"]) % a["self"].dim(), False),
    to_module=lambda op, dt: (nn.LogSoftmax if op.log else nn.Softmax)(dim=op.dim),
    functional="softmax", same_shape=True, saves_result=True,
))  # fmt: skip
register(Binding(Softmax, (), ("_log_softmax",), from_aten=lambda a: Softmax(int(a["dim"]) % a["self"].dim(), True),
                 functional="log_softmax", same_shape=True, saves_result=True))  # fmt: skip
# Tensors made from no pixel: each name its own call family, labelled by its name (F.zeros_like).
CONSTANTS = ("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "new_zeros", "new_ones",
             "new_full", "new_empty", "zeros", "ones", "full", "empty", "scalar_tensor")  # fmt: skip


def _constant(name: str) -> Callable[[tuple[Any, ...]], ops.Op]:
    return lambda _args: ops.Constant(name)


for _name in CONSTANTS:  # the *_like ones shaped as their input: their meta result made here
    register(Binding(ops.Constant, (), (_name,), from_aten=_constant(_name), same_shape=_name.endswith("_like"),
                     own_meta_is_cheap=True))  # fmt: skip
register(Binding(ops.Dropout, (nn.Dropout2d, nn.Dropout1d, nn.Dropout3d),
                 from_module=lambda m: ops.Dropout(float(m.p), feature=True)))  # fmt: skip


def _group_norm(m: nn.GroupNorm) -> ops.Op:
    return Normalization("GroupNorm", m.num_channels if m.affine else 0, m.affine)


def _layer_norm(m: nn.LayerNorm) -> ops.Op:
    size = math.prod(m.normalized_shape) if m.elementwise_affine else 0
    return Normalization("LayerNorm", size, m.bias is not None)


def _instance_norm(m: Any) -> ops.Op:
    return Normalization("InstanceNorm2d", m.num_features if m.affine else 0, bool(m.affine),
                         2 * m.num_features + 1 if m.track_running_stats else 0)  # fmt: skip


def _normalised(name: str, args: tuple[Any, ...], x: torch.Tensor) -> Any:
    """(output, mean, rstd) of GroupNorm / LayerNorm on a contiguous float32/float64 input."""
    if x.dtype not in (torch.float32, torch.float64) or not x.is_contiguous() or x.dim() < 2:
        return None
    if not isinstance(args, AtenArgs):  # read by name only: a bare tuple is left to the kernel
        return None
    a = args
    if name == "native_group_norm":
        n, c, hw, groups = (a[k] for k in ("N", "C", "HxW", "group"))
        if not all(isinstance(v, int) for v in (n, c, hw, groups)):
            return None
        affine_ok = all(t is None or tuple(t.shape) == (c,) for t in (a["weight"], a["bias"]))
        if (n, c) != tuple(x.shape[:2]) or hw * n * c != x.numel() or groups < 1 or c % groups or not affine_ok:
            return None
        return x.new_empty(x.shape), x.new_empty((n, groups)), x.new_empty((n, groups))
    normalized = a["normalized_shape"]
    if not isinstance(normalized, (list, tuple)) or not 0 < len(normalized) <= x.dim():
        return None
    axis = x.dim() - len(normalized)
    if tuple(x.shape[axis:]) != tuple(normalized):
        return None
    if not all(t is None or tuple(t.shape) == tuple(normalized) for t in (a["weight"], a["bias"])):
        return None
    stats = (*x.shape[:axis], *(1,) * len(normalized))
    return x.new_empty(x.shape), x.new_empty(stats), x.new_empty(stats)


register(Binding(Normalization, (nn.GroupNorm,), ("native_group_norm",), from_module=_group_norm,
                 from_aten=lambda a: Normalization("GroupNorm", int(a["C"]) if a["weight"] is not None else 0,
                                                   a["bias"] is not None),
                 functional="group_norm", meta=_normalised))  # fmt: skip
register(Binding(Normalization, (nn.LayerNorm,), ("native_layer_norm",), from_module=_layer_norm,
                 from_aten=lambda a: Normalization("LayerNorm", math.prod(a["normalized_shape"])
                                                   if a["weight"] is not None else 0, a["bias"] is not None),
                 functional="layer_norm", meta=_normalised))  # fmt: skip
register(Binding(Normalization, (nn.InstanceNorm2d,), from_module=_instance_norm))


def _pad_from_module(m: Any) -> ops.Op:
    mode = (
        "reflect"
        if isinstance(m, nn.ReflectionPad2d)
        else "replicate"
        if isinstance(m, nn.ReplicationPad2d)
        else "constant"
    )
    left, right, top, bottom = m.padding
    return Pad((int(left), int(right), int(top), int(bottom)), mode)


# Meta results made here, not by the kernels' Python meta functions (which import sympy or
# torch._dynamo); each tested against torch's own meta kernel (tests/test_user_models.py).


def _counts(value: Any, count: int, least: int) -> bool:
    """``count`` integers of at least ``least``."""
    return isinstance(value, (list, tuple)) and len(value) == count and all(isinstance(v, int) and v >= least
                                                                            for v in value)  # fmt: skip


def _map(x: Any) -> bool:
    """A contiguous floating-point (N, C, H, W) meta tensor."""
    return isinstance(x, torch.Tensor) and x.is_meta and x.dim() == 4 and x.is_contiguous() and x.is_floating_point()


def _grid_meta(name: str, args: tuple[Any, ...], x: Any) -> Any:
    """The grid-changing ops of a VGG's decoder or head on a contiguous (N, C, H, W) meta map: an
    upsampling to its output size, a reflection or replication pad, an adaptive max-pool (with int64 indices)."""
    if not _map(x) or len(args) < 2:
        return None
    n, c, h, w = x.shape
    size = args[1]
    if name.startswith("upsample_"):
        return x.new_empty((n, c, *size)) if _counts(size, 2, 1) else None
    if name in ("reflection_pad2d", "replication_pad2d"):
        if not _counts(size, 4, 0):
            return None
        left, right, top, bottom = size
        if name == "reflection_pad2d" and (max(left, right) >= w or max(top, bottom) >= h):
            return None  # torch's own error: a pad as wide as the map
        return x.new_empty((n, c, h + top + bottom, w + left + right))
    if not _counts(size, 2, 1):
        return None
    return x.new_empty((n, c, *size)), x.new_empty((n, c, *size), dtype=torch.int64)


def _pad_from_aten(mode: str) -> Any:
    def make(a: AtenArgs) -> ops.Op:
        given = a.get("pad", a.get("padding"))  # constant_pad_nd's pad, the others' padding
        p = [int(v) for v in given] + [0] * (4 - len(given))
        if len(given) > 4 or a["self"].dim() != 4:
            raise ValueError("not a 2-D pad")
        return Pad((p[0], p[1], p[2], p[3]), mode)

    return make


register(Binding(Pad, (nn.ZeroPad2d, nn.ConstantPad2d), ("constant_pad_nd",), from_module=_pad_from_module,
                 from_aten=_pad_from_aten("constant"), functional="pad", own_meta_is_cheap=True,
                 to_module=lambda op, dt: {"constant": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d,
                                           "replicate": nn.ReplicationPad2d}[op.mode](op.padding)))  # fmt: skip
register(Binding(Pad, (nn.ReflectionPad2d,), ("reflection_pad2d",), from_module=_pad_from_module,
                 from_aten=_pad_from_aten("reflect"), functional="pad", meta=_grid_meta))  # fmt: skip
register(Binding(Pad, (nn.ReplicationPad2d,), ("replication_pad2d",), from_module=_pad_from_module,
                 from_aten=_pad_from_aten("replicate"), functional="pad", meta=_grid_meta))  # fmt: skip


def _scales(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    return (float(value), float(value)) if isinstance(value, (int, float)) else (float(value[0]), float(value[-1]))


def _upsample_module(m: Any) -> ops.Op:
    size = None if m.size is None else pair(m.size)
    return Interpolate(m.mode, size, _scales(m.scale_factor) if size is None else None, bool(m.align_corners))


def _upsample_aten(mode: str) -> Any:
    def make(a: AtenArgs) -> ops.Op:
        rest = (a.get("scales_h"), a.get("scales_w"))  # the vec overload has scale_factors instead
        scales = (float(rest[0]), float(rest[1])) if None not in rest else None
        return Interpolate(mode, pair(a["output_size"]), scales, bool(a.get("align_corners", False)))

    return make


register(Binding(Interpolate, (nn.Upsample,), ("upsample_nearest2d",), from_module=_upsample_module,
                 from_aten=_upsample_aten("nearest"), functional="interpolate", meta=_grid_meta))  # fmt: skip
register(Binding(Interpolate, (), ("upsample_bilinear2d",), from_aten=_upsample_aten("bilinear"),
                 functional="interpolate", meta=_grid_meta))  # fmt: skip


register(Binding(
    ConvTranspose2d, (nn.ConvTranspose2d,),
    from_module=lambda m: ConvTranspose2d(m.in_channels, m.out_channels, pair(m.kernel_size), pair(m.stride),
                                          pair(m.padding), pair(m.output_padding), pair(m.dilation), m.groups,
                                          m.bias is not None),
))  # fmt: skip
register(Binding(
    AdaptiveMaxPool2d, (nn.AdaptiveMaxPool2d,), ("adaptive_max_pool2d",),
    from_module=lambda m: AdaptiveMaxPool2d(optional_pair(m.output_size)),
    from_aten=lambda a: AdaptiveMaxPool2d(pair(a["output_size"])),
    to_module=lambda op, dt: nn.AdaptiveMaxPool2d(op.output_size),
    family="pool", functional="adaptive_max_pool2d", meta=_grid_meta,
))  # fmt: skip


def transposed_conv_from_aten(a: AtenArgs) -> ops.Op:
    """``aten.convolution`` with ``transposed``: weight (C_in, C_out / groups, kh, kw)."""
    x, w, b = a["input"], a["weight"], a["bias"]
    groups = int(a["groups"])
    return ConvTranspose2d(int(x.shape[1]), int(w.shape[1]) * groups, pair(list(w.shape[2:])), pair(a["stride"]),
                           pair(a["padding"]), pair(a["output_padding"]), pair(a["dilation"]), groups,
                           b is not None)  # fmt: skip
