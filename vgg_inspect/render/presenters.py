"""Views of the report for each command: which columns, which notes. No arithmetic on numbers
beyond shares and running totals of what the report holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..report.model import EffectiveField, InputInfo, LayerRow, ModelInfo, Peer, Report
from . import units
from .views import Column, View

if TYPE_CHECKING:
    from ..report.documents import Outcome, VariantRow

FOLDED_KINDS = ("relu", "dropout", "flatten")


def visible(report: Report, all_layers: bool) -> list[LayerRow]:
    return [r for r in report.layers if all_layers or r.kind not in FOLDED_KINDS]


def _title(report: Report, what: str) -> str:
    m, i = report.model, report.input
    where = f"instantiated on {i.device}" if i.analysis == "instantiated" else "analytical"
    if m.config == "module" and i.analysis != "instantiated":
        where = "traced on meta"
    kind = "a module" if m.config == "module" else f"config {m.config}"
    return f"{what}: {m.name} ({kind}), input {units.shape(i.shape)}, {i.dtype}, {where}"


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


def _name_columns() -> list[Column]:
    return [
        Column("Layer", lambda r: r.name, justify="left"),
        Column("Module", lambda r: r.module, justify="left", drop=9),
        Column("Type", lambda r: r.type, justify="left", drop=8),
        Column("Output shape", lambda r: r.output_shape, units.shape, drop=2),
    ]


def _style(row: LayerRow) -> str | None:
    return "dim" if row.kind in FOLDED_KINDS else None


def params_views(report: Report, all_layers: bool = False) -> list[View]:
    t = report.totals
    total = t.params or 1
    running: dict[str, int] = {}
    acc = 0
    for r in report.layers:
        acc += r.params
        running[r.module] = acc
    cols = _name_columns() + [
        Column("Params", lambda r: r.params, units.count, compact=units.si),
        Column("Formula", lambda r: r.params_formula, lambda v: v or "", justify="left", drop=6),
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
    cols = _name_columns() + [
        Column("Params", lambda r: r.params, units.count, compact=units.si),
        Column("MACs", lambda r: r.macs, units.count, compact=units.si),
        Column("Activation", lambda r: r.activation_bytes, units.mib, drop=3),
        Column("RF", lambda r: r.receptive_field, text=_field),
        Column("Jump", lambda r: r.jump, _axis, drop=4),
    ]
    notes = [
        f"Params: {units.count(t.params)}   MACs: {units.count(t.macs)} ({units.si(t.macs)})"
        f"   FLOPs: {units.count(t.flops)} ({report.conventions['flops']}){_partial(report, 'macs')}",
        f"MACs: {report.conventions['macs']}.",
        f"Activation column: output of each layer ({report.input.dtype}, batch {report.input.shape[0]}); "
        f"total {units.bytes_full(t.activation_bytes)} ({report.conventions['activation_bytes']}).",
        f"Weights: {units.bytes_full(t.weight_bytes)}.  RF: receptive field in input pixels; jump: effective stride.",
    ]
    return [View(_title(report, "Summary"), cols, visible(report, all_layers), _warned(report, notes), _style)]


def list_view(rows: list[VariantRow]) -> View:
    cols = [
        Column("Name", lambda r: r.name, justify="left"),
        Column("Aliases", lambda r: ", ".join(r.aliases), justify="left", drop=3),
        Column("Paper config", lambda r: r.config, justify="left", drop=4),
        Column("BN", lambda r: r.batch_norm, lambda v: "yes" if v else "no", justify="left", drop=1),
        Column("Weight layers", lambda r: r.weight_layers, drop=2),
        Column("Params (1000 classes)", lambda r: r.params, units.count, compact=units.si),
        Column("Layers", lambda r: r.layers, justify="left", wrap=True, drop=6),
    ]
    notes = [
        "Parameters include biases; BN variants add 2 per channel per conv (BatchNorm after every conv, "
        "as torchvision does). Any name also takes --batch-norm, --num-classes, --in-channels."
    ]
    return View("VGG variants (Simonyan & Zisserman, Table 1)", cols, rows, notes)


def check_view(outcomes: list[Outcome], title: str, only_failures: bool = False) -> View:
    failed = sum(not o.ok for o in outcomes)
    rows = [o for o in outcomes if not o.ok] if only_failures else outcomes
    cols = [
        Column("Key", lambda o: o.key, justify="left"),
        Column("Expected", lambda o: o.expected),
        Column("Actual", lambda o: o.actual),
        Column("Result", lambda o: "ok" if o.ok else "FAIL", justify="left"),
    ]
    verdict = f"{len(outcomes) - failed} of {len(outcomes)} expectations hold" + (
        f"; {failed} failed" if failed else ""
    )
    if not rows:  # nothing failed: no empty table, just the verdict
        return View(f"{title}: nothing failed", [], [], [verdict])
    return View(title, cols, rows, [verdict], lambda o: None if o.ok else "bold red")


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
    cols = _name_columns() + [
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
        + (
            "Included: " + ", ".join(include) + " (rules in the README)."
            if include
            else "Not included: bias, ReLU, pooling, norms (--include bias,relu,pool,norm adds them)."
        ),
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
    notes = ["Convolution MACs grow with H x W; the FC layers stay constant behind the 7x7 adaptive pool."]
    return View(f"Compute by input size: {report.model.name}", cols, points, notes)


def peers_view(peers: list[Peer]) -> View:
    cols = [
        Column("Tool", lambda p: p.tool, justify="left"),
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
    return View("Peer tools, reconciled", cols, peers, [], lambda p: "bold red" if p.status == "differs" else None)


def memory_views(report: Report, all_layers: bool = False) -> list[View]:
    t, c = report.totals, report.conventions
    cols = _name_columns() + [
        Column("Output bytes", lambda r: r.activation_bytes, lambda v: f"{v:,} ({units.mib(v)})", compact=units.mib),
        Column("Saved for backward", lambda r: r.saved_bytes, lambda v: f"{v:,} ({units.mib(v)})", compact=units.mib),
    ]
    opt = report.options.optimizer
    notes = [
        f"(1) Sum of layer outputs: {units.bytes_full(t.activation_bytes)}: {c['activation_bytes']}. "
        "For VGG16 at 224 the CS231n notes print '24M * 4 bytes ~= 93MB' (93 is MiB; copies print the decimal "
        "96 MB), but their own per-layer rows add up to about 15.2M values, the 58.1 MiB of this convention.",
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
    measured = report.measured
    if measured:
        notes.append(
            f"Measured on {report.input.device} ({measured.mode}): max_memory_allocated "
            f"{units.bytes_full(measured.max_memory_allocated)} vs estimate {units.bytes_full(measured.estimate)}"
            f" ({measured.gap_percent:+.1f}%)."
        )
    return [View(_title(report, "Memory"), cols, visible(report, all_layers), _warned(report, notes), _style)]


def _axis(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return " × ".join(_axis(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _field(row: LayerRow) -> str:
    """The receptive field as printed: a number, "global", "≤N" (irregular: the largest), or "?"."""
    statuses = row.field_status if isinstance(row.field_status, list) else [row.field_status] * 2
    values = row.receptive_field if isinstance(row.receptive_field, list) else [row.receptive_field] * 2
    text = []
    for status, value in zip(statuses, values):
        text.append(
            {"global": "global", "unknown": "?"}.get(status, f"≤{value}" if status == "irregular" else _axis(value))
        )
    return text[0] if text[0] == text[1] else " × ".join(text)


def _covers(v: bool | None) -> str:
    return "?" if v is None else "yes" if v else "no"


def receptive_views(report: Report, all_layers: bool = False) -> list[View]:
    cols = _name_columns() + [
        Column("RF", lambda r: r.receptive_field, text=_field),
        Column("Jump", lambda r: r.jump, _axis),
        Column("Start", lambda r: r.start, _axis, drop=3),
        Column("Eff. padding", lambda r: r.effective_padding, _axis, drop=4),
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


def stack_view(rows: list[Any], cin: int, cout: int, bias: bool) -> View:
    cols = [
        Column("3x3 layers", lambda r: r.layers),
        Column("Field", lambda r: r.field, lambda v: f"{v}x{v}"),
        Column(
            "Weights / (Cin·Cout)",
            lambda r: (r.stack_weight_multiple, r.single_weight_multiple),
            lambda v: f"{v[0]} vs {v[1]}",
            drop=5,
        ),
        Column("Stack params", lambda r: r.stack_params, units.count, compact=units.si),
        Column("Single k x k params", lambda r: r.single_params, units.count, compact=units.si),
        Column("Stack MACs/position", lambda r: r.stack_macs_per_position, units.count, drop=3, compact=units.si),
        Column("Single MACs/position", lambda r: r.single_macs_per_position, units.count, drop=4, compact=units.si),
        Column("Saving %", lambda r: r.saving_percent, lambda v: f"{v:.1f}"),
        Column(
            "Non-linearities",
            lambda r: (r.stack_nonlinearities, r.single_nonlinearities),
            lambda v: f"{v[0]} vs {v[1]}",
            drop=2,
        ),
    ]
    notes = [
        f"C_in = {cin}, C_out = {cout}, {'with' if bias else 'no'} bias. n stacked 3x3 convs (stride 1) see "
        "(2n+1)x(2n+1), as one (2n+1)x(2n+1) conv does, with 9n instead of (2n+1)² weights per C_in·C_out "
        "(exact when C_in = C_out: three 3x3 = 27C², one 7x7 = 49C²) and n ReLUs instead of one.",
        "The stack's first layer maps C_in to C_out, the others C_out to C_out; MACs per output position equal "
        "the weights (each weight is used once per position).",
    ]
    return View("3x3 stacks against one large kernel", cols, rows, notes)


def block_view(rows: list[Any], model: ModelInfo, inp: InputInfo) -> View:
    cols = [
        Column("Block", lambda r: r.block),
        Column("Convs", lambda r: r.convs, justify="left", drop=5),
        Column("Channels", lambda r: (r.in_channels, r.out_channels), lambda v: f"{v[0]}→{v[1]}"),
        Column("Field", lambda r: r.field, lambda v: f"{v}x{v}"),
        Column("Stack params", lambda r: r.stack_params, units.count, compact=units.si),
        Column("One conv params", lambda r: r.single_params, units.count, compact=units.si),
        Column("Stack MACs", lambda r: r.stack_macs, units.count, drop=3, compact=units.si),
        Column("One conv MACs", lambda r: r.single_macs, units.count, drop=4, compact=units.si),
        Column("Saving %", lambda r: r.saving_percent, lambda v: f"{v:.1f}"),
        Column("ReLUs", lambda r: r.stack_nonlinearities, drop=2),
    ]
    notes = [
        f"Each block of {model.name} at input {units.shape(inp.shape)} against one conv with "
        "the block's field, input and output channels, at the same output size.",
        "A negative saving means the stack costs more: where a block widens the channels (e.g. 3→64), its later "
        "layers run at the wider width. Where width is constant the stack saves, and always adds non-linearities.",
    ]
    return View(f"Blocks of {model.name}: conv stacks against one conv", cols, rows, notes)


def effective_view(data: EffectiveField, report: Report) -> View:
    rows = [("theoretical field", f"{_axis(data.theoretical_rf)} px", "box " + _box(data.theoretical_box))]
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
        Column("Note", lambda r: r[2], justify="left"),
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


def _paper_cell(unit: str, v: Any) -> str:
    if v is None:
        return ""
    if unit == "text":
        return str(v)
    if unit == "count":
        return units.count(v)
    if unit == "millions":
        return str(round(v / 1e6))  # as the paper's Table 2 rounds
    if unit == "macs":
        return units.si(v)
    if unit == "bytes":
        return units.mib(v)
    if unit == "rf":
        return f"{_axis(v[0])} / {_axis(v[1])}"
    if unit == "error":
        return f"{v[0]:.1f}/{v[1]:.1f}"
    return f"{v[0]:.2f}/{v[1]:.2f}"  # accuracy


def _paper_label(row: Any) -> str:
    if row.section == "published" and row.unit == "error":  # "train S=256, test Q=256" -> "S=256 Q=256"
        scales = row.label.replace("train ", "").replace("test ", "").replace(", ", " ")
        return f"{row.source} {scales}"
    if row.section == "published" and row.unit == "accuracy":
        return "torchvision" + (" BN" if "BatchNorm" in row.label else "")
    return f"{row.source}: {row.label}" if row.source else row.label


def _paper_value(i: int) -> Callable[[Any], Any]:
    """The raw cell for CSV: numbers stay numbers; pairs are written top-1/top-5 or rf/jump."""

    def value(r: Any) -> Any:
        row, v = r[0], r[0].values[i]
        if v is None or row.unit in ("text", "count", "macs", "bytes"):
            return v
        if row.unit == "millions":
            return round(v / 1e6)
        return f"{v[0]}/{v[1]}"

    return value


def _paper_text(i: int) -> Callable[[Any], str]:
    return lambda r: _paper_cell(r[0].unit, r[0].values[i])


def paper_view(table: Any) -> View:
    """Table 1 read across as the paper prints it, then computed rows, then published results."""
    shown: list[Any] = []
    previous = ""
    for row in table.rows:  # a block's name on its first row only, as in the paper
        label = _paper_label(row)
        repeated = row.section == "Table 1" and (label == previous or label in ("pool", "head"))
        shown.append((row, "" if repeated else label))
        previous = label
    cols = [Column("", lambda r: r[1], justify="left", wrap=True)]
    for i, config in enumerate(table.configs):
        cols.append(Column(config, _paper_value(i), text=_paper_text(i)))
    n, c, h, w = table.input
    notes = [
        "Table 1 (Simonyan & Zisserman): convN-C is an NxN conv with C output channels, each followed by ReLU; "
        "bold: what a configuration adds over its left neighbour.",
        f"Computed at input {n}×{c}×{h}×{w}, float32: params with biases; MACs of conv + linear weights; "
        "activations = input + conv/LRN/pool/FC outputs; training memory = weights + gradients + momentum + "
        "saved-for-backward; pool5 receptive field / jump in pixels.",
        "Published rows are quoted, never computed: Tables 3 and 4 give the paper's top-1/top-5 validation error (%) "
        "for training scale S and test scale Q (multi-scale: Q in {S-32, S, S+32}); torchvision rows give the "
        "acc@1/acc@5 (%) of its IMAGENET1K_V1 weights, retrained with another recipe.",
    ]
    if table.batch_norm:
        notes.append(
            "BN rows: BatchNorm after every conv (torchvision's _bn variants; A-LRN and C have no torchvision weights)."
        )

    def emphasis(r: Any, i: int) -> bool:
        return i > 0 and r[0].section == "Table 1" and r[0].new[i - 1]

    def boundary(a: Any, b: Any) -> bool:  # rules between Table 1's blocks, and before the results
        if a.section == "Table 1":
            return bool(a.label in ("input", "pool") or b.section != "Table 1")
        return bool(b.source == "Table 3" and a.source != "Table 3")

    sections = {id(a): boundary(a, b) for a, b in zip(table.rows, table.rows[1:])}

    def section_end(r: Any) -> bool:
        return sections.get(id(r[0]), False)

    view = View("VGG configurations (the paper's Tables 1-4)", cols, shown, notes, emphasis=emphasis,
                section_end=section_end, compact=True)  # fmt: skip
    return view


def explain_views(result: Any) -> list[View]:
    out = []
    where = f"{result.model.name}, input {units.shape(result.input.shape)}"
    if result.claims is not None:
        cols = [
            Column("Claim", lambda c: c.claim, justify="left", wrap=True),
            Column("Where it comes from", lambda c: c.source, justify="left", wrap=True),
            Column("Correct figure", lambda c: c.correct, justify="left", wrap=True),
            Column("Verdict", lambda c: c.verdict, justify="left", wrap=True),
        ]
        notes = ["Correct figures come from this tool's per-layer data (bytes in float32; MiB = 2^20 B, MB = 10^6 B)."]
        out.append(View(f"VGG16 figures in circulation ({where})", cols, result.claims, notes,
                        lambda c: "bold red" if c.verdict.startswith("wrong") else None))  # fmt: skip
    if result.figures is not None:
        cols = [
            Column("Figure", lambda m: m.figure, justify="left"),
            Column("What gives it", lambda m: "; ".join(m.found) or "-", justify="left", wrap=True),
            Column("How", lambda m: m.note, justify="left", wrap=True),
        ]
        notes = [
            "A figure matches at the precision written (30.94G holds for 30,940,528,640). Bytes are tried for "
            "float32 and for 16-bit dtypes; a figure in MB that only holds in MiB (or the reverse) is named."
        ]
        out.append(View(f"Figures traced in {where}", cols, result.figures, notes))
    if not out or result.warnings:
        out.append(View("Notes", [Column("", lambda w: w, justify="left", wrap=True)], result.warnings))
    return out


def identify_view(found: Any) -> View:
    rows = [
        ("variant", found.variant or "-"), ("paper config", found.config or "-"), ("found by", found.how),
        ("classes", found.num_classes), ("BatchNorm", "yes" if found.batch_norm else "no"),
        ("input channels", found.in_channels), ("parameters in the file", f"{found.params:,}"),
    ]  # fmt: skip
    cols = [Column("", lambda r: r[0], justify="left"), Column("", lambda r: r[1], justify="left", wrap=True)]
    notes = [f"Differs: {d}" for d in found.differences] + [f"({n})" for n in found.notes]
    return View(f"Checkpoint {found.path}", cols, rows, notes)


def _pair(values: list[Any], joiner: str = "×") -> str:
    def one(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, list):
            return joiner.join(map(str, v))
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    a, b = values
    return one(a) if a == b else f"{one(a)} → {one(b)}"


def diff_view(result: Any, all_layers: bool = False) -> View:
    d = result.diff
    rows = [r for r in d.rows if all_layers or r.kind not in FOLDED_KINDS]
    fields = ["type", "kernel_size", "stride", "padding", "channels", "output_shape", "params", "macs"]
    headers = {"type": "Type", "kernel_size": "Kernel", "stride": "Stride", "padding": "Padding",
               "channels": "Channels", "output_shape": "Output shape", "params": "Params", "macs": "MACs"}  # fmt: skip

    def cell(field: str) -> Callable[[Any], str]:
        joiner = "→" if field == "channels" else "×"
        return lambda r: _pair(r.fields.get(field, [None, None]), joiner)

    cols = [Column("A", lambda r: r.a or "-", justify="left"), Column("B", lambda r: r.b or "-", justify="left")]
    for f, drop in zip(fields, (0, 3, 4, 5, 0, 2, 0, 1)):
        cols.append(Column(headers[f], cell(f), justify="left", drop=drop))

    def style(r: Any) -> str | None:
        return "bold red" if r.differs else "dim" if r.neutral else None

    t = d.totals
    changed = sum(r.differs for r in d.rows)
    notes = [
        f"A: {d.a.name}{f' ({d.a.layers})' if d.a.layers else ''}; B: {d.b.name}"
        f"{f' ({d.b.layers})' if d.b.layers else ''}; input {units.shape(d.input)}.",
        f"Params: {_pair(t['params'])}; MACs: {_pair(t['macs'])}. "
        + ("Every aligned layer matches." if d.same else f"{changed} layer(s) differ (in red; a → b)."),
        "Layers are aligned in execution order by kind; ReLU, Dropout, flatten and pools that change nothing are "
        "shown dimmed and never count as a difference.",
    ]
    return View(f"diff {d.a.name} {d.b.name}", cols, rows, notes, style)
