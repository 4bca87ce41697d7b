"""The report of any ``nn.Module`` instance: walked, or run once on meta tensors; the parameters and
buffers it holds beyond its rows; and what its device cannot run. Every source of a model (a
built-in on a device, your own code, a module handed to the API) ends here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import require

require("torch", "analysing an nn.Module")
from torch import nn  # noqa: E402

from ..errors import VggInspectError  # noqa: E402
from ..ops import Convention, ConvKernel, LayerKind  # noqa: E402
from ..ops.traced import LayerTrace  # noqa: E402
from ..report.assemble import build_report  # noqa: E402
from ..report.model import MODULE_CONFIG, Held, ModelInfo, Report  # noqa: E402
from . import prepare  # noqa: E402
from .instantiate import cpu_conv_kernel, device_name, module_dtype, unsupported_kernels  # noqa: E402
from .tracer import trace_module  # noqa: E402


def module_report(
    module: Any,
    input_shape: Any,
    *,
    name: str | None = None,
    include: Iterable[str] | str = (),
    optimizer: str = "momentum",
    execute: bool | None = None,
    as_built: bool = False,
    input_requires_grad: bool = False,
    prepared: bool = False,
) -> tuple[Report, list[LayerTrace]]:
    """The report of any ``nn.Module`` instance (walked, or run once on meta tensors) and its traces.
    ``as_built``: built on meta only to be traced, so reported as the closed-form analysis.
    ``prepared``: already out of its wrappers, lazy layers materialised (a model source did it)."""
    from .. import validate

    if not isinstance(module, nn.Module):
        what = f"the class {module.__name__}" if isinstance(module, type) else type(module).__name__
        raise VggInspectError(f"{{param}} must be an nn.Module instance, got {what}", param="module")
    if execute is not None and not isinstance(execute, bool):
        raise VggInspectError(f"{{param}} must be True, False or None, got {execute!r}", param="execute")
    shape = validate.shape(input_shape)
    if len(shape) != 4:
        raise VggInspectError(f"{{param}} must be (N, C, H, W), got {shape}", param="input_shape")
    notes: list[str] = []
    if not prepared:  # a module handed to the API as it is
        module = prepare.unwrap(module, notes)
    dtype = module_dtype(module)
    if not prepared:
        module = prepare.materialise(module, shape, dtype, notes)
    device = None if as_built else device_name(module)
    counted: set[str] = set()
    ran: set[str] = set()
    traces = trace_module(module, shape, dtype=dtype, execute=execute, convention=Convention.for_device(device),
                          notes=notes, input_requires_grad=input_requires_grad, counted=counted, ran=ran)  # fmt: skip
    weight_layers = sum(t.op.kind in (LayerKind.CONV, LayerKind.FC) for t in traces)
    info = ModelInfo(name or type(module).__name__, MODULE_CONFIG, None, None, None, shape[1], weight_layers)
    report = build_report(info, shape, traces, dtype=dtype, device=device,
                          analysis="instantiated" if device else "analytical", include=include,
                          optimizer=optimizer, input_requires_grad=input_requires_grad,
                          conv_kernel=cpu_conv_kernel(device, dtype) if device else ConvKernel.EITHER,
                          held=held_elsewhere(module, counted, ran))  # fmt: skip
    report.warnings.extend(notes)
    return report, traces


def held_elsewhere(module: nn.Module, counted: set[str], ran: set[str]) -> list[Held]:
    """What ``module.parameters()`` and ``.buffers()`` hold beyond the rows (``counted`` names what they
    count), grouped by the module that owns it: the model's own tensors, an auxiliary head never called.
    ``ran``: the modules whose forward ran (a module whose own code calls functions ran, rows or not)."""
    owners: dict[str, list[tuple[str, Any, bool]]] = {}
    for name, tensor, is_param in [*((n, p, True) for n, p in module.named_parameters()),
                                   *((n, b, False) for n, b in module.named_buffers())]:  # fmt: skip
        if name not in counted:
            owners.setdefault(name.rpartition(".")[0], []).append((name, tensor, is_param))
    held = []
    for owner, items in owners.items():
        params = [t for _, t, p in items if p]
        buffers = [t for _, t, p in items if not p]
        size = [sum(t.numel() for t in group) for group in (params, buffers)]
        nbytes = [sum(t.numel() * t.element_size() for t in group) for group in (params, buffers)]
        trainable = sum(t.numel() for t in params if t.requires_grad)
        held.append(Held(owner=owner, type=type(module.get_submodule(owner)).__name__, names=[n for n, _, _ in items],
                         params=size[0], trainable_params=trainable, buffers=size[1], param_bytes=nbytes[0],
                         buffer_bytes=nbytes[1], called=owner == "" or owner in ran))  # fmt: skip
    return held


def kernel_warnings(report: Report, module: nn.Module, device: str, dtype: str) -> None:
    for problem in unsupported_kernels(module, device, dtype):
        report.warnings.append(
            f"cannot run on {device} as {dtype} with this torch ({problem}): nothing can be measured there; "
            "the figures are the closed-form rules"
        )
