"""Everything that needs torch: building the model on a device, and tracing any nn.Module.

Imported only when a device is asked for, so the analytical path stays free of torch's import.
"""

from __future__ import annotations

import contextlib
import re
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from . import ops
from .analysis import LayerTrace
from .architecture import ModelSpec, layer_defs
from .errors import AnalysisError, VggInspectError

_DEVICE_RE = re.compile(r"^(cpu|meta|mps|cuda(?::(\d+))?)$")
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def check_device(text: str) -> torch.device:
    """Parse and check a device name; unavailable devices are a clear error, not a crash later."""
    m = _DEVICE_RE.match(text.strip().lower())
    if not m:
        raise VggInspectError(f"unknown device '{text}'; expected cpu, cuda, cuda:N, mps or meta")
    name = m.group(1)
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VggInspectError(
                f"device '{text}' is not available: this torch ({torch.__version__}) sees no CUDA GPU; "
                "try --device cpu or --device meta"
            )
        index = int(m.group(2) or 0)
        if index >= torch.cuda.device_count():
            raise VggInspectError(
                f"device '{text}' is not available: {torch.cuda.device_count()} CUDA device(s) present "
                f"(cuda:0..cuda:{torch.cuda.device_count() - 1})"
            )
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise VggInspectError(f"device '{text}' is not available: MPS needs Apple silicon; try --device cpu")
    return torch.device(name)


def _module_from_op(op: ops.Op, dtype: torch.dtype) -> nn.Module:
    kw: dict[str, Any] = {"device": "meta", "dtype": dtype}
    if isinstance(op, ops.Conv2d):
        return nn.Conv2d(op.in_channels, op.out_channels, op.kernel_size, op.stride, op.padding, op.dilation,
                         op.groups, op.bias, **kw)
    if isinstance(op, ops.Linear):
        return nn.Linear(op.in_features, op.out_features, op.bias, **kw)
    if isinstance(op, ops.BatchNorm2d):
        return nn.BatchNorm2d(op.num_features, affine=op.affine, track_running_stats=op.track_running_stats, **kw)
    if isinstance(op, ops.ReLU):
        return nn.ReLU(inplace=op.inplace)
    if isinstance(op, ops.MaxPool2d):
        return nn.MaxPool2d(op.kernel_size, op.stride, op.padding, op.dilation, ceil_mode=op.ceil_mode)
    if isinstance(op, ops.LocalResponseNorm):
        return nn.LocalResponseNorm(op.size, op.alpha, op.beta, op.k)
    if isinstance(op, ops.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool2d(op.output_size)
    if isinstance(op, ops.Dropout):
        return nn.Dropout(op.p)
    raise TypeError(f"no module for {op!r}")


class VGG(nn.Module):
    """torchvision's VGG layout (same state-dict keys), built from a ModelSpec."""

    def __init__(self, spec: ModelSpec, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        defs = layer_defs(spec)
        modules = {d.module: _module_from_op(d.op, dtype) for d in defs}
        self.features = nn.Sequential(*(m for k, m in modules.items() if k.startswith("features.")))
        self.avgpool = modules["avgpool"]
        self.classifier = nn.Sequential(*(m for k, m in modules.items() if k.startswith("classifier.")))
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def init_weights(model: nn.Module) -> None:
    """torchvision's VGG initialisation."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)


def instantiate(spec: ModelSpec, *, device: str = "cpu", dtype: str = "float32", init: bool = False) -> VGG:
    """Build the model straight onto ``device``: constructed on meta, then storage allocated
    there uninitialised (``to_empty``), so no random initialisation is paid unless ``init``."""
    dev = check_device(device)
    tdtype = TORCH_DTYPES[dtype]
    model = VGG(spec, tdtype)
    if dev.type == "meta":
        if init:
            raise VggInspectError("--init needs real storage; use --device cpu (or cuda) with --init")
        return model
    try:
        _allocate(model, dev)
    except (RuntimeError, TypeError) as exc:  # e.g. a dtype the device cannot hold
        raise VggInspectError(f"cannot allocate {spec.name} as {dtype} on {device}: {exc}".splitlines()[0]) from None
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()  # buffers must hold real statistics, even uninitialised weights need not
    if init:
        init_weights(model)
    return model


def _allocate(model: nn.Module, device: torch.device) -> None:
    """``to_empty`` without its cost: ``torch.empty`` straight on the device (``to_empty`` goes
    through ``empty_like``'s Python reference, whose first call imports a large part of torch)."""
    for m in model.modules():
        for k, p in m._parameters.items():
            if p is not None:
                m._parameters[k] = nn.Parameter(torch.empty(p.shape, dtype=p.dtype, device=device), p.requires_grad)
        for k, b in m._buffers.items():
            if b is not None:
                m._buffers[k] = torch.empty(b.shape, dtype=b.dtype, device=device)


@contextlib.contextmanager
def _fast_meta_kernels() -> Iterator[None]:
    """Avoid two lazy imports that Python meta kernels trigger and that cost more than torch's
    own import: torch._dynamo (see ``_no_dynamo_import``) and sympy, which ``torch._check``
    imports on its first call to evaluate a condition that, for concrete shapes, is a plain
    bool. ``True`` is answered directly; anything else goes to torch's own check unchanged."""
    original = torch._check_with

    def check_with(error_type: type, cond: Any, message: Any) -> None:
        if cond is True:
            return
        original(error_type, cond, message)

    torch._check_with = check_with  # type: ignore[assignment]
    try:
        with _no_dynamo_import():
            yield
    finally:
        torch._check_with = original  # type: ignore[assignment]


@contextlib.contextmanager
def _no_dynamo_import() -> Iterator[None]:
    """Keep meta kernels from importing torch._dynamo (about 1.7 s, more than torch itself).

    Many Python meta kernels are wrapped by ``torch._disable_dynamo``, whose first call imports
    torch._dynamo only to wrap the kernel in ``torch._dynamo.disable``. That wrapper matters only
    while torch.compile traces; outside it the kernel is called unchanged. While this is active
    ``disable`` returns the kernel itself; afterwards the stub and every cached wrapper are removed,
    so a later torch.compile in the same process imports and wraps as usual.
    """
    if "torch._dynamo" in sys.modules:
        yield
        return
    touched: list[Callable[..., Any]] = []

    def disable(fn: Callable[..., Any], recursive: bool = True, wrapping: bool = True) -> Callable[..., Any]:
        touched.append(fn)
        return fn

    stub = types.ModuleType("torch._dynamo")
    stub.disable = disable  # type: ignore[attr-defined]
    sys.modules["torch._dynamo"] = stub
    try:
        yield
    finally:
        if sys.modules.get("torch._dynamo") is stub:
            del sys.modules["torch._dynamo"]
        if torch.__dict__.get("_dynamo") is stub:
            del torch.__dict__["_dynamo"]
        for fn in touched:
            fn.__dict__.pop("__dynamo_disable", None)


_OP_FROM_MODULE: dict[type, Callable[[Any], ops.Op]] = {
    nn.Conv2d: lambda m: ops.Conv2d(m.in_channels, m.out_channels, tuple(m.kernel_size), tuple(m.stride),
                                    _padding(m), tuple(m.dilation), m.groups, m.bias is not None),
    nn.Linear: lambda m: ops.Linear(m.in_features, m.out_features, m.bias is not None),
    nn.MaxPool2d: lambda m: ops.MaxPool2d(_pair(m.kernel_size), _pair(m.stride or m.kernel_size),
                                          _pair(m.padding), _pair(m.dilation), bool(m.ceil_mode)),
    nn.AdaptiveAvgPool2d: lambda m: ops.AdaptiveAvgPool2d(_pair_opt(m.output_size)),
    nn.ReLU: lambda m: ops.ReLU(bool(m.inplace)),
    nn.Dropout: lambda m: ops.Dropout(float(m.p)),
    nn.BatchNorm2d: lambda m: ops.BatchNorm2d(m.num_features, bool(m.affine), bool(m.track_running_stats)),
    nn.LocalResponseNorm: lambda m: ops.LocalResponseNorm(m.size, m.alpha, m.beta, m.k),
    nn.Flatten: lambda m: ops.Flatten(),
}


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pair_opt(v: Any) -> tuple[Any, Any]:
    return (v, v) if v is None or isinstance(v, int) else (v[0], v[1])


def _padding(m: nn.Conv2d) -> tuple[int, int]:
    if isinstance(m.padding, str):  # "same" / "valid"
        if m.padding == "valid":
            return (0, 0)
        return tuple(d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))  # type: ignore[return-value]
    return _pair(m.padding)


def op_from_module(m: nn.Module) -> ops.Op:
    make = _OP_FROM_MODULE.get(type(m))
    if make is None:
        if type(m) is nn.Dropout or isinstance(m, nn.modules.dropout._DropoutNd):
            return ops.Dropout(float(m.p))
        return ops.Unknown(type(m).__name__)
    return make(m)


def _leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if n and next(m.children(), None) is None]


def walkable(module: nn.Module) -> bool:
    """True when registration order is execution order and every leaf has formulas: our VGG, or
    an nn.Sequential of known layers. Such a module needs no execution to propagate shapes."""
    if not isinstance(module, (VGG, nn.Sequential)):
        return False
    if isinstance(module, nn.Sequential) and any(type(m) not in (nn.Sequential,) and next(m.children(), None)
                                                 for m in module.modules() if m is not module):
        return False
    return all(not isinstance(op_from_module(m), ops.Unknown) for _, m in _leaves(module))


def trace_module(
    module: nn.Module, input_shape: tuple[int, ...], *, dtype: str = "float32", execute: bool | None = None
) -> list[LayerTrace]:
    """Every leaf call of ``module`` with its shapes and its real parameter and buffer counts.

    ``execute=True`` runs the module once on meta tensors in train mode: hooks record each leaf
    call's shapes and each tensor autograd saves (parameters and buffers excluded, each storage
    once). ``execute=False`` walks a ``walkable`` module and propagates shapes with the layers'
    formulas, read from the real modules' attributes: the same numbers without Python meta
    kernels, whose first call imports sympy (about 0.5 s). ``None`` picks False when possible.
    """
    if execute is None:
        execute = not walkable(module)
    if not execute:
        return _walk(module, input_shape)
    leaves = _leaves(module)
    meta_state = {
        k: torch.empty(v.shape, dtype=v.dtype, device="meta").requires_grad_(v.requires_grad)
        for k, v in list(module.named_parameters()) + list(module.named_buffers())
    }
    excluded = {t.untyped_storage()._cdata for t in meta_state.values()}
    calls: list[tuple[str, nn.Module, tuple[int, ...], tuple[int, ...]]] = []
    saved: list[int] = []
    claimed: set[int] = set()
    active: list[int] = []

    def pre(name: str) -> Callable[..., None]:
        def hook(mod: nn.Module, args: tuple) -> None:
            active.append(len(calls))
            calls.append((name, mod, tuple(args[0].shape), ()))
            saved.append(0)
        return hook

    def post(mod: nn.Module, args: tuple, out: Any) -> None:
        i = active.pop()
        name, _, shape_in, _ = calls[i]
        calls[i] = (name, mod, shape_in, tuple(out.shape))

    def pack(t: torch.Tensor) -> torch.Tensor:
        sid = t.untyped_storage()._cdata
        if active and sid not in excluded and sid not in claimed:
            claimed.add(sid)
            saved[active[-1]] += t.untyped_storage().nbytes()
        return t

    handles = []
    for name, m in leaves:
        handles.append(m.register_forward_pre_hook(pre(name)))
        handles.append(m.register_forward_hook(post))
    was_training = module.training
    x = torch.empty(input_shape, dtype=TORCH_DTYPES[dtype], device="meta")
    try:
        module.train()
        with _fast_meta_kernels(), torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            torch.func.functional_call(module, meta_state, (x,))
    except RuntimeError as exc:
        raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {str(exc).splitlines()[0]}") from None
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()


    traces: list[LayerTrace] = []
    counted: set[int] = set()  # a module called twice has its parameters counted once
    for (name, mod, shape_in, shape_out), sv in zip(calls, saved):
        counts = _counts(mod) if id(mod) not in counted else dict.fromkeys(_COUNT_KEYS, 0)
        counted.add(id(mod))
        traces.append(LayerTrace(module=name, type=type(mod).__name__, op=op_from_module(mod),
                                 input_shape=shape_in, output_shape=shape_out, saved_bytes=sv, **counts))
    return traces


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


def _walk(module: nn.Module, input_shape: tuple[int, ...]) -> list[LayerTrace]:
    traces: list[LayerTrace] = []
    shape = tuple(input_shape)
    for name, mod in _leaves(module):
        op = op_from_module(mod)
        shape = ops.flatten_for(op, shape) if isinstance(module, VGG) else shape
        try:
            out = op.output_shape(shape)
        except ValueError as exc:
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name}: {exc}") from None
        if any(v <= 0 for v in out[2:]):
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name} would output {out}")
        traces.append(LayerTrace(module=name, type=type(mod).__name__, op=op, input_shape=shape,
                                 output_shape=out, **_counts(mod)))
        shape = out
    return traces


def device_name(module: nn.Module) -> str:
    for t in list(module.parameters()) + list(module.buffers()):
        return str(t.device)
    return "cpu"


def module_dtype(module: nn.Module) -> str:
    for p in module.parameters():
        for name, dt in TORCH_DTYPES.items():
            if p.dtype == dt:
                return name
    return "float32"


def measure_cuda(model: nn.Module, input_shape: tuple[int, ...], *, train: bool) -> dict[str, int]:
    """A real forward (and backward with ``train``) on CUDA; torch.cuda.max_memory_allocated."""
    device = next(model.parameters()).device
    if device.type != "cuda":
        raise VggInspectError("--measure needs --device cuda (it reads torch.cuda.max_memory_allocated)")
    dtype = next(model.parameters()).dtype
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    resident = torch.cuda.memory_allocated(device)  # weights and buffers
    torch.cuda.reset_peak_memory_stats(device)
    x = torch.randn(input_shape, device=device, dtype=dtype)
    if train:
        model.train()
        model(x).float().sum().backward()
    else:
        model.eval()
        with torch.no_grad():
            model(x)
    torch.cuda.synchronize(device)
    return {"resident_bytes": resident, "max_memory_allocated": torch.cuda.max_memory_allocated(device)}
