"""The bindings of the paper's ops (conv, linear, the pools, ReLU, dropout, BatchNorm, LRN,
flatten) and the meta results made for them directly; ``other_bindings.py`` binds the others people's
VGGs use. Both register into ``op_table.py`` (torch's ``register_flop_formula`` and fvcore's op
table are the models), whose lookups the runtime uses through this module.

A binding says how to make the op's record from a module and from aten arguments, how to
rebuild the module from the record (built-in variants), the op family its calls are counted in,
and what the meta shortcut may assume. A new op is its record in ``ops/`` and its binding here
(or ``register``-ed from anywhere, e.g. a test); nothing else in the runtime names op types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import ops  # noqa: E402
from .arguments import AtenArgs, ints, optional_pair, pair  # noqa: E402

# the table and its lookups: the runtime uses them through this module, which holds every registration
from .op_table import (  # noqa: E402
    CROP,
    DROPOUT_APPLY,
    DROPOUT_MASK,
    DROPOUT_SCALE,
    FREE_OPS,
    MAC_KERNELS,
    PRODUCTS,
    RESHAPES,
    UNBOUND_SAME_SHAPE,
    UNBOUND_SAVES_RESULT,
    Binding,
    MetaResult,
    activation_product,
    for_aten,
    functional_label,
    module_from_op,
    op_family,
    op_from_aten,
    op_from_module,
    product_operands,
    register,
    register_fallback,
    registered,
    same_shape,
    saves_result,
    unregister,
)

__all__ = [
    "CROP",
    "DROPOUT_APPLY",
    "DROPOUT_MASK",
    "DROPOUT_SCALE",
    "FREE_OPS",
    "MAC_KERNELS",
    "PRODUCTS",
    "RESHAPES",
    "UNBOUND_SAME_SHAPE",
    "UNBOUND_SAVES_RESULT",
    "Binding",
    "MetaResult",
    "activation_product",
    "broadcasts",
    "for_aten",
    "functional_label",
    "module_from_op",
    "op_family",
    "op_from_aten",
    "op_from_module",
    "product_operands",
    "register",
    "register_fallback",
    "registered",
    "same_shape",
    "saves_result",
    "unregister",
    "windowed",
]

# --- meta results made directly (the kernels' Python refs import torch._dynamo and sympy) ---


def windowed(fits: Callable[[AtenArgs], bool]) -> MetaResult:
    """A windowed op's meta result from its record's output shape, where ``fits`` accepts the
    arguments (anything else: the kernel decides, and its error names the problem)."""

    def meta(name: str, args: tuple[Any, ...], x: torch.Tensor) -> Any:
        if not isinstance(args, AtenArgs) or x.dim() != 4 or not x.is_contiguous() or not fits(args):
            return None
        binding = for_aten(name)
        assert binding is not None  # a windowed binding is registered under its aten names
        make = binding.from_aten
        assert make is not None  # a windowed binding makes its record from its arguments
        shape = make(args).output_shape(tuple(x.shape))
        if min(shape) < 1:
            return None
        out = x.new_empty(shape)
        return (out, x.new_empty(shape, dtype=torch.int64)) if name == "max_pool2d_with_indices" else out

    return meta


def broadcasts(shape: Any, to: Any) -> bool:
    return len(shape) <= len(to) and all(n in (1, m) for n, m in zip(reversed(shape), reversed(to)))


def _conv_fits(a: AtenArgs) -> bool:
    x, w, b, groups = a["input"], a["weight"], a["bias"], a["groups"]
    if not isinstance(groups, int) or groups < 1 or w.dim() != 4:
        return False
    transposed = bool(a["transposed"])
    windows = [*ints(a["stride"], 1), *ints(a["padding"], 0), *ints(a["dilation"], 1)]
    if len(windows) != 6:
        return False
    if transposed:  # weight (C_in, C_out / groups, kh, kw); output padding below stride or dilation
        extra = ints(a["output_padding"], 0)
        out = w.shape[1] * groups
        channels = x.shape[1] == w.shape[0] and w.shape[0] % groups == 0
        strides, dilations = windows[:2], windows[4:]
        if len(extra) != 2 or any(e < 0 or e >= max(s, d) for e, s, d in zip(extra, strides, dilations)):
            return False
    else:
        out = w.shape[0]
        channels = x.shape[1] == w.shape[1] * groups and w.shape[0] % groups == 0
    return channels and (b is None or b.shape == (out,))


def _pool_fits(dilated: bool) -> Callable[[AtenArgs], bool]:
    def fits(a: AtenArgs) -> bool:
        kernel = ints(a["kernel_size"], 1)
        stride = ints(a["stride"] or a["kernel_size"], 1)
        padding = ints(a["padding"], 0)
        dilation = ints(a["dilation"], 1) if dilated else [1, 1]
        if len(kernel) != 2 or len(stride) != 2 or len(padding) != 2 or len(dilation) != 2:
            return False
        if not dilated and a["divisor_override"] is not None:
            return False  # divisor_override: the shape is the same, but leave the odd case to the kernel
        return all(p <= k // 2 for p, k in zip(padding, kernel))

    return fits


def _adaptive_fits(a: AtenArgs) -> bool:
    return all(isinstance(o, int) and o > 0 for o in pair(a["output_size"]))


def _linear_meta(name: str, args: tuple[Any, ...], x: torch.Tensor) -> Any:
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if name == "mm":
        if len(tensors) == 2 and x.dim() == 2 == tensors[1].dim() and x.shape[1] == tensors[1].shape[0]:
            return x.new_empty((x.shape[0], tensors[1].shape[1]))
        return None
    if len(args) == len(tensors) == 3:  # addmm(bias, a, b)
        bias, a, b = tensors
        if a.dim() == 2 == b.dim() and a.shape[1] == b.shape[0] and bias.dim() <= 2:
            out = (a.shape[0], b.shape[1])
            if broadcasts(bias.shape, out):
                return x.new_empty(out)
    return None


def _batch_norm_meta(name: str, args: tuple[Any, ...], x: torch.Tensor) -> Any:
    if name != "native_batch_norm" or x.dim() < 2 or not x.is_contiguous():
        return None
    if not all(t.shape == (x.shape[1],) for t in args[1:] if isinstance(t, torch.Tensor)):  # per-channel
        return None
    # (output, save_mean, save_rstd) as the meta kernel gives them
    stats = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    return x.new_empty(x.shape), *(x.new_empty((x.shape[1],), dtype=stats) for _ in range(2))


# --- the built-in bindings ---


def _conv_padding(m: nn.Conv2d) -> tuple[int, int]:
    if isinstance(m.padding, str):  # "same" / "valid"
        if m.padding == "valid":
            return (0, 0)
        h, w = (d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
        return (h, w)
    return pair(m.padding)


def _conv_from_aten(a: AtenArgs) -> ops.Op:
    x, w, b = a["input"], a["weight"], a["bias"]
    if w.dim() == 4 and bool(a["transposed"]):
        return other_bindings.transposed_conv_from_aten(a)
    if w.dim() != 4:  # not 2-D: no formulas here
        return ops.Unknown("convolution")
    return ops.Conv2d(int(x.shape[1]), int(w.shape[0]), pair(list(w.shape[2:])), pair(a["stride"]),
                      pair(a["padding"]), pair(a["dilation"]), int(a["groups"]), b is not None)  # fmt: skip


def _max_pool_from_aten(a: AtenArgs) -> ops.Op:
    kernel = pair(a["kernel_size"])
    return ops.MaxPool2d(kernel, pair(a["stride"], kernel), pair(a["padding"]), pair(a["dilation"]),
                         bool(a["ceil_mode"]))  # fmt: skip


def _batch_norm_from_aten(a: AtenArgs) -> ops.Op:
    # _native_batch_norm_legit.no_stats has no running_mean: no running statistics tracked
    return ops.BatchNorm2d(int(a["input"].shape[1]), a["weight"] is not None, a.get("running_mean") is not None)


def _batch_norm_from_module(m: Any) -> ops.Op:
    return ops.BatchNorm2d(m.num_features, bool(m.affine), bool(m.track_running_stats))


register(Binding(
    ops.Conv2d, (nn.Conv2d,), ("convolution",),
    from_module=lambda m: ops.Conv2d(m.in_channels, m.out_channels, pair(m.kernel_size), pair(m.stride),
                                     _conv_padding(m), pair(m.dilation), m.groups, m.bias is not None),
    from_aten=_conv_from_aten,
    to_module=lambda op, dt: nn.Conv2d(op.in_channels, op.out_channels, op.kernel_size, op.stride, op.padding,
                                       op.dilation, op.groups, op.bias, device="meta", dtype=dt),
    functional="conv2d", meta=windowed(_conv_fits),
))  # fmt: skip
register(Binding(
    ops.Linear, (nn.Linear,), ("addmm", "mm"),
    from_module=lambda m: ops.Linear(m.in_features, m.out_features, m.bias is not None),
    from_aten=lambda a: ops.Linear(int(a["mat2"].shape[0]), int(a["mat2"].shape[1]), "mat1" in a.names),  # x @ w.t()
    to_module=lambda op, dt: nn.Linear(op.in_features, op.out_features, op.bias, device="meta", dtype=dt),
    functional="linear", meta=_linear_meta,
))  # fmt: skip
register(Binding(
    ops.MaxPool2d, (nn.MaxPool2d,), ("max_pool2d_with_indices", "max_pool2d"),
    from_module=lambda m: ops.MaxPool2d(pair(m.kernel_size), pair(m.stride or m.kernel_size), pair(m.padding),
                                        pair(m.dilation), bool(m.ceil_mode)),
    from_aten=_max_pool_from_aten,
    to_module=lambda op, dt: nn.MaxPool2d(op.kernel_size, op.stride, op.padding, op.dilation, ceil_mode=op.ceil_mode),
    family="pool", functional="max_pool2d", meta=windowed(_pool_fits(dilated=True)),
))  # fmt: skip
register(Binding(
    ops.AvgPool2d, (nn.AvgPool2d,), ("avg_pool2d",),
    from_module=lambda m: ops.AvgPool2d(pair(m.kernel_size), pair(m.stride or m.kernel_size), pair(m.padding),
                                        bool(m.ceil_mode)),
    from_aten=lambda a: ops.AvgPool2d(pair(a["kernel_size"]), pair(a["stride"], pair(a["kernel_size"])),
                                      pair(a["padding"]), bool(a["ceil_mode"])),
    to_module=lambda op, dt: nn.AvgPool2d(op.kernel_size, op.stride, op.padding, ceil_mode=op.ceil_mode),
    family="pool", meta=windowed(_pool_fits(dilated=False)),
))  # fmt: skip
register(Binding(
    ops.AdaptiveAvgPool2d, (nn.AdaptiveAvgPool2d,), ("_adaptive_avg_pool2d",),
    from_module=lambda m: ops.AdaptiveAvgPool2d(optional_pair(m.output_size)),
    from_aten=lambda a: ops.AdaptiveAvgPool2d(pair(a["output_size"])),
    to_module=lambda op, dt: nn.AdaptiveAvgPool2d(op.output_size),
    functional="adaptive_avg_pool2d", meta=windowed(_adaptive_fits),
))  # fmt: skip
register(Binding(
    ops.ReLU, (nn.ReLU,), ("relu", "relu_"),
    from_module=lambda m: ops.ReLU(bool(m.inplace)),
    from_aten=lambda a: ops.ReLU(False),
    to_module=lambda op, dt: nn.ReLU(inplace=op.inplace),
    same_shape=True, saves_result=True,
))  # fmt: skip
register(Binding(
    ops.Dropout, (nn.Dropout,), ("bernoulli_",),
    from_module=lambda m: ops.Dropout(float(m.p)),
    from_aten=lambda a: ops.Dropout(1 - float(a["p"])),  # bernoulli_(mask, keep probability)
    to_module=lambda op, dt: nn.Dropout(op.p),
    functional="dropout", same_shape=True, saves_result=True,
))  # fmt: skip
register(Binding(
    ops.BatchNorm2d, (nn.BatchNorm2d, nn.BatchNorm1d),
    ("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training"),
    from_module=_batch_norm_from_module,
    from_aten=_batch_norm_from_aten,
    to_module=lambda op, dt: nn.BatchNorm2d(op.num_features, affine=op.affine,
                                            track_running_stats=op.track_running_stats, device="meta", dtype=dt),
    family="batch_norm", meta=_batch_norm_meta,
))  # fmt: skip
register(Binding(
    ops.LocalResponseNorm, (nn.LocalResponseNorm,),
    from_module=lambda m: ops.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
    to_module=lambda op, dt: nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k),
))  # fmt: skip
register(Binding(
    ops.Flatten, (nn.Flatten,),
    from_module=lambda m: ops.Flatten(m.start_dim, m.end_dim),
    to_module=lambda op, dt: nn.Flatten(op.start_dim, op.end_dim),
))  # fmt: skip

# The others people's VGGs use, registered after the paper's (an op's first binding rebuilds its module).
from . import other_bindings  # noqa: E402
