"""From layer traces to the report: names, per-layer figures, totals and conventions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import ops, validate
from ..metrics import footprint as memory
from ..metrics.compute import check_include, layer_compute
from ..metrics.fields import receptive_fields, row_values
from ..network import ITEMSIZE, layer_names
from ..ops import Convention, ConvKernel, LayerKind
from ..ops.traced import LayerTrace
from .model import Coverage, Held, InputInfo, LayerRow, MacsByKind, ModelInfo, Options, ParamsByKind, Report, Totals

SAVED_CONVENTION_TEXT = {
    Convention.CPU: "PyTorch's CPU kernels (Dropout mask and BatchNorm batch statistics in the input dtype)",
    Convention.CUDA: "PyTorch's CUDA kernels (bool Dropout mask, float32 BatchNorm batch statistics)",
    Convention.META: "PyTorch's meta kernels (Dropout mask in the input dtype, float32 BatchNorm statistics)",
}

CONVENTIONS = {
    "macs": "multiply-accumulates of conv and linear weights; bias, activations and pooling excluded",
    "flops": "2 x MACs (one multiply + one add each){extra}",
    "train_flops": "forward FLOPs + backward: 2 x MACs for each gradient the backward of the output computes "
    "(weights that train, inputs that need one: not the image, nothing off the output's path), as FlopCounterMode "
    "counts",
    "activation_bytes": "input + outputs of conv, LRN, max-pool and FC layers (CS231n convention)",
    "inference_peak_bytes": "largest input + output pair of a single layer during inference",
    "inference_required_bytes": "weights + buffers + the caller's input + the largest live set of one layer "
    "(input, output and CPU kernel workspace: conv weight copy and output buffers, max-pool int64 indices, "
    "LRN intermediates) + a {margin} MiB margin; what --budget counts for inference",
    "training_saved_bytes": "tensors autograd saves for backward in train mode, parameters and "
    "buffers excluded, shared storage once, by {saved}",
    "training_total_bytes": "weights + buffers + gradients + {optimizer} state + training_saved_bytes",
    "weight_bytes": "parameters x dtype size (buffers apart in buffer_bytes)",
}
KERNEL_TEXT = {
    ConvKernel.ONEDNN: "oneDNN's workspace (this CPU runs the dtype natively)",
    ConvKernel.IM2COL: "the im2col column buffer (this CPU has no native kernel for the dtype)",
    ConvKernel.EITHER: "the larger of oneDNN's workspace and the im2col column buffer (which kernel runs depends "
    "on the CPU; --device cpu tells)",
}
PARAM_KINDS = {LayerKind.CONV: "conv", LayerKind.FC: "fc", LayerKind.NORM: "norm", LayerKind.GROUP_NORM: "norm"}


def build_report(
    model: ModelInfo,
    input_shape: ops.Shape,
    traces: Sequence[LayerTrace],
    *,
    dtype: str,
    device: str | None,
    analysis: str,
    include: Iterable[str] | str = (),
    optimizer: str = "momentum",
    conv_kernel: ConvKernel = ConvKernel.EITHER,
    input_requires_grad: bool = False,
    held: Sequence[Held] = (),
) -> Report:
    """``conv_kernel``: the CPU convolution kernel a 16-bit run takes, where the runtime knows it."""
    itemsize = ITEMSIZE[dtype]
    chosen = check_include(include)
    optimizer = validate.choice(optimizer, "optimizer", tuple(memory.OPTIMIZER_STATES))
    convention = Convention.for_device(device)
    kinds = [t.op.kind for t in traces]
    shaped = all(t.chained for t in traces) and not any(isinstance(t.op, ops.Unknown) for t in traces)
    names = layer_names(kinds, [t.module for t in traces], shaped, [(t.input_shape, t.output_shape) for t in traces])
    predicted = memory.saved_bytes_per_layer(traces, itemsize, convention)
    graph = all(t.sources is not None for t in traces) and bool(traces)
    merges: list[str] = []
    fields = receptive_fields(
        [(t.op, t.input_shape, t.output_shape) for t in traces],
        (input_shape[2], input_shape[3]),
        [t.chained for t in traces],
        links=[(t.sources or (), t.result) for t in traces] if graph else None,
        notes=merges,
        names=names,
    )
    branch = None if graph else next((t.module for t in traces if not t.chained), None)
    computes = layer_compute(traces, chosen, input_requires_grad)

    rows: list[LayerRow] = []
    previous = tuple(input_shape)  # the last shape before a view: fc6's formula shows (512·7·7)
    for name, t, saved, rf, c in zip(names, traces, predicted, fields, computes):
        rf_values = row_values(rf)
        rows.append(
            LayerRow(
                name=name,
                module=t.module,
                type=t.type,
                kind=t.op.kind,
                input_shape=list(t.input_shape),
                output_shape=list(t.output_shape),
                params=t.params,
                trainable_params=t.trainable_params,
                buffers=t.buffers,
                params_formula=t.op.params_formula(previous) if t.params else None,
                macs=c.macs,
                flops=c.flops,
                train_flops=c.train_flops,
                extra_flops=c.extra_flops,
                activation_bytes=ops.numel(t.output_shape) * itemsize,
                saved_bytes=t.saved_bytes if t.saved_bytes is not None else saved,
                receptive_field=rf_values["receptive_field"],
                jump=rf_values["jump"],
                start=rf_values["start"],
                effective_padding=rf_values["effective_padding"],
                field_status=rf_values["field_status"],
                covers_input=rf.covers,
            )
        )
        if t.op.kind is not LayerKind.FLATTEN:
            previous = t.output_shape

    totals = _totals(rows, traces, itemsize, optimizer, conv_kernel, held)
    extra = (" + " + ", ".join(chosen) + " (see --include rules)") if chosen else ""
    conventions = {
        k: v.format(
            extra=extra,
            optimizer=optimizer,
            saved=SAVED_CONVENTION_TEXT[convention],
            margin=memory.INFERENCE_MARGIN_BYTES // 2**20,
        )
        for k, v in CONVENTIONS.items()
    }
    if any(t.saved_bytes is not None for t in traces):
        conventions["training_saved_bytes"] += " (measured with saved-tensor hooks on meta tensors)"
    elif convention is Convention.CPU:
        conventions["training_saved_bytes"] += " (each layer type's rule, equal to real CPU runs in the tests)"
    else:
        conventions["training_saved_bytes"] += " (each layer type's rule for these kernels, untested against them)"
    if itemsize < 4 and any(t.op.kind is LayerKind.CONV for t in traces):
        conventions["inference_required_bytes"] += f"; 16-bit convs: {KERNEL_TEXT[conv_kernel]}"
    warnings = []
    if branch is not None:
        warnings.append(
            f"the model is not one chain: {branch} does not read the previous layer's output, "
            "so receptive fields from there on are unknown"
        )
    warnings.extend(merges)
    if held:
        where = "; ".join(
            f"{h.owner or 'the model itself'} ({h.type}{', never called' if not h.called else ''}): "
            + ", ".join(h.names[:4])
            + (f" and {len(h.names) - 4} more" if len(h.names) > 4 else "")
            for h in held
        )
        warnings.append(
            f"{sum(h.params for h in held):,} parameters and {sum(h.buffers for h in held):,} buffer values no layer "
            f"row counts are in the totals: {where}"
        )
    warnings.extend(_copied_pixels(rows))
    unknown = sorted({t.type for t in traces if isinstance(t.op, ops.Unknown) and not t.op.mac_free})
    if unknown:
        warnings.append(f"no formulas for {', '.join(unknown)}: their MACs, FLOPs and fields are not counted")
    free = sorted({t.type for t in traces if isinstance(t.op, ops.Unknown) and t.op.mac_free} - set(unknown))
    if free:
        warnings.append(f"no formulas for {', '.join(free)}: their fields and memory rules are not counted (they run "
                        "no convolution or matrix product: no MACs)")  # fmt: skip
    return Report(
        model=model,
        input=InputInfo(list(input_shape), dtype, device, analysis),
        layers=rows,
        totals=totals,
        conventions=conventions,
        options=Options(chosen, optimizer, convention.value),
        warnings=warnings,
        coverage=_coverage(traces, rows, chosen),
        held=list(held) or None,
    )


def _coverage(traces: Sequence[LayerTrace], rows: list[LayerRow], include: Sequence[str] = ()) -> Coverage:
    not_counted: dict[str, int] = {}
    for t in traces:
        if isinstance(t.op, ops.Unknown):
            not_counted[t.type] = not_counted.get(t.type, 0) + 1
    # MACs are partial only where an uncounted op multiply-accumulates (it ran a convolution or a
    # matrix product); an op that ran none has none. --include's FLOPs of an uncounted op are unknown.
    unknown = [t.op for t in traces if isinstance(t.op, ops.Unknown)]
    compute = "partial" if any(not op.mac_free for op in unknown) else "complete"
    flops = "partial" if compute == "partial" or (include and unknown) else "complete"
    field = "partial" if any(r.field_status == "unknown" for r in rows) else "complete"
    # Saved bytes measured by a train-mode trace count every op's tensors, known or not; the rules
    # (closed form, or an eval-only run) know nothing of an op without formulas.
    ruled = any(not t.op.rules_measured and t.saved_bytes is None for t in traces)
    # the workspace of an op without measured rules is not known (its output is)
    workspace = "partial" if any(not t.op.rules_measured for t in traces) else "complete"
    status = {
        "params": "complete",
        "macs": compute,
        "flops": flops,
        "train_flops": flops,
        "receptive_field": field,
        "saved_bytes": "partial" if ruled else "complete",
        "inference_memory": workspace,
    }
    return Coverage(status, not_counted)


def _totals(
    rows: list[LayerRow],
    traces: Sequence[LayerTrace],
    itemsize: int,
    optimizer: str,
    kernel: ConvKernel,
    held: Sequence[Held] = (),
) -> Totals:
    params = sum(r.params for r in rows) + sum(h.params for h in held)
    trainable = sum(r.trainable_params for r in rows) + sum(h.trainable_params for h in held)
    by_kind = ParamsByKind()
    for t in traces:
        key = PARAM_KINDS.get(t.op.kind, "other")
        setattr(by_kind, key, getattr(by_kind, key) + t.params)
    by_kind.other += sum(h.params for h in held)
    known = [r for r in rows if r.macs is not None]
    weight_bytes = sum(t.param_bytes for t in traces) + sum(h.param_bytes for h in held)
    trainable_bytes = sum(t.param_bytes * t.trainable_params // t.params for t in traces if t.params) + sum(
        h.param_bytes * h.trainable_params // h.params for h in held if h.params
    )
    buffer_bytes = sum(t.buffer_bytes for t in traces) + sum(h.buffer_bytes for h in held)
    saved = sum(r.saved_bytes for r in rows)
    opt = memory.optimizer_state_bytes(trainable_bytes, optimizer)
    required = (
        weight_bytes + buffer_bytes + memory.inference_live(traces, itemsize, kernel) + memory.INFERENCE_MARGIN_BYTES
    )
    return Totals(
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        buffers=sum(r.buffers for r in rows) + sum(h.buffers for h in held),
        params_by_kind=by_kind,
        weight_bytes=weight_bytes,
        buffer_bytes=buffer_bytes,
        macs=sum(r.macs or 0 for r in known),
        flops=sum(r.flops or 0 for r in known),
        train_flops=sum(r.train_flops or 0 for r in known),
        macs_by_kind=MacsByKind(
            conv=sum(r.macs or 0 for r in known if r.kind == LayerKind.CONV),
            fc=sum(r.macs or 0 for r in known if r.kind == LayerKind.FC),
        ),
        activation_bytes=memory.activation_total(traces, itemsize),
        inference_peak_bytes=memory.inference_peak(traces, itemsize),
        inference_required_bytes=required,
        training_saved_bytes=saved,
        gradient_bytes=trainable_bytes,
        optimizer_state_bytes=opt,
        training_total_bytes=weight_bytes + buffer_bytes + trainable_bytes + opt + saved,
    )


def _copied_pixels(rows: Sequence[LayerRow]) -> list[str]:
    """An adaptive pool whose output is larger than its input copies pixels instead of pooling
    (vgg16 at 32x32, every student's CIFAR try: pool5's 1x1 copied 49 times into fc6)."""
    said = []
    for i, r in enumerate(rows):
        if r.kind is not LayerKind.AVGPOOL or len(r.input_shape) != 4 or len(r.output_shape) != 4:
            continue
        (h, w), (oh, ow) = r.input_shape[2:], r.output_shape[2:]
        if oh * ow <= h * w:
            continue
        nxt = next((x for x in rows[i + 1 :] if x.kind is LayerKind.FC), None)
        fc = f"; {nxt.name} keeps its {nxt.params:,} parameters for {h * w * r.output_shape[1]:,} values" if nxt else ""
        how = (f"copies its one pixel {oh * ow} times into a {oh}x{ow} map (jump 0)" if h * w == 1 else
               f"spreads a {h}x{w} map over {oh}x{ow} (pixels repeated, windows overlapping)")  # fmt: skip
        said.append(f"at this input the adaptive pool {r.name} {how}{fc}. CIFAR-sized VGGs replace the head "
                    "(one Linear on the 512 channels of pool5)")  # fmt: skip
    return said
