"""Trace any ``nn.Module`` into ``LayerTrace`` records: walk it with the formulas when that is
exact, or run it once on meta tensors with hooks (cost independent of input size and batch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import ops  # noqa: E402
from ..errors import AnalysisError  # noqa: E402
from ..metrics.trace import LayerTrace  # noqa: E402
from ..ops import Convention  # noqa: E402
from .build import TORCH_DTYPES, VGG  # noqa: E402


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pair_opt(v: Any) -> tuple[Any, Any]:
    return (v, v) if v is None or isinstance(v, int) else (v[0], v[1])


def _padding(m: nn.Conv2d) -> tuple[int, int]:
    if isinstance(m.padding, str):  # "same" / "valid"
        if m.padding == "valid":
            return (0, 0)
        h, w = (d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
        return (h, w)
    return _pair(m.padding)


# One entry per module type: the operator (with its formulas) that the module computes.
OP_FROM_MODULE: dict[type, Callable[[Any], ops.Op]] = {
    nn.Conv2d: lambda m: ops.Conv2d(
        m.in_channels,
        m.out_channels,
        _pair(m.kernel_size),
        _pair(m.stride),
        _padding(m),
        _pair(m.dilation),
        m.groups,
        m.bias is not None,
    ),
    nn.Linear: lambda m: ops.Linear(m.in_features, m.out_features, m.bias is not None),
    nn.MaxPool2d: lambda m: ops.MaxPool2d(
        _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding), _pair(m.dilation), bool(m.ceil_mode)
    ),
    nn.AdaptiveAvgPool2d: lambda m: ops.AdaptiveAvgPool2d(_pair_opt(m.output_size)),
    nn.ReLU: lambda m: ops.ReLU(bool(m.inplace)),
    nn.Dropout: lambda m: ops.Dropout(float(m.p)),
    nn.BatchNorm2d: lambda m: ops.BatchNorm2d(m.num_features, bool(m.affine), bool(m.track_running_stats)),
    nn.LocalResponseNorm: lambda m: ops.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
    nn.Flatten: lambda m: ops.Flatten(m.start_dim, m.end_dim),
}


def op_from_module(m: nn.Module) -> ops.Op:
    make = OP_FROM_MODULE.get(type(m))
    return ops.Unknown(type(m).__name__) if make is None else make(m)


def leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if n and next(m.children(), None) is None]


def walkable(module: nn.Module) -> bool:
    """True when registration order is execution order and every leaf has formulas: this tool's
    VGG, or (nested) ``nn.Sequential`` of known layers. Such a module needs no execution."""
    if not isinstance(module, (VGG, nn.Sequential)):
        return False
    inner = [m for m in module.modules() if m is not module and next(m.children(), None) is not None]
    if isinstance(module, nn.Sequential) and any(type(m) is not nn.Sequential for m in inner):
        return False
    return all(not isinstance(op_from_module(m), ops.Unknown) for _, m in leaves(module))


_COUNT_KEYS = ("params", "trainable_params", "buffers", "param_bytes", "buffer_bytes")


def _counts(mod: nn.Module) -> dict[str, int]:
    ps = list(mod.parameters(recurse=False))
    bs = list(mod.buffers(recurse=False))
    return {
        "params": sum(p.numel() for p in ps),
        "trainable_params": sum(p.numel() for p in ps if p.requires_grad),
        "buffers": sum(b.numel() for b in bs),
        "param_bytes": sum(p.numel() * p.element_size() for p in ps),
        "buffer_bytes": sum(b.numel() * b.element_size() for b in bs),
    }


def trace_module(
    module: nn.Module,
    input_shape: tuple[int, ...],
    *,
    dtype: str = "float32",
    execute: bool | None = None,
    convention: Convention = Convention.CPU,
) -> list[LayerTrace]:
    """Every leaf call of ``module`` with its shapes and its real parameter and buffer counts.

    ``execute=False`` walks a ``walkable`` module and propagates shapes with the layers' formulas
    (read from the real modules' attributes); saved-for-backward bytes then follow each op's rule.
    ``execute=True`` runs the module once on meta tensors in train mode: hooks record each leaf
    call's shapes and each tensor autograd saves (parameters and buffers excluded, each storage
    once), corrected from the meta kernels' layout to ``convention``'s. ``None``: walk when possible.
    """
    if execute is None:
        execute = not walkable(module)
    return _execute(module, input_shape, dtype, convention) if execute else _walk(module, input_shape)


def _walk(module: nn.Module, input_shape: tuple[int, ...]) -> list[LayerTrace]:
    traces: list[LayerTrace] = []
    shape = tuple(input_shape)
    for name, mod in leaves(module):
        op = op_from_module(mod)
        try:
            out = op.output_shape(shape)
        except ValueError as exc:
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name}: {exc}") from None
        if len(out) == 4 and any(v <= 0 for v in out[2:]):
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name} would output {out}")
        traces.append(
            LayerTrace(module=name, type=type(mod).__name__, op=op, input_shape=shape, output_shape=out, **_counts(mod))
        )
        shape = out
    return traces


def _new_bytes(op: ops.Op, t_in: tuple[int, ...], t_out: tuple[int, ...], itemsize: int, conv: Convention) -> int:
    return sum(s.nbytes for s in op.saved(t_in, t_out, itemsize, conv) if s.what == "new")


def _execute(module: nn.Module, input_shape: tuple[int, ...], dtype: str, convention: Convention) -> list[LayerTrace]:
    meta_state = {
        k: torch.empty(v.shape, dtype=v.dtype, device="meta").requires_grad_(v.requires_grad)
        for k, v in list(module.named_parameters()) + list(module.named_buffers())
    }
    excluded = {t.untyped_storage()._cdata for t in meta_state.values()}
    calls: list[list[Any]] = []  # [name, module, input shape, output shape, saved bytes]
    claimed: set[int] = set()
    held: list[Any] = []  # keeps each saved storage alive (and its id unique) until the trace ends
    active: list[int] = []

    def pre(name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: tuple[Any, ...]) -> None:
            active.append(len(calls))
            calls.append([name, mod, tuple(args[0].shape), (), 0])

        return hook

    def post(mod: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        calls[active.pop()][3] = tuple(out.shape)

    def pack(t: torch.Tensor) -> int:
        storage = t.untyped_storage()
        sid = storage._cdata
        if active and sid not in excluded and sid not in claimed:
            claimed.add(sid)
            held.append(storage)
            calls[active[-1]][4] += storage.nbytes()
        return 0  # never the tensor itself: that would make an uncollectable reference cycle

    handles = []
    for name, m in leaves(module):
        handles.append(m.register_forward_pre_hook(pre(name)))
        handles.append(m.register_forward_hook(post))
    was_training = module.training
    x = torch.empty(input_shape, dtype=TORCH_DTYPES[dtype], device="meta")
    try:
        module.train()
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda _: None):
            torch.func.functional_call(module, meta_state, (x,))
    except RuntimeError as exc:
        raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {str(exc).splitlines()[0]}") from None
    finally:
        module.train(was_training)
        held.clear()
        for h in handles:
            h.remove()

    itemsize = torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()
    traces: list[LayerTrace] = []
    counted: set[int] = set()  # a module called twice has its parameters counted once
    for name, mod, shape_in, shape_out, saved in calls:
        counts = _counts(mod) if id(mod) not in counted else dict.fromkeys(_COUNT_KEYS, 0)
        counted.add(id(mod))
        op = op_from_module(mod)
        if saved:  # from the meta kernels' layout (float32 BN statistics...) to the device's
            saved += _new_bytes(op, shape_in, shape_out, itemsize, convention)
            saved -= _new_bytes(op, shape_in, shape_out, itemsize, Convention.META)
        traces.append(
            LayerTrace(
                module=name,
                type=type(mod).__name__,
                op=op,
                input_shape=shape_in,
                output_shape=shape_out,
                saved_bytes=saved,
                **counts,
            )
        )
    return traces
