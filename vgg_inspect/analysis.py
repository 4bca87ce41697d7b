"""Both analysis paths and the one report builder they share.

* Analytical (default): shapes, parameters, MACs, memory and receptive fields of a built-in or
  custom variant from its layer list with each op's closed-form formulas. Never imports torch.
* Instantiated (``device=...``): the model is built on that device without initialisation, its
  modules are walked, shapes propagated and saved-for-backward tensors measured with meta tensors
  (so cost does not depend on input size or batch). Parameter and buffer counts are the real
  tensors' sizes. ``analyze_module`` does the same for any ``nn.Module``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import memory, ops
from .architecture import ModelSpec, layer_defs, model_spec, paper_names
from .configs import parse_input_size
from .dtypes import ITEMSIZE, canonical_dtype
from .errors import VggInspectError
from .receptive import axis_value, receptive_fields
from .report import LayerRow, Report

INCLUDE_CHOICES = ("bias", "relu", "pool", "norm")
PARAM_KINDS = {"conv": "conv", "fc": "fc", "norm": "norm"}

CONVENTIONS = {
    "macs": "multiply-accumulates of conv and linear weights; bias, activations and pooling excluded",
    "flops": "2 x MACs (one multiply + one add each){extra}",
    "train_flops": "forward FLOPs + backward: 2 x MACs for the gradient w.r.t. weights and again w.r.t. "
    "the input (not for the first weight layer), as FlopCounterMode counts",
    "activation_bytes": "input + outputs of conv, LRN, max-pool and FC layers (CS231n convention)",
    "inference_peak_bytes": "largest input + output pair of a single layer during inference",
    "training_saved_bytes": "tensors autograd saves for backward in train mode, parameters and "
    "buffers excluded, shared storage once",
    "training_total_bytes": "weights + buffers + gradients + {optimizer} state + training_saved_bytes",
    "weight_bytes": "parameters x dtype size (buffers apart in buffer_bytes)",
}


@dataclass
class LayerTrace:
    """One executed leaf module, as either path sees it."""

    module: str
    type: str
    op: ops.Op
    input_shape: ops.Shape
    output_shape: ops.Shape
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    saved_bytes: int | None = None  # measured (torch path); None: predicted by the op's rule


def input_shape_of(spec: ModelSpec, input_size: int | str | tuple[int, int], batch: int) -> tuple[int, int, int, int]:
    if batch <= 0:
        raise VggInspectError(f"--batch must be at least 1, got {batch}")
    if isinstance(input_size, tuple):
        h, w = input_size
        if h <= 0 or w <= 0:
            raise VggInspectError(f"--input must be positive, got {h}x{w}")
    else:
        h, w = parse_input_size(str(input_size))
    return (batch, spec.in_channels, h, w)


def analytical_traces(spec: ModelSpec, input_shape: ops.Shape, itemsize: int) -> list[LayerTrace]:
    """Shapes and parameter counts of every layer from the formulas alone."""
    traces: list[LayerTrace] = []
    shape = input_shape
    defs = layer_defs(spec)
    for d in defs:
        shape = ops.flatten_for(d.op, shape)
        out = d.op.output_shape(shape)
        if any(v <= 0 for v in out[2:]):
            raise _too_small(spec, input_shape, d, out, defs)
        p = d.op.params()
        traces.append(
            LayerTrace(d.module, d.op.type_name, d.op, shape, out, p, p, d.op.buffers(), p * itemsize,
                       d.op.buffer_bytes(itemsize))
        )
        shape = out
    return traces


def minimum_input(spec: ModelSpec) -> int:
    """Smallest square input every layer accepts (32 for the paper's five 2x2 pools)."""
    defs = layer_defs(spec)
    for size in range(1, 1 << 16):
        shape: ops.Shape = (1, spec.in_channels, size, size)
        for d in defs:
            shape = d.op.output_shape(shape)
            if any(v <= 0 for v in shape[2:]):
                break
        else:
            return size
    raise VggInspectError(f"{spec.name}: no input size up to 65535 fits this layer list")


def _too_small(spec: ModelSpec, input_shape: ops.Shape, d: Any, out: ops.Shape, defs: list) -> VggInspectError:
    names = paper_names([x.op.kind for x in defs], [x.module for x in defs])
    name = names[[x.module for x in defs].index(d.module)]
    need = minimum_input(spec)
    pools = sum(isinstance(x.op, ops.MaxPool2d) for x in defs)
    h, w = input_shape[2:]
    return VggInspectError(
        f"input {h}x{w} is too small for {spec.name}: {name} would output {out[2]}x{out[3]}; "
        f"it needs at least {need}x{need} ({pools} 2x2 max-pools)"
    )


def _model_info(spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "config": spec.config,
        "layers": spec.layers,
        "batch_norm": spec.batch_norm,
        "num_classes": spec.num_classes,
        "in_channels": spec.in_channels,
        "weight_layers": spec.weight_layers,
    }


def build_report(
    model_info: dict[str, Any],
    input_shape: ops.Shape,
    traces: Sequence[LayerTrace],
    *,
    dtype: str,
    device: str | None,
    analysis: str,
    include: Iterable[str] = (),
    optimizer: str = "momentum",
) -> Report:
    """Turn layer traces into the report: names, per-layer figures, totals and conventions."""
    itemsize = ITEMSIZE[dtype]
    include = _check_include(include)
    if optimizer not in memory.OPTIMIZER_STATES:
        raise VggInspectError(f"unknown optimizer '{optimizer}'; expected one of {', '.join(memory.OPTIMIZER_STATES)}")
    names = paper_names([t.op.kind for t in traces], [t.module for t in traces])
    steps = [memory.Step(t.op, t.op.kind, t.input_shape, t.output_shape, t.trainable_params > 0) for t in traces]
    predicted = memory.saved_bytes_per_layer(steps, itemsize, device or "cpu")
    fields = receptive_fields([(t.op, t.input_shape) for t in traces], (input_shape[2], input_shape[3]))

    rows: list[LayerRow] = []
    previous = tuple(input_shape)
    seen_weights = False
    for name, t, saved, rf in zip(names, traces, predicted, fields):
        known = not isinstance(t.op, ops.Unknown)
        macs = t.op.macs(t.input_shape, t.output_shape) if known else None
        flops = train_flops = None
        extra: dict[str, int] = {}
        if macs is not None:
            extra = t.op.extra_flops(t.input_shape, t.output_shape)
            flops = 2 * macs + sum(v for k, v in extra.items() if k in include)
            # Nothing upstream of the first weight layer needs a gradient w.r.t. its input.
            needs_input_grad = seen_weights
            train_flops = flops + 2 * t.op.backward_macs(t.input_shape, t.output_shape, needs_input_grad)
        seen_weights = seen_weights or t.trainable_params > 0
        rows.append(
            LayerRow(
                name=name, module=t.module, type=t.type, kind=t.op.kind,
                input_shape=list(t.input_shape), output_shape=list(t.output_shape),
                params=t.params, trainable_params=t.trainable_params, buffers=t.buffers,
                # the previous output, not the flattened input, shows fc6 as (512·7·7)·4096
                params_formula=t.op.params_formula(previous) if t.params else None,
                macs=macs, flops=flops, train_flops=train_flops, extra_flops=extra,
                activation_bytes=ops.numel(t.output_shape) * itemsize,
                saved_bytes=t.saved_bytes if t.saved_bytes is not None else saved,
                receptive_field=axis_value(rf.h.rf, rf.w.rf) if rf.h else None,
                jump=axis_value(rf.h.jump, rf.w.jump) if rf.h else None,
                start=axis_value(rf.h.start, rf.w.start) if rf.h else None,
                effective_padding=axis_value(rf.h.pad, rf.w.pad) if rf.h else None,
                covers_input=rf.covers,
            )
        )
        previous = t.output_shape

    totals = _totals(rows, traces, steps, itemsize, optimizer)
    extra_text = (" + " + ", ".join(f"{c}" for c in include) + " (see --include rules)") if include else ""
    conventions = {k: v.format(extra=extra_text, optimizer=optimizer) for k, v in CONVENTIONS.items()}
    return Report(
        model=model_info,
        input={"shape": list(input_shape), "dtype": dtype, "device": device, "analysis": analysis},
        layers=rows,
        totals=totals,
        conventions=conventions,
        extra={"options": {"include": list(include), "optimizer": optimizer}},
    )


def _check_include(include: Iterable[str]) -> list[str]:
    chosen = [c.strip().lower() for c in include if c.strip()]
    for c in chosen:
        if c not in INCLUDE_CHOICES:
            raise VggInspectError(f"unknown --include item '{c}'; expected any of {', '.join(INCLUDE_CHOICES)}")
    return [c for c in INCLUDE_CHOICES if c in chosen]


def _totals(rows: list[LayerRow], traces: Sequence[LayerTrace], steps: list[memory.Step], itemsize: int,
            optimizer: str) -> dict[str, Any]:
    params = sum(r.params for r in rows)
    trainable = sum(r.trainable_params for r in rows)
    by_kind = {"conv": 0, "fc": 0, "norm": 0, "other": 0}
    for r in rows:
        by_kind[PARAM_KINDS.get(r.kind, "other")] += r.params
    macs_known = [r for r in rows if r.macs is not None]
    weight_bytes = sum(t.param_bytes for t in traces)
    trainable_bytes = sum(t.param_bytes * t.trainable_params // t.params for t in traces if t.params)
    buffer_bytes = sum(t.buffer_bytes for t in traces)
    saved = sum(r.saved_bytes for r in rows)
    opt = memory.optimizer_state_bytes(trainable_bytes, optimizer)
    return {
        "params": params,
        "trainable_params": trainable,
        "non_trainable_params": params - trainable,
        "buffers": sum(r.buffers for r in rows),
        "params_by_kind": by_kind,
        "weight_bytes": weight_bytes,
        "buffer_bytes": buffer_bytes,
        "macs": sum(r.macs for r in macs_known),  # type: ignore[misc]
        "flops": sum(r.flops for r in macs_known),  # type: ignore[misc]
        "train_flops": sum(r.train_flops for r in macs_known),  # type: ignore[misc]
        "macs_by_kind": {k: sum(r.macs for r in macs_known if r.kind == k) for k in ("conv", "fc")},  # type: ignore[misc]
        "activation_bytes": memory.activation_total(steps, itemsize),
        "inference_peak_bytes": memory.inference_peak(steps, itemsize),
        "training_saved_bytes": saved,
        "gradient_bytes": trainable_bytes,
        "optimizer_state_bytes": opt,
        "training_total_bytes": weight_bytes + buffer_bytes + trainable_bytes + opt + saved,
    }


def analyze(
    model: str | None = None,
    *,
    config: str | None = None,
    batch_norm: bool = False,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | str | tuple[int, int] = 224,
    batch: int = 1,
    dtype: str = "float32",
    device: str | None = None,
    init: bool = False,
    include: Iterable[str] = (),
    optimizer: str = "momentum",
    execute: bool | None = None,
) -> Report:
    """Analyse a VGG variant (default vgg16) or a custom ``config`` layer list.

    With ``device`` None the analytical path runs (no torch). With a device (``cpu``, ``cuda``,
    ``cuda:N``, ``mps``, ``meta``) the model is instantiated there and the report is taken from
    the module itself; ``execute=True`` runs it on meta tensors (shapes and saved-for-backward
    tensors measured by hooks) instead of walking it with the formulas.
    """
    spec = model_spec(model, config=config, batch_norm=batch_norm, num_classes=num_classes, in_channels=in_channels)
    dtype = canonical_dtype(dtype)
    shape = input_shape_of(spec, input_size, batch)
    traces = analytical_traces(spec, shape, ITEMSIZE[dtype])  # also validates the input size
    analysis = "analytical"
    if device is not None:
        from . import torch_backend

        module = torch_backend.instantiate(spec, device=device, dtype=dtype, init=init)
        traces = torch_backend.trace_module(module, shape, dtype=dtype, execute=execute)
        device = torch_backend.device_name(module)
        analysis = "instantiated"
    return build_report(_model_info(spec), shape, traces, dtype=dtype, device=device, analysis=analysis,
                        include=include, optimizer=optimizer)


def analyze_module(
    module: Any,
    input_shape: tuple[int, ...],
    *,
    name: str | None = None,
    include: Iterable[str] = (),
    optimizer: str = "momentum",
    execute: bool | None = None,
) -> Report:
    """Analyse any ``nn.Module`` by walking and tracing it (meta tensors; no real compute)."""
    from . import torch_backend

    dtype = torch_backend.module_dtype(module)
    traces = torch_backend.trace_module(module, tuple(input_shape), dtype=dtype, execute=execute)
    info = {"name": name or type(module).__name__, "config": "module", "layers": None, "batch_norm": None,
            "num_classes": None, "in_channels": input_shape[1] if len(input_shape) > 1 else None,
            "weight_layers": sum(t.op.kind in ("conv", "fc") for t in traces)}
    return build_report(info, tuple(input_shape), traces, dtype=dtype, device=torch_backend.device_name(module),
                        analysis="instantiated", include=include, optimizer=optimizer)
