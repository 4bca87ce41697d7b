"""Meta results of the common ops, made directly instead of by their meta kernels.

Several of those kernels are Python refs wrapped in dynamo.disable, whose first call imports
torch._dynamo (0.7 s, most of a user-model analysis), and the windowed ones call torch._check,
which imports sympy (0.25 s). Each op's binding, or torch's own tags, say what may be assumed of
it; every shortcut is tested against torch's own meta kernel, and any case it does not cover is
left to the kernel."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402

from . import bindings  # noqa: E402
from .arguments import AtenArgs  # noqa: E402
from .op_table import BOOL_RESULTS, CAT, CLAMPS, LEFT_TO_KERNELS, REDUCTIONS, REPEAT  # noqa: E402
from .other_bindings import UNTAGGED_POINTWISE  # noqa: E402


@functools.cache
def tags_of(func: Any) -> frozenset[str]:
    """The names of an aten overload's tags (``pointwise``, ``reduction``...), once per overload."""
    return frozenset(t.name for t in getattr(func, "tags", ()))


def meta_of(func: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """The meta result of a call to the aten overload ``func``, its arguments read by name; None:
    let its own meta kernel run."""
    return meta_result(func.overloadpacket.__name__, AtenArgs.of(func, args, kwargs), kwargs, tags_of(func))


def meta_result(name: str, args: tuple[Any, ...], kwargs: Any, tags: frozenset[str] = frozenset()) -> Any:
    """The meta result of aten ``name`` (whose overload carries torch's ``tags``) on ``args``;
    None: let the op's own meta kernel run."""
    if name == CAT and not kwargs:
        return _concatenated(args)
    if name == REPEAT and not kwargs:  # InstanceNorm repeats its weight over the batch
        return _repeated(args)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if kwargs and not (name.endswith("_like") and _default_like(kwargs)):
        return None
    if not tensors or any(not t.is_meta or t.dtype != tensors[0].dtype for t in tensors):
        return None
    x = tensors[0]
    if bindings.same_shape(name):
        if name.endswith("_"):  # in place: the other operands must broadcast to x
            return x if all(bindings.broadcasts(t.shape, x.shape) for t in tensors[1:]) else None
        return x.new_empty(x.shape) if x.is_contiguous() else None  # (empty_like is a Python ref too)
    if (
        name == bindings.DROPOUT_APPLY
        and len(tensors) == 2 == len(args)
        and x.shape == tensors[1].shape
        and x.is_contiguous()
    ):
        return x.new_empty(x.shape)  # the dropout's x * mask
    binding = bindings.for_aten(name)
    if binding is not None and binding.meta is not None:
        return binding.meta(name, args, x)
    if "pointwise" in tags or name in UNTAGGED_POINTWISE:
        return _pointwise(name, args, tensors)
    if name in REDUCTIONS and "reduction" in tags:
        return _reduction(args, x)
    return None


def _broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The broadcast of ``shapes`` (numpy's rule), None where they do not broadcast."""
    rank = max(map(len, shapes))
    out: list[int] = []
    for sizes in zip(*((1,) * (rank - len(s)) + s for s in shapes)):  # aligned at the last dim
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            return None
        out.append(big.pop() if big else 1)
    return tuple(out)


def _pointwise(name: str, args: tuple[Any, ...], tensors: list[torch.Tensor]) -> Any:
    """A pointwise op on row-major floating-point operands of one dtype (and plain numbers): a
    contiguous result of their broadcast shape, bool for a comparison; in place: the input."""
    x = tensors[0]
    if not x.dtype.is_floating_point or not all(_row_major(t) for t in tensors):
        return None
    unbounded = name.rstrip("_") in CLAMPS and all(a is None for a in args[1:])  # torch's error
    if name in LEFT_TO_KERNELS or name.startswith("bitwise_") or unbounded:
        return None
    if any(a is not None and not isinstance(a, (torch.Tensor, bool, int, float)) for a in args):
        return None
    shape = _broadcast([tuple(t.shape) for t in tensors])
    if shape is None:
        return None
    if name.endswith("_"):
        return x if shape == tuple(x.shape) and name[:-1] not in BOOL_RESULTS else None
    return x.new_empty(shape, dtype=torch.bool if name in BOOL_RESULTS else x.dtype)


def _row_major(t: torch.Tensor) -> bool:
    """Strides that fall along the dims (a contiguous tensor or a crop of one): the result of a
    pointwise op on such operands is laid out contiguously."""
    strides = [s for n, s in zip(t.shape, t.stride()) if n > 1]
    return all(a > b for a, b in itertools.pairwise(strides)) and (not strides or strides[-1] > 0)


def _reduction(args: tuple[Any, ...], x: torch.Tensor) -> Any:
    """``sum``/``mean``/``amax``… over listed dims of a contiguous floating-point tensor, result
    in its dtype (no ``dtype`` argument): the reduced dims dropped, or kept as 1."""
    if not isinstance(args, AtenArgs) or not x.dtype.is_floating_point or not x.is_contiguous() or x.dim() == 0:
        return None
    if args.get("dtype") is not None:  # a result in another dtype: the kernel's
        return None
    dims, keep = args.get("dim"), args.get("keepdim", False)
    if not isinstance(keep, bool):
        return None
    if dims is None or dims == []:
        reduced = set(range(x.dim()))
    elif isinstance(dims, (list, tuple)) and all(isinstance(d, int) and -x.dim() <= d < x.dim() for d in dims):
        reduced = {d % x.dim() for d in dims}
        if len(reduced) != len(dims):
            return None  # a dim named twice: the kernel's error
    else:
        return None
    shape = (
        [1 if i in reduced else n for i, n in enumerate(x.shape)]
        if keep
        else [n for i, n in enumerate(x.shape) if i not in reduced]
    )
    return x.new_empty(shape)


def _default_like(kwargs: Any) -> bool:
    """``ones_like(x)``'s keywords when nothing is asked of them (same dtype, layout, device)."""
    return all(v is None or v is False or v is torch.preserve_format for v in kwargs.values())


def _ints(value: Any, count: int, least: int) -> bool:
    """``count`` integers of at least ``least``."""
    return isinstance(value, (list, tuple)) and len(value) == count and all(isinstance(v, int) and v >= least
                                                                            for v in value)  # fmt: skip


def _concatenated(args: tuple[Any, ...]) -> Any:
    """``torch.cat`` of contiguous meta tensors of one dtype and rank along one dim."""
    if not args or not isinstance(args[0], (list, tuple)) or len(args) > 2:
        return None
    parts = list(args[0])
    dim = args[1] if len(args) > 1 else 0
    if not parts or not isinstance(dim, int) or not all(isinstance(t, torch.Tensor) for t in parts):
        return None
    first = parts[0]
    if not all(t.is_meta and t.is_contiguous() and t.dtype == first.dtype and t.dim() == first.dim() for t in parts):
        return None
    if first.dim() == 0 or not -first.dim() <= dim < first.dim():
        return None
    dim %= first.dim()
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1 :] != first.shape[dim + 1 :] for t in parts):
        return None
    shape = list(first.shape)
    shape[dim] = sum(int(t.shape[dim]) for t in parts)
    return first.new_empty(shape)


def _repeated(args: tuple[Any, ...]) -> Any:
    """``x.repeat(sizes)`` of a contiguous meta tensor: each dim times its count (x's shape padded
    with leading 1s to the counts' length)."""
    if len(args) != 2 or not isinstance(args[0], torch.Tensor) or not args[0].is_meta:
        return None
    x, sizes = args
    if not isinstance(sizes, (list, tuple)) or not _ints(sizes, len(sizes), 0) or len(sizes) < x.dim():
        return None
    shape = (1,) * (len(sizes) - x.dim()) + tuple(x.shape)
    return x.new_empty([n * k for n, k in zip(shape, sizes)])
