"""Views of a model report for each command: which columns, which notes. No arithmetic on numbers
beyond shares and running totals of what the report holds."""

from __future__ import annotations

from typing import Any

from ...ops import NEUTRAL_KINDS
from ...report.explanation import is_standard_vgg16
from ...report.model import EffectiveField, LayerRow, Peer, Report
from .. import units
from ..views import Column, View


def visible(report: Report, all_layers: bool) -> list[LayerRow]:
    return [r for r in report.layers if all_layers or r.kind not in NEUTRAL_KINDS]


def _hidden(report: Report, all_layers: bool) -> list[str]:
    """Why the table has fewer rows than report.layers: the rows folded away, by type."""
    hidden = [r.type for r in report.layers if not all_layers and r.kind in NEUTRAL_KINDS]
    if not hidden:
        return []
    types = ", ".join(f"{hidden.count(t)} {t}" for t in dict.fromkeys(hidden))
    return [f"{len(report.layers) - len(hidden)} of {len(report.layers)} rows shown; not shown: {types} (no "
            "parameters, no MACs): --all-layers shows them, and the JSON (report.layers) holds every row."]  # fmt: skip


def _title(report: Report, what: str) -> str:
    m, i = report.model, report.input
    where = f"instantiated on {i.device}" if i.analysis == "instantiated" else "analytical"
    if m.from_module and i.analysis != "instantiated":
        where = "read from the file's description" if m.from_file else "traced on meta"
    kind = "a file" if m.from_file else "a module" if m.from_module else f"config {m.config}"
    return f"{what}: {m.name} ({kind}), input {units.shape(i.shape, m.layout)}, {i.dtype}, {where}"


def _warned(report: Report, notes: list[str]) -> list[str]:
    """The notes, then the checkpoint's fit (--weights), then what could not be counted or run."""
    w = report.weights
    fit = []
    if w is not None:
        fit.append(f"Checkpoint {w.path}: {w.params:,} parameters in {w.tensors} tensors"
                   + ("; every key and shape fits this architecture." if w.matches else ""))  # fmt: skip
        fit += [f"  missing: {k}" for k in w.missing[:10]] + [f"  unexpected: {k}" for k in w.unexpected[:10]]
        fit += [f"  mis-shaped: {m}" for m in w.misshaped[:10]] + [f"  ({n})" for n in w.notes]
    return notes + fit + [f"Warning: {x}" for x in report.warnings]


def _name_columns(report: Report) -> list[Column]:
    """Layer, module, type and output shape. Where the layers are named by module path (your model,
    not VGG-shaped: block1.0, block1.1), the type and the shape tell them apart: they stay."""
    by_path = any(r.name == r.module and "." in r.module for r in report.layers)  # not torchvision's avgpool
    return [
        Column("Layer", lambda r: r.name, justify="left"),
        Column("Module", lambda r: r.module, justify="left", drop=9),
        Column("Type", lambda r: r.type, justify="left", drop=0 if by_path else 8),
        Column(
            "Output shape",
            lambda r: r.output_shape,
            lambda s: units.shape(s, report.model.layout),
            drop=0 if by_path else 2,
        ),
    ]


def _style(row: LayerRow) -> str | None:
    return "dim" if row.kind in NEUTRAL_KINDS else None


def params_views(report: Report, all_layers: bool = False) -> list[View]:
    t = report.totals
    total = t.params or 1
    running: dict[str, int] = {}
    acc = 0
    for r in report.layers:
        acc += r.params
        running[r.module] = acc
    cols = _name_columns(report) + [
        Column("Params", lambda r: r.params, units.count, compact=units.si),
        Column("Formula", lambda r: r.params_formula, lambda v: v or "", justify="left"),  # what params is for
        Column("Share %", lambda r: round(100 * r.params / total, 2), lambda v: f"{v:.2f}", drop=5),
        Column("Running total", lambda r: running[r.module], units.count, drop=7, compact=units.si),
    ]
    kinds = vars(t.params_by_kind)
    kind_text = ", ".join(f"{k} {units.count(v)} ({100 * v / total:.1f}%)" for k, v in kinds.items() if v)
    notes = [
        f"Total params: {units.count(t.params)} ({units.si(t.params)})  by kind: {kind_text}",
        f"Trainable: {units.count(t.trainable_params)}  non-trainable: {units.count(t.non_trainable_params)}"
        f"  buffers (BN running stats, counted apart): {units.count(t.buffers)}",
        f"Weights ({report.input.dtype}): {units.bytes_full(t.weight_bytes)}"
        + (f"; buffers {units.bytes_full(t.buffer_bytes)}" if t.buffer_bytes else ""),
    ]
    return [View(_title(report, "Parameters"), cols, visible(report, all_layers), _warned(report, notes), _style)]


def _partial(report: Report, metric: str) -> str:
    """A total that leaves something out says so beside the number, not only in a warning."""
    left_out = report.coverage.not_counted
    if report.coverage.status.get(metric) != "partial" or not left_out:
        return ""
    return "  PARTIAL: not counted: " + ", ".join(f"{name} (x{n})" for name, n in left_out.items())


def summary_views(report: Report, all_layers: bool = False) -> list[View]:
    t = report.totals
    cols = _name_columns(report) + [
        Column("Params", lambda r: r.params, units.count, compact=units.si),
        Column("MACs", lambda r: r.macs, units.count, compact=units.si),
        Column("Activation", lambda r: r.activation_bytes, units.binary, drop=3),
        Column("RF", lambda r: r.receptive_field, text=_field),
        Column("Jump", lambda r: r.jump, axis_text, drop=4),
    ]
    notes = [
        f"Params: {units.count(t.params)}   MACs: {units.count(t.macs)} ({units.si(t.macs)})"
        f"   FLOPs: {units.count(t.flops)} ({report.conventions['flops']}){_partial(report, 'macs')}",
        f"MACs: {report.conventions['macs']}.",
        f"Activation column: output of each layer ({report.input.dtype}, batch {report.input.shape[0]}); "
        f"total {units.bytes_full(t.activation_bytes)} ({report.conventions['activation_bytes']}).",
        f"Weights: {units.bytes_full(t.weight_bytes)}.  RF: receptive field in input pixels; jump: effective stride.",
        *_hidden(report, all_layers),
    ]
    views = [View(_title(report, "Summary"), cols, visible(report, all_layers), _warned(report, notes), _style)]
    return views + ([groups_view(report)] if report.groups else [])


def groups_view(report: Report) -> View:
    """Subtotals per group (a VGG block, or a module path), in the order the groups first run."""
    groups = report.groups or []
    total = report.totals.params or 1
    cols = [
        Column("Group", lambda g: g.name, justify="left"),
        Column("Layers", lambda g: len(g.layers)),
        Column("Params", lambda g: g.params, units.count, compact=units.si),
        Column("Share", lambda g: 100 * g.params / total, lambda v: f"{v:.1f}%", drop=2),
        Column("MACs", lambda g: g.macs, units.count, compact=units.si),
        Column("Activation", lambda g: g.activation_bytes, units.binary, drop=3),
        Column("Saved for backward", lambda g: g.saved_bytes, units.binary, drop=1),
        Column("First - last", lambda g: f"{g.layers[0]} - {g.layers[-1]}", justify="left", drop=4),
    ]
    some = "; some rows here have none." if not all(g.complete for g in groups) else "."
    notes = [
        "Each group adds up its rows (hidden ReLU, Dropout and flatten rows too); MACs count the rows with "
        f"formulas{some} Activation: the summary's convention (the input, in the first group, and the outputs of "
        "conv, LRN, max-pool and FC rows), so the groups add up to its total."
    ]
    return View(f"Subtotals by {'block' if groups and groups[0].name.startswith('block') else 'module'}", cols,
                groups, notes)  # fmt: skip


def _running(report: Report, key: str) -> dict[str, int]:
    acc, out = 0, {}
    for r in report.layers:
        acc += getattr(r, key) or 0
        out[r.module] = acc
    return out


def flops_views(report: Report, all_layers: bool = False, train: bool = False) -> list[View]:
    t = report.totals
    key = "train_flops" if train else "flops"
    total = getattr(t, key) or 1
    running = _running(report, key)
    cols = _name_columns(report) + [
        Column("MACs", lambda r: r.macs, units.count, compact=units.si),
        Column("FLOPs", lambda r: r.flops, units.count, compact=units.si),
    ]
    if train:
        cols.append(Column("Train FLOPs (fwd+bwd)", lambda r: r.train_flops, units.count, compact=units.si))
    cols += [
        Column("Share %", lambda r: round(100 * (getattr(r, key) or 0) / total, 2), lambda v: f"{v:.2f}", drop=5),
        Column("Running total", lambda r: running[r.module], units.count, drop=7, compact=units.si),
    ]
    by = t.macs_by_kind
    include = report.options.include
    notes = [
        f"MACs: {units.count(t.macs)} ({units.si(t.macs)})  conv {units.count(by.conv)}  fc {units.count(by.fc)}"
        + _partial(report, "macs"),
        f"FLOPs: {units.count(t.flops)} ({units.si(t.flops)})"
        + (f"   forward + backward: {units.count(t.train_flops)} ({units.si(t.train_flops)})" if train else ""),
        f"Convention: MACs = {report.conventions['macs']}; FLOPs = {report.conventions['flops']}. "
        + ("Included: " + ", ".join(include) + " (rules in the README)." if include else _not_included(report)),
    ]
    if train:
        notes.append(f"Backward: {report.conventions['train_flops']}.")
    if report.peers is not None:
        notes.append("Peers: see the comparison table.")
    return [View(_title(report, "Compute"), cols, visible(report, all_layers), _warned(report, notes), _style)]


def sweep_view(report: Report) -> View:
    points = report.sweep or []
    first = points[0].flops or 1
    cols = [
        Column("Input", lambda p: p.input, units.shape, justify="left"),
        Column("conv MACs", lambda p: p.macs_by_kind.conv, units.count, drop=3, compact=units.si),
        Column("fc MACs", lambda p: p.macs_by_kind.fc, units.count, drop=4, compact=units.si),
        Column("MACs", lambda p: p.macs, units.count, compact=units.si),
        Column("FLOPs", lambda p: p.flops, units.count, compact=units.si),
        Column("vs first", lambda p: round(p.flops / first, 3), lambda v: f"{v:.3f}x"),
    ]
    return View(f"Compute by input size: {report.model.name}", cols, points, [_sweep_note(report)])


def _sweep_note(report: Report) -> str:
    """What the sweep shows of the FC layers: a fact of these points, not of VGG16 at 224."""
    fc = {p.macs_by_kind.fc for p in report.sweep or []}
    if report.model.head == "conv":
        return ("Convolution MACs grow with H x W; with the conv head fc6-fc8 are convolutions over the score map, "
                "so their MACs grow too and are counted as conv MACs.")  # fmt: skip
    if fc == {0}:
        return "Convolution MACs grow with H x W; the model has no FC layers."
    if len(fc) == 1:
        return (
            "Convolution MACs grow with H x W; the FC layers' MACs are the same at every size (the pool "
            "before them fixes their input)."
        )
    return "Convolution MACs grow with H x W, and so do the FC layers' here (their input grows with the image)."


def peers_view(peers: list[Peer]) -> View:
    cols = [
        Column("Tool", lambda p: p.tool.rsplit(".", 1)[-1], justify="left", wrap=True),  # named in full below
        Column("Its number", lambda p: p.value, units.count, compact=units.si),
        Column("From vgg-inspect's layers", lambda p: p.reproduced, units.count, compact=units.si),
        Column("Status", lambda p: p.status + (f": {p.reason}" if p.reason else ""), justify="left", wrap=True),
        Column(
            "What it counts, reproduced from vgg-inspect's layers",
            lambda p: p.difference_explained,
            justify="left",
            wrap=True,
        ),
    ]
    full = [p.tool for p in peers if "." in p.tool]
    notes = [f"{name.rsplit('.', 1)[-1]} is {name}." for name in full]
    return View("Peer tools, reconciled", cols, peers, notes, lambda p: "bold red" if p.status == "differs" else None)


def _saved_with_hidden(report: Report, shown: list[LayerRow]) -> dict[int, int]:
    """Each shown row's saved bytes with those of the hidden rows after it (a ReLU saves its output,
    Dropout its mask): the column adds up to the total it is printed beside."""
    folded: dict[int, int] = {}
    owner: LayerRow | None = None
    kept = {id(r) for r in shown}
    for r in report.layers:
        if id(r) in kept or owner is None:
            owner = r
        folded[id(owner)] = folded.get(id(owner), 0) + r.saved_bytes
    return folded


def memory_views(report: Report, all_layers: bool = False) -> list[View]:
    t, c = report.totals, report.conventions
    shown = visible(report, all_layers)
    saved = _saved_with_hidden(report, shown)
    cols = _name_columns(report) + [
        Column("Output bytes", lambda r: r.activation_bytes, _with_unit, compact=units.binary),
        Column("Saved for backward", lambda r: saved.get(id(r), 0), _with_unit, compact=units.binary),
    ]
    opt = report.options.optimizer
    notes = [
        f"(1) Sum of layer outputs: {units.bytes_full(t.activation_bytes)}: {c['activation_bytes']}."
        + (
            " The CS231n notes print '24M * 4 bytes ~= 93MB' for this network (93 is MiB; copies print the decimal "
            "96 MB), but their own per-layer rows add up to about 15.2M values, the 58.1 MiB of this convention."
            if is_standard_vgg16(report)
            else ""
        ),
        f"(2) Inference peak: {units.bytes_full(t.inference_peak_bytes)}: {c['inference_peak_bytes']}.",
        f"(3) Inference required: {units.bytes_full(t.inference_required_bytes)}: {c['inference_required_bytes']}.",
        f"(4) Saved for backward (training): {units.bytes_full(t.training_saved_bytes)}: {c['training_saved_bytes']}.",
        f"(5) Weights {units.bytes_full(t.weight_bytes)}, gradients {units.bytes_full(t.gradient_bytes)}, "
        f"{opt} state {units.bytes_full(t.optimizer_state_bytes)}"
        + (f", buffers {units.bytes_full(t.buffer_bytes)}" if t.buffer_bytes else "")
        + ".",
        f"(6) Training total: {units.bytes_full(t.training_total_bytes)}: {c['training_total_bytes']}.",
    ]
    budget = report.budget
    if budget:
        notes.append(
            f"Budget {units.bytes_full(budget.bytes)}: largest batch for inference {budget.inference_batch:,} "
            f"(by (3)), for training ({opt}) {budget.training_batch:,} (by (6))."
        )
        if not (budget.inference_batch and budget.training_batch) and t.inference_required_bytes:
            one = report.input.shape[0] == 1  # the totals above are batch 1's: what a single image needs
            what = "inference needs" if not budget.inference_batch else "training needs"
            need = t.inference_required_bytes if not budget.inference_batch else t.training_total_bytes
            notes.append(
                f"Not even one image fits: at batch 1 {what} {units.bytes_full(need)}."
                if one
                else "Not even one image fits: run with --batch 1 to see what a single image needs."
            )
    measured = report.measured
    if measured:
        notes.append(
            f"Measured on {report.input.device} ({measured.mode}): max_memory_allocated "
            f"{units.bytes_full(measured.max_memory_allocated)} vs estimate {units.bytes_full(measured.estimate)}"
            f" ({measured.gap_percent:+.1f}%)."
        )
    if len(shown) < len(report.layers) and any(r.saved_bytes for r in report.layers if r not in shown):
        notes.insert(4, "Saved for backward: each row holds what the hidden rows after it save (a ReLU its output, "
                        "Dropout its mask); the rows add up to (4); --all-layers shows each.")  # fmt: skip
    return [View(_title(report, "Memory"), cols, shown, _warned(report, notes), _style)]


def axis_text(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return " × ".join(axis_text(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _field(row: LayerRow) -> str:
    """The receptive field as printed: a number, "global", "≤N" (irregular: the largest), or "?"."""
    statuses = row.field_status if isinstance(row.field_status, list) else [row.field_status] * 2
    values = row.receptive_field if isinstance(row.receptive_field, list) else [row.receptive_field] * 2
    text = []
    for status, value in zip(statuses, values):
        text.append(
            {"global": "global", "unknown": "?"}.get(status, f"≤{value}" if status == "irregular" else axis_text(value))
        )
    return text[0] if text[0] == text[1] else " × ".join(text)


def _covers(v: bool | None) -> str:
    return "?" if v is None else "yes" if v else "no"


def receptive_views(report: Report, all_layers: bool = False) -> list[View]:
    cols = _name_columns(report) + [
        Column("RF", lambda r: r.receptive_field, text=_field),
        Column("Jump", lambda r: r.jump, axis_text),
        Column("Start", lambda r: r.start, axis_text, drop=3),
        Column("Eff. padding", lambda r: r.effective_padding, axis_text, drop=4),
        Column("Covers input", lambda r: r.covers_input, _covers, justify="left", drop=2),
    ]
    notes = [
        "RF: receptive field in input pixels; jump: distance in input pixels between neighbouring units (effective "
        "stride); start: centre of the first unit (input pixel centres at 0, 1, ...); effective padding: how far the "
        "first unit's field reaches past the input edge. Two values (H × W) where the axes differ.",
        "rf_out = rf_in + (k-1)·jump_in, jump_out = jump_in·stride, start_out = start_in + ((k-1)/2 - pad)·jump_in; "
        "1x1 convs, ReLU, BN, LRN and Dropout leave the field unchanged; FC layers see everything (global). "
        "≤N: an adaptive pool with unequal windows (the largest unit's field); ?: no formula for a layer.",
        "Covers input: yes when some single unit depends on every input pixel (holes of strided or dilated "
        "kernels and pixels that pools floor away count against it); for global layers, the union of all fields.",
    ]
    return [View(_title(report, "Receptive field"), cols, visible(report, all_layers), _warned(report, notes), _style)]


def effective_view(data: EffectiveField, report: Report) -> View:
    rows = [("theoretical field", f"{axis_text(data.theoretical_rf)} px", "box " + _box(data.theoretical_box))]
    rows.append(
        (
            "gradient support",
            "box " + _box(data.support_box) if data.support_box else "empty",
            "equals the theoretical box" if data.support_matches_theory else "differs from the theoretical box",
        )
    )
    for level, side in data.mass_squares.items():
        rows.append((f"{level}% of gradient mass", f"{side}x{side} px", "centred square"))
    cols = [
        Column("Measure", lambda r: r[0], justify="left"),
        Column("Value", lambda r: r[1], justify="left"),
        Column("Note", lambda r: r[2], justify="left", wrap=True),
    ]
    how = (
        "support mode: positive weights, max-pools as average pools, positive input; the support must equal the "
        "theoretical field"
        if data.mode == "support"
        else f"effective mode: torchvision's random initialisation, |gradient| averaged over {data.samples} Gaussian "
        f"input(s), seed {data.seed}; the effective field is much smaller than the theoretical one and roughly "
        "Gaussian (Luo et al., 2016)"
    )
    notes = [
        f"Gradient of unit {tuple(data.unit)} of {data.layer} ({data.module}), centred at input "
        f"{tuple(data.centre)}, w.r.t. the input; {how}. Heat map: |gradient|, brightest = largest."
    ]
    return View(f"Empirical receptive field: {report.model.name} {data.layer}", cols, rows, notes, heatmap=data.heatmap)


def _box(b: list[int] | None) -> str:
    return "-" if not b else f"rows {b[0]}..{b[1]}, cols {b[2]}..{b[3]}"


def _not_included(report: Report) -> str:
    if any("elementwise" in r.extra_flops for r in report.layers):
        return (
            "Not included: bias, ReLU, pooling, norms, elementwise ops (--include bias,relu,pool,norm,elementwise "
            "adds them)."
        )
    return "Not included: bias, ReLU, pooling, norms (--include bias,relu,pool,norm adds them)."


def _with_unit(v: int) -> str:
    """'16,384 (16.0 KiB)': the exact bytes and the unit their size calls for."""
    return f"{v:,}" if abs(v) < 1024 else f"{v:,} ({units.binary(v)})"
