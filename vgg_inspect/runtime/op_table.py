"""The table of bound ops: one ``Binding`` per operator record, saying which torch modules and aten
operations it covers, and the lookups the runtime makes in it (torch's ``register_flop_formula``
and fvcore's op table are the models). ``bindings.py`` registers the paper's ops and
``other_bindings.py`` the others; neither imports the other's registrations through this table, so
the two never form a cycle. Aten names are decided here and in those two modules only."""

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
from .arguments import AtenArgs  # noqa: E402

MetaResult = Callable[[str, tuple[Any, ...], torch.Tensor], Any]


@record(frozen=True)
class Binding:
    """One operator record bound to torch: the module types and aten overload packets it covers."""

    op: type[ops.Op]
    modules: tuple[type[nn.Module], ...] = ()
    aten: tuple[str, ...] = ()
    from_module: Callable[[Any], ops.Op] | None = None
    from_aten: Callable[[AtenArgs], ops.Op] | None = None  # reads the call's arguments by name
    to_module: Callable[[Any, torch.dtype], nn.Module] | None = None
    family: str | None = None  # the family its aten calls are counted in; None: each name's own
    functional: str | None = None  # how a functional call is labelled (F.conv2d); None: the aten name
    same_shape: bool = False  # output shaped like the first input (in place when the name ends in _)
    saves_result: bool = False  # its backward reads its own result (saved after it runs)
    meta: MetaResult | None = None  # its meta result made directly (None from it: the kernel runs)
    # No shortcut needed: the kernel's own meta is a C++ one (imports neither torch._dynamo nor sympy).
    # Every aten-bound op says one or the other, or is same_shape (tests/test_op_suite.py holds it).
    own_meta_is_cheap: bool = False


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


# Records made for aten ops no binding names, by torch's own tags (other_bindings.from_tags)
Fallback = Callable[[str, tuple[Any, ...], frozenset[str]], "ops.Op | None"]
_FALLBACKS: list[Fallback] = []


def register_fallback(fallback: Fallback) -> Fallback:
    _FALLBACKS.append(fallback)
    return fallback


def for_aten(name: str) -> Binding | None:
    return _BY_ATEN.get(name)


def op_from_module(module: nn.Module) -> ops.Op:
    binding = _BY_MODULE.get(type(module))
    if binding is None or binding.from_module is None:
        return ops.Unknown(type(module).__name__)
    return binding.from_module(module)


def op_from_aten(name: str, args: AtenArgs, tags: frozenset[str] = frozenset()) -> ops.Op:
    """The record of an aten call: its binding's, else by torch's own tags (``pointwise``,
    ``reduction``); ``Unknown("aten.NAME")`` where nothing (or its arguments) fits."""
    binding = _BY_ATEN.get(name)
    if binding is None or binding.from_aten is None:
        found = None
        for fallback in _FALLBACKS:
            try:
                found = fallback(name, args, tags)
            except (IndexError, TypeError, ValueError, AttributeError):
                found = None
            if found is not None:
                break
        return found if found is not None else ops.Unknown(f"aten.{name}", mac_free=name not in MAC_KERNELS)
    try:
        return binding.from_aten(args)
    except (IndexError, TypeError, ValueError):
        return ops.Unknown(f"aten.{name}", mac_free=name not in MAC_KERNELS)


PRODUCTS = ("mm", "addmm", "bmm")  # matrix products: a Linear when one operand is a weight

# What the recorder makes no row of: views and reshapes (a reshape that flattens a map is a flatten
# row), allocations, detaching. Their names, and the other aten names the recorder must know, are
# decided here with the bindings.
FREE_OPS = frozenset({
    "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "transpose", "permute", "expand", "squeeze",
    "unsqueeze", "alias", "detach", "as_strided", "flatten", "unflatten", "select", "slice", "contiguous",
    "empty", "empty_like",
})  # fmt: skip
RESHAPES = frozenset({"view", "_unsafe_view", "reshape", "flatten"})  # those that may flatten a map
CROP = "slice"  # x[:, :, a:b] on a map's spatial axis: a crop row (slice(x, dim, start, end, step))
# F.dropout in train mode is three calls: a mask drawn (bernoulli_), scaled (div_), applied (mul)
DROPOUT_MASK, DROPOUT_SCALE, DROPOUT_APPLY = "bernoulli_", "div_", "mul"
# The meta shortcuts' names (meta_results.py). Pointwise-tagged ops whose result is not the
# operands' dtype, or not one tensor, or that refuse floating-point operands: comparisons give
# bool, the rest are left to their kernels.
BOOL_RESULTS = frozenset({
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit",
    "logical_and", "logical_or", "logical_xor", "logical_not",
})  # fmt: skip
LEFT_TO_KERNELS = frozenset({
    "__lshift__", "__ilshift__", "__rshift__", "__irshift__", "float_power", "float_power_", "frexp", "where",
    "gcd", "gcd_", "lcm", "lcm_",
})  # fmt: skip
REDUCTIONS = frozenset({"sum", "mean", "amax", "amin", "prod"})  # (x, dims?, keepdim?) with a result like x
CAT, REPEAT = "cat", "repeat"  # made directly: a merge of maps, InstanceNorm's weight over the batch
CLAMPS = ("clamp", "clip")  # with neither bound: torch's own error, left to the kernel

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


def product_operands(name: str, args: AtenArgs) -> tuple[Any, Any]:
    """The two matrices of a product (addmm's ``self`` is the added term)."""
    return (args["mat1"], args["mat2"]) if name == "addmm" else (args["self"], args["mat2"])


def activation_product(name: str, args: AtenArgs) -> ops.Op:
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
