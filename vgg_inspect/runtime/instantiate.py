"""Build a VGG straight onto a device (constructed on meta, storage allocated uninitialised),
with torchvision's module layout and state-dict keys; device checks and memory guards."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import require

require("torch", "instantiating a model on a device")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..errors import AnalysisError, VggInspectError  # noqa: E402
from ..network import ModelSpec, layer_defs  # noqa: E402
from ..ops import ConvKernel  # noqa: E402
from .bindings import module_from_op  # noqa: E402

_DEVICE_RE = re.compile(r"^(cpu|meta|mps|cuda(?::(\d+))?)$")
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def check_device(text: str) -> torch.device:
    """Parse and check a device name; unavailable devices are a clear error, not a crash later."""
    m = _DEVICE_RE.match(str(text).strip().lower())
    if not m:
        raise VggInspectError(f"unknown device '{text}'; expected cpu, cuda, cuda:N, mps or meta", param="device")
    name = m.group(1)
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VggInspectError(
                f"device '{text}' is not available: this torch ({torch.__version__}) sees no CUDA GPU; try cpu or meta",
                param="device",
            )
        index = int(m.group(2) or 0)
        if index >= torch.cuda.device_count():
            raise VggInspectError(
                f"device '{text}' is not available: {torch.cuda.device_count()} CUDA device(s) present "
                f"(cuda:0..cuda:{torch.cuda.device_count() - 1})",
                param="device",
            )
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise VggInspectError(f"device '{text}' is not available: MPS needs Apple silicon; try cpu", param="device")
    return torch.device(name)


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (CPU: MemAvailable), or None where it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def ensure_fits(nbytes: int, device: torch.device, what: str) -> None:
    """Refuse, before allocating, what the device cannot hold."""
    free = available_bytes(device)
    if free is not None and nbytes > free:
        raise AnalysisError(
            f"{what} needs {nbytes:,} B ({nbytes / 2**30:,.2f} GiB) on {device}, but only {free:,} B "
            f"({free / 2**30:,.2f} GiB) is available"
        )


class VGG(nn.Module):
    """torchvision's VGG layout (same state-dict keys), built from a ModelSpec: ``features``, then
    ``avgpool``, ``flatten`` and ``classifier`` (fc head), or ``classifier`` as convolutions,
    ``average`` and ``flatten`` (the paper's dense evaluation). The flatten is a module here; it
    holds no state, so torchvision checkpoints load as they are."""

    def __init__(self, spec: ModelSpec, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        groups: dict[str, list[nn.Module]] = {}
        for d in layer_defs(spec):
            top, dot, _ = d.module.partition(".")
            groups.setdefault(top + dot, []).append(module_from_op(d.op, dtype))
        for key, modules in groups.items():  # registration order is execution order
            self.add_module(key.rstrip("."), nn.Sequential(*modules) if key.endswith(".") else modules[0])
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            x = module(x)
        return x


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


def state_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


def instantiate(spec: ModelSpec, *, device: str = "cpu", dtype: str = "float32", init: bool = False) -> VGG:
    """Build the model straight onto ``device``: constructed on meta, then storage allocated
    there uninitialised, so no random initialisation is paid unless ``init``."""
    dev = check_device(device)
    largest = max((op.params() for op in (d.op for d in layer_defs(spec))), default=0)
    if largest * TORCH_DTYPES[dtype].itemsize >= 2**62:  # beyond what torch can hold in one tensor
        raise VggInspectError(
            f"{spec.name} has a layer of {largest:,} parameters, more than torch can allocate in one tensor; "
            "analyse it without a device (closed form)",
            param="device",
        )
    try:
        model = VGG(spec, TORCH_DTYPES[dtype])
    except RuntimeError as exc:
        raise AnalysisError(f"torch cannot build {spec.name} as {dtype}: {str(exc).splitlines()[0]}") from None
    if dev.type == "meta":
        if init:
            raise VggInspectError("{param} needs real storage; use the cpu (or cuda) device", param="init")
        return model
    place(model, device, f"{spec.name}'s weights and buffers ({dtype})", f"{spec.name} as {dtype}")
    if init:
        init_weights(model)
    return model


def move_plain_tensors(model: nn.Module, device: torch.device | str) -> None:
    """Tensors a module keeps as plain attributes (SSD's prior boxes, not a buffer) go where its
    weights go, zero-filled: ``to_empty`` and ``.to`` leave them on meta, where the forward that
    reads them would fail on any other device."""
    for m in model.modules():
        for key, value in list(vars(m).items()):
            if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter) and value.is_meta:
                setattr(m, key, torch.zeros(value.shape, dtype=value.dtype, device=device))


def _allocate(model: nn.Module, device: torch.device) -> None:
    """``to_empty`` without its cost: ``torch.empty`` straight on the device (``to_empty`` goes
    through ``empty_like``'s Python reference, whose first call imports a large part of torch).
    A tensor registered twice (a tied weight) stays one tensor."""
    made: dict[int, torch.Tensor] = {}

    def empty(t: torch.Tensor) -> torch.Tensor:
        if id(t) not in made:
            new = torch.empty(t.shape, dtype=t.dtype, device=device)
            made[id(t)] = nn.Parameter(new, t.requires_grad) if isinstance(t, nn.Parameter) else new
        return made[id(t)]

    for m in model.modules():
        for k, p in m._parameters.items():
            if p is not None:
                m._parameters[k] = empty(p)
        for k, b in m._buffers.items():
            if b is not None:
                m._buffers[k] = empty(b)


def place(
    module: nn.Module, device: str, what: str = "the model's weights and buffers", name: str = "the model"
) -> nn.Module:
    """A module built on meta, given uninitialised storage on ``device`` (checked to fit first)."""
    dev = check_device(device)
    if dev.type == "meta":
        return module
    ensure_fits(state_bytes(module), dev, what)
    try:
        _allocate(module, dev)
    except (RuntimeError, TypeError) as exc:  # e.g. a dtype the device cannot hold
        raise AnalysisError(f"cannot allocate {name} on {device}: {exc}".splitlines()[0]) from None
    move_plain_tensors(module, dev)
    reset_running_stats(module)  # buffers must hold real statistics, even uninitialised weights need not
    return module


def reset_running_stats(module: nn.Module) -> None:
    for m in module.modules():
        if getattr(m, "track_running_stats", False) and hasattr(m, "reset_running_stats"):  # any BatchNorm
            m.reset_running_stats()


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


def cpu_conv_kernel(device: str, dtype: str) -> ConvKernel:
    """The convolution kernel torch runs on this CPU for a 16-bit dtype: oneDNN where the CPU
    supports the dtype natively (torch's own check), else im2col. Not a CPU: unknown (either)."""
    if torch.device(device).type != "cpu":
        return ConvKernel.EITHER
    if dtype == "float32":
        return ConvKernel.ONEDNN
    check = {"float16": "_is_mkldnn_fp16_supported", "bfloat16": "_is_mkldnn_bf16_supported"}[dtype]
    native = torch.backends.mkldnn.is_available() and bool(getattr(torch.ops.mkldnn, check)())
    return ConvKernel.ONEDNN if native else ConvKernel.IM2COL


def unsupported_kernels(model: nn.Module, device: str, dtype: str) -> list[str]:
    """Layer types whose forward kernel this torch lacks on ``device`` for ``dtype`` (e.g. LRN's
    avg_pool3d for float16 on CPU), found by running each type once on a one-element input."""
    dev = torch.device(device)
    if dev.type == "meta":
        return []
    tdtype = TORCH_DTYPES[dtype]
    probes: dict[type, Callable[[Any], Any]] = {
        nn.LocalResponseNorm: lambda m: nn.functional.local_response_norm(
            _tiny(dev, tdtype), m.size, m.alpha, m.beta, m.k
        ),
        nn.MaxPool2d: lambda m: nn.functional.max_pool2d(_tiny(dev, tdtype), 1),
        nn.AdaptiveAvgPool2d: lambda m: nn.functional.adaptive_avg_pool2d(_tiny(dev, tdtype), 1),
        nn.Conv2d: lambda m: nn.functional.conv2d(_tiny(dev, tdtype), torch.ones(1, 1, 1, 1, dtype=tdtype, device=dev)),
    }
    problems = []
    for kind, probe in probes.items():
        found = next((m for m in model.modules() if type(m) is kind), None)
        if found is None:
            continue
        try:
            probe(found)
        except (RuntimeError, NotImplementedError) as exc:
            problems.append(f"{kind.__name__}: {str(exc).splitlines()[0]}")
    return problems


def _tiny(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.ones(1, 1, 1, 1, dtype=dtype, device=device)
