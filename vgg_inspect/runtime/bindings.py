"""Which torch modules and aten operations each operator record covers: one ``Binding`` per op,
registered here (torch's ``register_flop_formula`` and fvcore's op table are the models).

A binding says how to make the op's record from a module and from aten arguments, how to
rebuild the module from the record (built-in variants), the op family its calls are counted in,
and what the meta shortcut may assume. A new op is its record in ``ops/`` and its binding here
(or ``register``-ed from anywhere, e.g. a test); nothing else in the runtime names op types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import ops  # noqa: E402
from ..records import record  # noqa: E402
from .arguments import arg, ints, optional_pair, pair  # noqa: E402

MetaResult = Callable[[str, tuple[Any, ...], torch.Tensor], Any]


@record(frozen=True)
class Binding:
    """One operator record bound to torch: the module types and aten overload packets it covers."""

    op: type[ops.Op]
    modules: tuple[type[nn.Module], ...] = ()
    aten: tuple[str, ...] = ()
    from_module: Callable[[Any], ops.Op] | None = None
    from_aten: Callable[[tuple[Any, ...]], ops.Op] | None = None
    to_module: Callable[[Any, torch.dtype], nn.Module] | None = None
    family: str | None = None  # the family its aten calls are counted in; None: each name's own
    functional: str | None = None  # how a functional call is labelled (F.conv2d); None: the aten name
    same_shape: bool = False  # output shaped like the first input (in place when the name ends in _)
    saves_result: bool = False  # its backward reads its own result (saved after it runs)
    meta: MetaResult | None = None  # its meta result made directly (None from it: the kernel runs)


_BINDINGS: list[Binding] = []
_BY_MODULE: dict[type, Binding] = {}
_BY_ATEN: dict[str, Binding] = {}
_BY_OP: dict[type, Binding] = {}


def register(binding: Binding) -> Binding:
    """Bind an op; a module type or aten name bound twice is an error (one formula per op)."""
    taken = [m.__name__ for m in binding.modules if m in _BY_MODULE] + [a for a in binding.aten if a in _BY_ATEN]
    if taken:
        raise ValueError(f"already bound: {', '.join(taken)}")
    _BINDINGS.append(binding)
    _BY_MODULE.update(dict.fromkeys(binding.modules, binding))
    _BY_ATEN.update(dict.fromkeys(binding.aten, binding))
    _BY_OP.setdefault(binding.op, binding)
    return binding


def unregister(binding: Binding) -> None:
    _BINDINGS.remove(binding)
    tables: tuple[dict[Any, Binding], ...] = (_BY_MODULE, _BY_ATEN, _BY_OP)
    for table in tables:
        for k in [k for k, v in table.items() if v is binding]:
            del table[k]


@contextmanager
def registered(binding: Binding) -> Iterator[Binding]:
    """A binding for the duration of a block (tests, experiments)."""
    register(binding)
    try:
        yield binding
    finally:
        unregister(binding)


def for_aten(name: str) -> Binding | None:
    return _BY_ATEN.get(name)


def op_from_module(module: nn.Module) -> ops.Op:
    binding = _BY_MODULE.get(type(module))
    if binding is None or binding.from_module is None:
        return ops.Unknown(type(module).__name__)
    return binding.from_module(module)


def op_from_aten(name: str, args: tuple[Any, ...], tags: frozenset[str] = frozenset()) -> ops.Op:
    """The record of an aten call: its binding's, else by torch's own tags (``pointwise``,
    ``reduction``); ``Unknown("aten.NAME")`` where nothing (or its arguments) fits."""
    binding = _BY_ATEN.get(name)
    if binding is None or binding.from_aten is None:
        from .common_ops import from_tags

        try:
            found = from_tags(name, args, tags)
        except (IndexError, TypeError, ValueError, AttributeError):
            found = None
        return found if found is not None else ops.Unknown(f"aten.{name}", mac_free=name not in MAC_KERNELS)
    try:
        return binding.from_aten(args)
    except (IndexError, TypeError, ValueError):
        return ops.Unknown(f"aten.{name}", mac_free=name not in MAC_KERNELS)


PRODUCTS = ("mm", "addmm", "bmm")  # matrix products: a Linear when one operand is a weight
# The kernels that multiply-accumulate, as torch.utils.flop_counter's registry names them (a test
# holds the two equal): an op that runs none of them has no MACs, whatever else it does.
MAC_KERNELS = frozenset({
    "convolution", "_convolution", "convolution_overrideable", "cudnn_convolution", "_slow_conv2d_forward",
    "convolution_backward", "mm", "addmm", "bmm", "baddbmm", "_scaled_mm",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_efficient_attention_backward",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_flash_attention_backward",
    "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_cudnn_attention_backward",
    "_efficient_attention_forward", "_efficient_attention_backward", "_flash_attention_forward",
    "_flash_attention_backward",
})  # fmt: skip


def product_operands(name: str, args: tuple[Any, ...]) -> tuple[Any, Any]:
    """The two matrices of a product (addmm's first argument is the added term)."""
    return (args[1], args[2]) if name == "addmm" else (args[0], args[1])


def activation_product(name: str, args: tuple[Any, ...]) -> ops.Op:
    """A product none of whose operands is a parameter (a Gram matrix): no weight layer."""
    try:
        a, b = product_operands(name, args)
        if name == "bmm":
            return ops.MatMul(int(a.shape[1]), int(a.shape[2]), int(b.shape[2]), int(a.shape[0]))
        return ops.MatMul(int(a.shape[0]), int(a.shape[1]), int(b.shape[1]), 1, name == "addmm")
    except (IndexError, AttributeError, TypeError):
        return ops.Unknown(f"aten.{name}")


def module_from_op(op: ops.Op, dtype: torch.dtype) -> nn.Module:
    binding = _BY_OP.get(type(op))
    if binding is None or binding.to_module is None:
        raise TypeError(f"no module for {op!r}")
    return binding.to_module(op, dtype)


def op_family(name: str) -> str:
    """An aten op's family: the same in train and eval runs, on any device, and when a support run
    swaps max-pools for average pools (the n-th call of a family is the same layer in all of them)."""
    binding = _BY_ATEN.get(name)
    return binding.family if binding is not None and binding.family else name.rstrip("_")  # relu_ is relu


def functional_label(name: str) -> str:
    binding = _BY_ATEN.get(name)
    return binding.functional if binding is not None and binding.functional else name


def same_shape(name: str) -> bool:
    binding = _BY_ATEN.get(name)
    return binding.same_shape if binding is not None else name in UNBOUND_SAME_SHAPE


def saves_result(name: str) -> bool:
    binding = _BY_ATEN.get(name)
    return binding.saves_result if binding is not None else name in UNBOUND_SAVES_RESULT


# Aten ops with no formulas yet whose shape and autograd behaviour the trace still relies on.
UNBOUND_SAME_SHAPE = frozenset({
    "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_", "elu", "elu_", "gelu", "silu", "silu_", "sigmoid",
    "sigmoid_", "tanh", "tanh_", "div_", "mul_",
})  # fmt: skip
UNBOUND_SAVES_RESULT = frozenset({"sigmoid", "sigmoid_", "tanh", "tanh_", "elu", "elu_"})


# --- meta results made directly (the kernels' Python refs import torch._dynamo and sympy) ---


def windowed(fits: Callable[[tuple[Any, ...]], bool]) -> MetaResult:
    """A windowed op's meta result from its record's output shape, where ``fits`` accepts the
    arguments (anything else: the kernel decides, and its error names the problem)."""

    def meta(name: str, args: tuple[Any, ...], x: torch.Tensor) -> Any:
        if x.dim() != 4 or not x.is_contiguous() or not fits(args):
            return None
        make = _BY_ATEN[name].from_aten
        assert make is not None  # a windowed binding makes its record from its arguments
        shape = make(args).output_shape(tuple(x.shape))
        if min(shape) < 1:
            return None
        out = x.new_empty(shape)
        return (out, x.new_empty(shape, dtype=torch.int64)) if name == "max_pool2d_with_indices" else out

    return meta


def broadcasts(shape: Any, to: Any) -> bool:
    return len(shape) <= len(to) and all(n in (1, m) for n, m in zip(reversed(shape), reversed(to)))


def _conv_fits(args: tuple[Any, ...]) -> bool:
    x, w, b = args[0], args[1], args[2]
    if len(args) != 9 or not isinstance(args[8], int) or args[8] < 1 or w.dim() != 4:
        return False
    groups, transposed = args[8], bool(args[6])
    windows = [*ints(args[3], 1), *ints(args[4], 0), *ints(args[5], 1)]
    if len(windows) != 6:
        return False
    if transposed:  # weight (C_in, C_out / groups, kh, kw); output padding below stride or dilation
        extra = ints(args[7], 0)
        out = w.shape[1] * groups
        channels = x.shape[1] == w.shape[0] and w.shape[0] % groups == 0
        strides, dilations = windows[:2], windows[4:]
        if len(extra) != 2 or any(e < 0 or e >= max(s, d) for e, s, d in zip(extra, strides, dilations)):
            return False
    else:
        out = w.shape[0]
        channels = x.shape[1] == w.shape[1] * groups and w.shape[0] % groups == 0
    return channels and (b is None or b.shape == (out,))


def _pool_fits(dilated: bool) -> Callable[[tuple[Any, ...]], bool]:
    def fits(args: tuple[Any, ...]) -> bool:
        kernel = ints(args[1], 1)
        stride = ints(arg(args, 2, None) or args[1], 1)
        padding = ints(arg(args, 3, 0), 0)
        dilation = ints(arg(args, 4, 1), 1) if dilated else [1, 1]
        if len(kernel) != 2 or len(stride) != 2 or len(padding) != 2 or len(dilation) != 2:
            return False
        if not dilated and arg(args, 6, None) is not None:
            return False  # divisor_override: the shape is the same, but leave the odd case to the kernel
        return all(p <= k // 2 for p, k in zip(padding, kernel))

    return fits


def _adaptive_fits(args: tuple[Any, ...]) -> bool:
    return len(args) == 2 and all(isinstance(o, int) and o > 0 for o in pair(args[1]))


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


def _conv_from_aten(a: tuple[Any, ...]) -> ops.Op:
    x, w, b = a[0], a[1], a[2]
    if w.dim() == 4 and bool(a[6]):
        from .common_ops import transposed_conv_from_aten

        return transposed_conv_from_aten(a)
    if w.dim() != 4:  # not 2-D: no formulas here
        return ops.Unknown("convolution")
    return ops.Conv2d(int(x.shape[1]), int(w.shape[0]), pair(list(w.shape[2:])), pair(a[3]), pair(a[4]), pair(a[5]),
                      int(a[8]), b is not None)  # fmt: skip


def _max_pool_from_aten(a: tuple[Any, ...]) -> ops.Op:
    kernel = pair(a[1])
    stride = pair(arg(a, 2, None), kernel)
    return ops.MaxPool2d(kernel, stride, pair(arg(a, 3, 0)), pair(arg(a, 4, 1)), bool(arg(a, 5, False)))


def _batch_norm_from_aten(a: tuple[Any, ...]) -> ops.Op:
    return ops.BatchNorm2d(int(a[0].shape[1]), a[1] is not None, arg(a, 3, None) is not None)


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
    from_aten=lambda a: ops.Linear(int(a[-1].shape[0]), int(a[-1].shape[1]), len(a) == 3),  # addmm(b, x, w.t()), mm
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
    from_aten=lambda a: ops.AvgPool2d(pair(a[1]), pair(arg(a, 2, None), pair(a[1])), pair(arg(a, 3, 0)),
                                      bool(arg(a, 4, False))),
    to_module=lambda op, dt: nn.AvgPool2d(op.kernel_size, op.stride, op.padding, ceil_mode=op.ceil_mode),
    family="pool", meta=windowed(_pool_fits(dilated=False)),
))  # fmt: skip
register(Binding(
    ops.AdaptiveAvgPool2d, (nn.AdaptiveAvgPool2d,), ("_adaptive_avg_pool2d",),
    from_module=lambda m: ops.AdaptiveAvgPool2d(optional_pair(m.output_size)),
    from_aten=lambda a: ops.AdaptiveAvgPool2d(pair(a[1])),
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
    from_aten=lambda a: ops.Dropout(1 - float(arg(a, 1, 0.5))),
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

from . import common_ops  # noqa: E402, F401  (registers the bindings of the ops people's VGGs use)
