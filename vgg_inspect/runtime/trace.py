"""Trace any ``nn.Module`` into ``LayerTrace`` records: walk it with the formulas when that is
exact, or run it once on meta tensors with hooks (cost independent of input size and batch)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypedDict

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from .. import errors, ops  # noqa: E402
from ..errors import AnalysisError, VggInspectError  # noqa: E402
from ..metrics.trace import LayerTrace  # noqa: E402
from ..ops import Convention  # noqa: E402
from ..spec import paper_names  # noqa: E402
from .build import TORCH_DTYPES, VGG  # noqa: E402

# Ops whose backward reads their own result (saved after they run); any other op's result that is
# saved was saved by the next op, as its input.
SAVES_RESULT = frozenset({"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "elu", "elu_", "bernoulli_"})

# Activations and in-place ops whose output is shaped like the input (in place when the name ends in _).
SAME_SHAPE = frozenset({
    "relu", "relu_", "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_", "elu", "elu_", "gelu", "silu",
    "silu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "bernoulli_", "div_", "mul_", "empty_like",
})  # fmt: skip


class EagerMode(TorchDispatchMode):
    """A dispatch mode that never runs under torch.compile."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Torch's documented opt-out: without it the mode is wrapped in dynamo.disable, which imports
        # torch._dynamo on the first op (0.7 s of a 1 s analysis).
        return False


def op_family(name: str) -> str:
    """An aten op's family: the same in train and eval runs, on any device, and when a support run
    swaps max-pools for average pools (the n-th call of a family is the same layer in all of them)."""
    if name in ("max_pool2d_with_indices", "max_pool2d", "avg_pool2d"):
        return "pool"
    if name.startswith(("native_batch_norm", "_native_batch_norm_legit")):
        return "batch_norm"
    return name.rstrip("_")  # relu_ is relu


def _meta_shortcut(name: str, args: tuple[Any, ...], kwargs: Any) -> Any:
    """The meta result of a common op, made directly; None: let the op's own meta kernel run.

    Several of those kernels are Python refs wrapped in dynamo.disable, whose first call imports
    torch._dynamo (0.7 s, most of a user-model analysis); these ops' results need no kernel."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if kwargs or not tensors or any(not t.is_meta or t.dtype != tensors[0].dtype for t in tensors):
        return None
    x = tensors[0]
    if name in SAME_SHAPE and name.endswith("_"):  # in place: the other operands must broadcast to x
        return x if all(_broadcasts(t.shape, x.shape) for t in tensors[1:]) else None
    if name in SAME_SHAPE and x.is_contiguous():
        return x.new_empty(x.shape)  # (empty_like is a Python ref too)
    # A shape that does not fit is left to the kernel, whose error names it.
    if name == "mm" and len(tensors) == 2 and x.dim() == 2 == tensors[1].dim() and x.shape[1] == tensors[1].shape[0]:
        return x.new_empty((x.shape[0], tensors[1].shape[1]))
    if name == "addmm" and len(args) == len(tensors) == 3:
        bias, a, b = tensors
        if a.dim() == 2 == b.dim() and a.shape[1] == b.shape[0] and bias.dim() <= 2:
            out = (a.shape[0], b.shape[1])
            if _broadcasts(bias.shape, out):
                return x.new_empty(out)
        return None
    if name == "native_batch_norm" and x.dim() >= 2 and x.is_contiguous():
        if not all(t.shape == (x.shape[1],) for t in tensors[1:]):  # per-channel weights and statistics
            return None
        # (output, save_mean, save_rstd) as the meta kernel gives them
        stats = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        return x.new_empty(x.shape), *(x.new_empty((x.shape[1],), dtype=stats) for _ in range(2))
    if name == "mul" and len(tensors) == 2 == len(args) and x.shape == tensors[1].shape and x.is_contiguous():
        return x.new_empty(x.shape)  # the dropout's x * mask
    if name in WINDOWED and x.dim() == 4 and x.is_contiguous() and _fits(name, args):
        # Their meta kernels call torch._check, which imports sympy (0.25 s): the formulas give the shape.
        shape = OP_FROM_ATEN[name](args).output_shape(tuple(x.shape))
        if min(shape) < 1:
            return None
        out = x.new_empty(shape)
        return (out, x.new_empty(shape, dtype=torch.int64)) if name == "max_pool2d_with_indices" else out
    return None


def _broadcasts(shape: Any, to: Any) -> bool:
    return len(shape) <= len(to) and all(n in (1, m) for n, m in zip(reversed(shape), reversed(to)))


WINDOWED = frozenset({"convolution", "max_pool2d_with_indices", "max_pool2d", "avg_pool2d", "_adaptive_avg_pool2d"})


def _fits(name: str, args: tuple[Any, ...]) -> bool:
    """The arguments are ones torch accepts and the formulas read (anything else: the kernel decides)."""
    x = args[0]
    if name == "_adaptive_avg_pool2d":
        return len(args) == 2 and all(isinstance(o, int) and o > 0 for o in _pairs(args[1]))
    if name == "convolution":
        w, b = args[1], args[2]
        if len(args) != 9 or args[6] or not isinstance(args[8], int) or args[8] < 1 or w.dim() != 4:
            return False
        groups = args[8]
        channels = x.shape[1] == w.shape[1] * groups and w.shape[0] % groups == 0
        windows = [*_ints(args[3], 1), *_ints(args[4], 0), *_ints(args[5], 1)]
        return channels and (b is None or b.shape == (w.shape[0],)) and len(windows) == 6
    kernel = _ints(args[1], 1)
    stride = _ints(_arg(args, 2, None) or args[1], 1)
    padding = _ints(_arg(args, 3, 0), 0)
    dilation = _ints(_arg(args, 4, 1), 1) if name.startswith("max") else [1, 1]
    if len(kernel) != 2 or len(stride) != 2 or len(padding) != 2 or len(dilation) != 2:
        return False
    if name == "avg_pool2d" and _arg(args, 6, None) is not None:
        return False  # divisor_override: the shape is the same, but leave the odd case to the kernel
    return all(p <= k // 2 for p, k in zip(padding, kernel))


def _ints(v: Any, least: int) -> list[int]:
    """Two ints, each at least ``least``, from an int or a list of one or two; [] when it is not that."""
    items = [v] if isinstance(v, int) else list(v) if isinstance(v, (list, tuple)) else []
    if not 1 <= len(items) <= 2 or not all(type(i) is int and i >= least for i in items):
        return []
    return items * (3 - len(items)) if len(items) == 1 else items


# Operations that compute nothing: views, reshapes, transposes, bare allocations.
FREE_OPS = frozenset({
    "view", "_unsafe_view", "reshape", "_reshape_alias", "t", "transpose", "permute", "expand", "squeeze",
    "unsqueeze", "alias", "detach", "as_strided", "flatten", "unflatten", "select", "slice", "contiguous",
    "empty", "empty_like",
})  # fmt: skip


RESHAPES = frozenset({"view", "_unsafe_view", "reshape", "flatten"})


def _flattens(x: Any, out: Any, excluded: set[int]) -> bool:
    """A feature map (not a parameter) flattened per sample: (N, C, H, W) or (N, C, L) -> (N, features)."""
    return (
        isinstance(x, torch.Tensor)
        and isinstance(out, torch.Tensor)
        and x.dim() >= 3
        and out.dim() == 2
        and out.shape[0] == x.shape[0]
        and x.untyped_storage()._cdata not in excluded
    )


def _pairs(v: Any, default: Any = None) -> tuple[int, int]:
    if v is None or (isinstance(v, (list, tuple)) and not v):
        v = default
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[-1]))


def _arg(args: tuple[Any, ...], i: int, default: Any) -> Any:
    return args[i] if len(args) > i else default


def _pool(args: tuple[Any, ...]) -> ops.Op:
    kernel = _pairs(args[1])
    stride = _pairs(_arg(args, 2, None), kernel)
    return ops.MaxPool2d(kernel, stride, _pairs(_arg(args, 3, 0)), _pairs(_arg(args, 4, 1)), bool(_arg(args, 5, False)))


def _conv(args: tuple[Any, ...]) -> ops.Op:
    x, w, b = args[0], args[1], args[2]
    if w.dim() != 4 or bool(args[6]):  # not 2-D, or transposed: no formulas here
        return ops.Unknown("convolution")
    return ops.Conv2d(int(x.shape[1]), int(w.shape[0]), _pairs(list(w.shape[2:])), _pairs(args[3]), _pairs(args[4]),
                      _pairs(args[5]), int(args[8]), b is not None)  # fmt: skip


def _norm(args: tuple[Any, ...]) -> ops.Op:
    return ops.BatchNorm2d(int(args[0].shape[1]), args[1] is not None, _arg(args, 3, None) is not None)


FUNCTIONAL_NAMES = {"convolution": "conv2d", "addmm": "linear", "mm": "linear", "bernoulli_": "dropout",
                    "max_pool2d_with_indices": "max_pool2d", "_adaptive_avg_pool2d": "adaptive_avg_pool2d"}  # fmt: skip

# One entry per aten operation a forward may call itself (F.conv2d, F.max_pool2d, F.relu, F.linear...):
# the operator with formulas that it computes, from its arguments.
OP_FROM_ATEN: dict[str, Callable[[tuple[Any, ...]], ops.Op]] = {
    "convolution": _conv,
    "addmm": lambda a: ops.Linear(int(a[2].shape[0]), int(a[2].shape[1]), True),
    "mm": lambda a: ops.Linear(int(a[1].shape[0]), int(a[1].shape[1]), False),
    "max_pool2d_with_indices": _pool,
    "max_pool2d": _pool,
    "avg_pool2d": lambda a: ops.AvgPool2d(
        _pairs(a[1]), _pairs(_arg(a, 2, None), _pairs(a[1])), _pairs(_arg(a, 3, 0)), bool(_arg(a, 4, False))
    ),
    "_adaptive_avg_pool2d": lambda a: ops.AdaptiveAvgPool2d(_pairs(a[1])),
    "relu": lambda a: ops.ReLU(False),
    "relu_": lambda a: ops.ReLU(True),
    "bernoulli_": lambda a: ops.Dropout(1 - float(_arg(a, 1, 0.5))),
    "native_batch_norm": _norm,
    "_native_batch_norm_legit": _norm,
    "_native_batch_norm_legit_no_training": _norm,
}


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
    nn.AvgPool2d: lambda m: ops.AvgPool2d(
        _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding), bool(m.ceil_mode)
    ),
    nn.ReLU: lambda m: ops.ReLU(bool(m.inplace)),
    nn.Dropout: lambda m: ops.Dropout(float(m.p)),
    nn.BatchNorm2d: lambda m: ops.BatchNorm2d(m.num_features, bool(m.affine), bool(m.track_running_stats)),
    nn.LocalResponseNorm: lambda m: ops.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
    nn.Flatten: lambda m: ops.Flatten(m.start_dim, m.end_dim),
    nn.BatchNorm1d: lambda m: ops.BatchNorm2d(m.num_features, bool(m.affine), bool(m.track_running_stats)),
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


class Counts(TypedDict):
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int


NO_COUNTS = Counts(params=0, trainable_params=0, buffers=0, param_bytes=0, buffer_bytes=0)


def _counts(mod: nn.Module, seen: set[int] | None = None) -> Counts:
    """Its own parameters and buffers; with ``seen``, a storage already counted (a tied weight) is not."""
    ps = list(mod.parameters(recurse=False))
    if seen is not None:
        ps = [p for p in ps if p.untyped_storage()._cdata not in seen]
        seen.update(p.untyped_storage()._cdata for p in ps)
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
    notes: list[str] | None = None,
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
    return _execute(module, input_shape, dtype, convention, notes) if execute else _walk(module, input_shape)


def _walk(module: nn.Module, input_shape: tuple[int, ...]) -> list[LayerTrace]:
    traces: list[LayerTrace] = []
    shape = tuple(input_shape)
    seen: set[int] = set()  # a weight tied between two layers is counted once
    for name, mod in leaves(module):
        op = op_from_module(mod)
        try:
            out = op.output_shape(shape)
        except ValueError as exc:
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name}: {exc}") from None
        if len(out) == 4 and any(v <= 0 for v in out[2:]):
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name} would output {out}")
        traces.append(
            LayerTrace(
                module=name, type=type(mod).__name__, op=op, input_shape=shape, output_shape=out, **_counts(mod, seen)
            )
        )
        shape = out
    return traces


def _new_bytes(op: ops.Op, t_in: tuple[int, ...], t_out: tuple[int, ...], itemsize: int, conv: Convention) -> int:
    return sum(s.nbytes for s in op.saved(t_in, t_out, itemsize, conv) if s.what == "new")


def _sid(t: Any) -> int | None:
    return t.untyped_storage()._cdata if isinstance(t, torch.Tensor) else None


def _first_tensor(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for t in (_first_tensor(v) for v in value) if t is not None), None)
    return None


def _execute(
    module: nn.Module, input_shape: tuple[int, ...], dtype: str, convention: Convention, notes: list[str] | None = None
) -> list[LayerTrace]:
    try:
        return _run(module, input_shape, dtype, convention, train=True)
    except _TrainRefused as refused:
        if notes is not None:
            notes.append(
                f"the model refuses train mode at this batch ({refused}): shapes and counts come from an eval-mode "
                "run, and saved-for-backward bytes follow each layer's rule, unmeasured"
            )
        return _run(module, input_shape, dtype, convention, train=False)


def _own_line(exc: BaseException) -> str:
    """(file.py:21): the last frame of the traceback in the model's own code, not torch's or ours."""
    mine = (os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(__file__)))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(mine)]
    return f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""


def _failing_layer(calls: list[list[Any]], index: int) -> tuple[str, str | None]:
    """The layer a failure happened in, by its paper name where it has one (fc6 (module fc1)), and
    what went wrong there in plain words where it can be told."""
    kinds = [(c[1] if isinstance(c[1], ops.Op) else op_from_module(c[1])).kind for c in calls[: index + 1]]
    name = paper_names(kinds, [c[0] for c in calls[: index + 1]])[index]
    where = name if name == calls[index][0] else f"{name} (module {calls[index][0]})"
    mod, shape = calls[index][1], calls[index][2]
    if isinstance(mod, nn.Linear) and shape and shape[-1] != mod.in_features:
        return where, (
            f"it expects {mod.in_features:,} input features and {shape[-1]:,} arrive at this input size; give the "
            "input size the model was written for, or put an adaptive pool before the classifier"
        )
    return where, None


class _TrainRefused(Exception):
    """Train mode is refused at this batch (BatchNorm with one value per channel)."""


def _run(
    module: nn.Module, input_shape: tuple[int, ...], dtype: str, convention: Convention, train: bool
) -> list[LayerTrace]:
    meta_state = {
        k: torch.empty(v.shape, dtype=v.dtype, device="meta").requires_grad_(v.requires_grad)
        for k, v in list(module.named_parameters()) + list(module.named_buffers())
    }
    excluded = {t.untyped_storage()._cdata for t in meta_state.values()}
    calls: list[list[Any]] = []  # [name, module, input shape, output shape, saved bytes]
    claimed: set[int] = set()
    held: list[Any] = []  # keeps each saved storage alive (and its id unique) until the trace ends
    active: list[int] = []

    containers: list[str] = []  # the non-leaf modules whose forward is running, outermost first
    dropout: list[bool] = []  # inside a functional dropout (its mask is made, then applied)
    links: dict[int, list[int | None]] = {}  # call -> [storage it reads, storage it writes]
    mask: list[int | None] = []  # the storage of the dropout mask being made
    pending: list[int] = []  # bytes saved for an op whose row is not made yet (its inputs)
    grad_in: dict[int, bool] = {}  # call -> whether its input requires grad (something upstream trains)
    seen_calls: dict[str, int] = {}  # op family -> functional calls of it so far
    last_outputs: set[int | None] = set()  # the storages the last functional row wrote

    def pre(name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: tuple[Any, ...]) -> None:
            active.append(len(calls))
            first = _first_tensor(args)
            links[len(calls)] = [_sid(first), None]
            grad_in[len(calls)] = bool(getattr(first, "requires_grad", False))
            calls.append([name, mod, tuple(first.shape) if first is not None else (), (), take_pending()])

        return hook

    def enter(mod: nn.Module, args: tuple[Any, ...]) -> None:
        containers.append(type(mod).__name__)

    def leave(mod: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        containers.pop()

    class Functional(EagerMode):
        """Operations a forward calls itself (F.conv2d, F.max_pool2d, F.relu, torch.cat...), outside any
        leaf module: each becomes a row, with formulas where the operation has them (OP_FROM_ATEN) and
        named as not counted where it has none, so that nothing it does is silently zero."""

        def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
            name = func.overloadpacket.__name__
            out = _meta_shortcut(name, args, kwargs)
            if out is None:
                out = func(*args, **(kwargs or {}))
            flat = name in RESHAPES and not active and _flattens(args[0], out, excluded)
            if active or (name in FREE_OPS and not flat):
                return out
            if dropout and name in ("div_", "mul"):  # the rest of F.dropout: scale the mask, apply it
                if name == "mul":  # x * mask: the dropout row's output
                    dropout.clear()
                    links[len(calls) - 1] = [next((_sid(a) for a in args if _sid(a) != mask[0]), None), _sid(out)]
                return out
            first = args[1] if name == "addmm" else next((a for a in args if isinstance(a, torch.Tensor)), None)
            result = out[0] if isinstance(out, (tuple, list)) else out
            where = f"{containers[-1]}.forward" if containers else "forward"
            label = "flatten" if flat else FUNCTIONAL_NAMES.get(name, name)
            try:
                op = OP_FROM_ATEN[name](args) if name in OP_FROM_ATEN else ops.Unknown(f"aten.{name}")
            except (IndexError, TypeError, ValueError):
                op = ops.Unknown(f"aten.{name}")
            if flat:  # torch.flatten(x, 1) or x.view(n, -1) before the classifier: a row, as nn.Flatten gets
                op = ops.Flatten(1)
            if name == "bernoulli_":
                dropout.append(True)
                mask[:] = [_sid(args[0])]
            weights = [a for a in args if isinstance(a, torch.Tensor) and a.untyped_storage()._cdata in excluded]
            shape_in = tuple(first.shape) if first is not None else ()
            shape_out = tuple(result.shape) if isinstance(result, torch.Tensor) else ()
            reads = {_sid(a) for a in args if isinstance(a, torch.Tensor) and _sid(a) not in excluded}
            links[len(calls)] = [reads.pop() if len(reads) == 1 else -1, _sid(result)]  # -1: reads two (a join)
            grad_in[len(calls)] = bool(getattr(first, "requires_grad", False))
            family = op_family(name)
            seen_calls[family] = seen_calls.get(family, 0) + 1
            call = (family, seen_calls[family])  # how a later real run finds this call again
            calls.append([f"F.{label} in {where}", op, shape_in, shape_out, take_pending(), weights, call])
            last_outputs.clear()  # what this op may save after it runs: its indices, statistics, mask...
            outputs = list(out) if isinstance(out, (tuple, list)) else [out]
            last_outputs.update(_sid(o) for o in (outputs if name in SAVES_RESULT else outputs[1:]))
            return out

    def post(mod: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        result = _first_tensor(out)  # modules may return tuples (a pool with indices, an LSTM)
        index = active.pop()
        calls[index][3] = tuple(result.shape) if result is not None else ()
        links[index][1] = _sid(result)

    def pack(t: torch.Tensor) -> int:
        storage = t.untyped_storage()
        sid = storage._cdata
        if sid in excluded or sid in claimed:
            return 0
        claimed.add(sid)
        held.append(storage)
        # Autograd saves an op's inputs before the op runs and its outputs after: outside a module,
        # an output of the last functional row (or the dropout being applied) is that row's; anything
        # else is an input of the op about to run, whose row takes it when it is made.
        if active:
            calls[active[-1]][4] += storage.nbytes()
        elif calls and isinstance(calls[-1][1], ops.Op) and (dropout or sid in last_outputs):
            calls[-1][4] += storage.nbytes()
        else:
            pending.append(storage.nbytes())
        return 0  # never the tensor itself: that would make an uncollectable reference cycle

    def take_pending() -> int:
        taken = sum(pending)
        pending.clear()
        return taken

    handles = []
    for name, m in leaves(module):
        handles.append(m.register_forward_pre_hook(pre(name)))
        handles.append(m.register_forward_hook(post))
    leaf_ids = {id(m) for _, m in leaves(module)}
    for m in module.modules():
        if id(m) not in leaf_ids:
            handles.append(m.register_forward_pre_hook(enter))
            handles.append(m.register_forward_hook(leave))
    was_training = module.training
    if ops.numel(input_shape) * TORCH_DTYPES[dtype].itemsize >= 2**62:  # meta tensors too have a byte size
        raise AnalysisError(
            f"the input {tuple(input_shape)} holds {ops.numel(input_shape):,} elements, more than torch can address "
            "in one tensor; give a smaller --input or --batch"
        )
    x = torch.empty(input_shape, dtype=TORCH_DTYPES[dtype], device="meta")
    try:
        module.train(train)
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda _: None), Functional():
            torch.func.functional_call(module, meta_state, (x,))
    except VggInspectError:
        raise
    except Exception as exc:  # anything the model's own code raises: one line, its place, its line
        if train and isinstance(exc, ValueError) and "more than 1 value per channel" in str(exc):
            raise _TrainRefused(str(exc).splitlines()[0]) from None
        if errors.DEBUG:
            traceback.print_exception(exc, file=sys.stderr)
        where, plain = _failing_layer(calls, active[-1]) if active else ("", None)
        place = f" at {where}" if where else (f" in {containers[-1]}.forward" if containers else "")
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError)):
            text = f"{type(exc).__name__}: {text}".rstrip(": ")  # torch's own errors read without a type
        if "meta" in text:
            text += " (the forward runs once on meta tensors, which have shapes and no data)"
        if isinstance(exc, TypeError) and "forward()" in text:
            text += " (the forward is called with one tensor of the --input shape)"
        raise AnalysisError(
            f"the model cannot run on input {tuple(input_shape)}{place}{_own_line(exc)}: "
            f"{plain or text or type(exc).__name__}; --debug shows the traceback"
        ) from None
    finally:
        module.train(was_training)
        held.clear()
        for h in handles:
            h.remove()
    if calls:  # saved for an op that made no row (a view, an unknown op's own pieces): the last row's
        calls[-1][4] += take_pending()

    itemsize = torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()
    traces: list[LayerTrace] = []
    counted: set[int] = set()  # a module called twice has its parameters counted once
    seen_weights: set[int] = set()  # parameters (shared or tied ones too) are counted once
    previous = _sid(x)
    for index, (name, mod, shape_in, shape_out, saved, *rest) in enumerate(calls):
        reads, writes = links.get(index, [None, None])
        chained = reads == previous
        previous = writes if writes is not None else previous
        if not train:
            saved = None
        grads = grad_in.get(index) if train else None  # an eval run tracks no gradients
        if isinstance(mod, ops.Op):  # a functional call: its operator, and the parameters it reads
            fresh = [w for w in rest[0] if w.untyped_storage()._cdata not in seen_weights and w.requires_grad]
            seen_weights.update(w.untyped_storage()._cdata for w in rest[0])
            params = sum(int(w.numel()) for w in fresh)
            nbytes = sum(int(w.numel()) * w.element_size() for w in fresh)
            kind = mod.type_label if isinstance(mod, ops.Unknown) else type(mod).__name__
            if saved:  # from the meta kernels' layout to the device's, as for a module below
                saved += _new_bytes(mod, shape_in, shape_out, itemsize, convention)
                saved -= _new_bytes(mod, shape_in, shape_out, itemsize, Convention.META)
            traces.append(
                LayerTrace(
                    name,
                    kind,
                    mod,
                    shape_in,
                    shape_out,
                    params,
                    params,
                    0,
                    nbytes,
                    0,
                    saved_bytes=saved,
                    chained=chained,
                    input_requires_grad=grads,
                    call=rest[1],
                )
            )
            continue
        counts = _counts(mod, seen_weights) if id(mod) not in counted else NO_COUNTS
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
                chained=chained,
                input_requires_grad=grads,
                **counts,
            )
        )
    return traces
