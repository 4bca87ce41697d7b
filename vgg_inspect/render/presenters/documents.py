"""Views of the documents that are not a model report: the variant list, checks, the 3x3-stack and
block comparisons, the paper's tables, explanations, identifications and diffs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...ops import NEUTRAL_KINDS
from ...report.expectations import show
from ...report.model import InputInfo, ModelInfo
from .. import units
from ..views import Column, View, _csv_cell
from .layers import axis_text as _axis

if TYPE_CHECKING:
    from ...report.documents import Outcome, VariantRow


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
    # failures, and what moved within its tolerance (it moved: the table says so, and by which rule)
    rows = [o for o in outcomes if not o.ok or o.change] if only_failures else outcomes
    cols = [
        Column("Key", lambda o: o.key, justify="left"),
        Column("Expected", lambda o: o.expected if isinstance(o.expected, str) else show(o.expected)),
        Column("Actual", lambda o: show(o.actual) + (f" ({o.change})" if o.change else "")),
        Column("Result", _result, justify="left"),
    ]
    verdict = f"{len(outcomes) - failed} of {len(outcomes)} expectations hold" + (
        f"; {failed} failed" if failed else ""
    )
    if not rows:  # nothing failed: no empty table, just the verdict
        return View(f"{title}: nothing failed", [], [], [verdict])
    return View(title, cols, rows, [verdict], lambda o: None if o.ok else "bold red")


def _result(o: Outcome) -> str:
    if not o.ok:
        return "FAIL" + (f" (beyond {o.tolerance})" if o.tolerance else "")
    return f"ok, within {o.tolerance}" if o.change and o.tolerance else "ok"


def stack_view(rows: list[Any], cin: int, cout: int, bias: bool) -> View:
    cols = [
        Column("3x3 layers", lambda r: r.layers),
        Column("Field", lambda r: r.field, lambda v: f"{v}x{v}"),
        Column(
            "Weights / (Cin·Cout)",
            lambda r: (r.stack_weight_multiple, r.single_weight_multiple),
            lambda v: f"{v[0]} vs {v[1]}",  # the headline (27 vs 49): never left out
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
    title = ("3x3 stacks against one large kernel (a model's own fields, layer by layer: "
             "vgg-inspect receptive-field vgg16)")  # fmt: skip
    return View(title, cols, rows, notes)


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
        return units.binary(v)
    if unit == "rf":
        return f"{_axis(v[0])} / {_axis(v[1])}"
    if unit == "error":
        return f"{v[0]:.1f}/{v[1]:.1f}"
    return f"{100 - v[0]:.2f}/{100 - v[1]:.2f}"  # torchvision's accuracy, shown as the paper's error


def _paper_label(row: Any) -> str:
    if row.section == "published" and row.unit == "error":  # "train S=256, test Q=256" -> "S=256 Q=256"
        scales = row.label.replace("train ", "").replace("test ", "").replace(", ", " ")
        return f"{row.source} {scales}"
    if row.section == "published" and row.unit == "accuracy":
        return "torchvision" + (" BN" if "BatchNorm" in row.label else "") + " (100 - acc)"
    return f"{row.source}: {row.label}" if row.source else row.label


def _paper_value(i: int) -> Callable[[Any], Any]:
    """The raw cell for CSV: numbers stay numbers; pairs are written top-1/top-5 or rf/jump."""

    def value(r: Any) -> Any:
        row, v = r[0], r[0].values[i]
        if v is None or row.unit in ("text", "count", "macs", "bytes"):
            return v
        if row.unit == "millions":
            return round(v / 1e6)
        if row.unit == "accuracy":  # as the table shows it: error, the paper's measure
            return f"{round(100 - v[0], 3)}/{round(100 - v[1], 3)}"
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
        "same top-1/top-5 error of its IMAGENET1K_V1 weights, 100 minus the acc@1/acc@5 it publishes (retrained "
        "with another recipe; the JSON keeps the accuracies, unit 'accuracy').",
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
        ("features", found.features or "-"), ("head", found.head or "-"),
        ("classes", found.num_classes), ("BatchNorm", "yes" if found.batch_norm else "no"),
        ("input channels", found.in_channels), ("parameters in the file", f"{found.params:,}"),
    ]  # fmt: skip
    cols = [Column("Property", lambda r: r[0], justify="left"),
            Column("Found in the file", lambda r: r[1], justify="left", wrap=True)]  # fmt: skip
    notes = [f"Differs: {d}" for d in found.differences] + [f"({n})" for n in found.notes]
    return View(f"Which VGG: {found.path}", cols, rows, notes)


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
    rows = [r for r in d.rows if all_layers or r.kind not in NEUTRAL_KINDS]
    fields = ["type", "kernel_size", "stride", "padding", "channels", "output_shape", "params", "macs"]
    headers = {"type": "Type", "kernel_size": "Kernel", "stride": "Stride", "padding": "Padding",
               "channels": "Channels", "output_shape": "Output shape", "params": "Params", "macs": "MACs"}  # fmt: skip

    def cell(field: str) -> Callable[[Any], str]:
        joiner = "→" if field == "channels" else "×"
        return lambda r: _pair(r.fields.get(field, [None, None]), joiner)

    def raw(field: str) -> Callable[[Any], Any]:
        """CSV's cell: the value itself where A and B agree (a number stays a number, 1792 not
        '1,792'), else 'a→b' of the raw values."""

        def value(r: Any) -> Any:
            a, b = r.fields.get(field, [None, None])
            if a == b:
                return a
            return f"{_csv_cell(a)}→{_csv_cell(b)}"

        return value

    same_names = all(r.a == r.b for r in rows)  # then B repeats A: the first column to leave out
    cols = [
        Column("A", lambda r: r.a or "-", justify="left"),
        Column("B", lambda r: r.b or "-", justify="left", drop=9 if same_names else 0),
    ]

    def si_pair(value: Any) -> str:  # "590.08 K → 65.79 K": a moved count, shorter, to fit
        parts = str(value).split("→") if isinstance(value, str) else [value]
        return " → ".join(units.si(int(p)) if str(p).lstrip("-").isdigit() else str(p) for p in parts)

    differing = {f for r in rows for f, (a, b) in r.fields.items() if a != b}
    for f, drop in zip(fields, (6, 3, 4, 5, 7, 2, 0, 1)):
        # a column where any row differs carries the answer: it is never left out to fit
        cols.append(Column(headers[f], cell(f) if f == "channels" else raw(f), justify="left",
                           drop=0 if f in differing else drop, text=cell(f),
                           compact=si_pair if f in ("params", "macs") else None))  # fmt: skip

    def style(r: Any) -> str | None:
        return "bold red" if r.differs else "dim" if r.neutral else None

    t = d.totals
    changed = sum(r.differs for r in d.rows)
    notes = [
        f"A: {d.a.name}{f' ({d.a.layers})' if d.a.layers else ''}; B: {d.b.name}"
        f"{f' ({d.b.layers})' if d.b.layers else ''}; input {units.shape(d.input)}.",
        f"Params: {_pair(t['params'])}; MACs: {_pair(t['macs'])}. "
        + ("Every aligned layer matches." if d.same else f"{changed} layer(s) differ (in red; a → b)."),
        "Layers are aligned in execution order by role (block and place in it, place in the head), then channels "
        "and kernel; ReLU, Dropout, flatten and pools that change nothing are shown dimmed and never count as a "
        "difference.",
        *d.notes,
    ]
    return View(f"diff {d.a.name} {d.b.name}", cols, rows, notes, style)
