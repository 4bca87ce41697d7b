"""Views of the report for each command: which columns, which notes. No arithmetic on numbers
beyond shares and running totals of what the report holds."""

from __future__ import annotations

from typing import Any

from . import units
from .check import Outcome
from .report import LayerRow, Report
from .views import Column, View

FOLDED_KINDS = ("relu", "dropout", "flatten")


def visible(report: Report, all_layers: bool) -> list[LayerRow]:
    return [r for r in report.layers if all_layers or r.kind not in FOLDED_KINDS]


def _title(report: Report, what: str) -> str:
    m, i = report.model, report.input
    where = f"instantiated on {i['device']}" if i["analysis"] == "instantiated" else "analytical"
    return f"{what}: {m['name']} (config {m['config']}), input {units.shape(i['shape'])}, {i['dtype']}, {where}"


def _name_columns() -> list[Column]:
    return [
        Column("Layer", lambda r: r.name, justify="left"),
        Column("Module", lambda r: r.module, justify="left"),
        Column("Type", lambda r: r.type, justify="left"),
        Column("Output shape", lambda r: r.output_shape, units.shape),
    ]


def _style(row: LayerRow) -> str | None:
    return "dim" if row.kind in FOLDED_KINDS else None


def params_views(report: Report, all_layers: bool = False) -> list[View]:
    t = report.totals
    total = t["params"] or 1
    running: dict[str, int] = {}
    acc = 0
    for r in report.layers:
        acc += r.params
        running[r.module] = acc
    cols = _name_columns() + [
        Column("Params", lambda r: r.params, units.count),
        Column("Formula", lambda r: r.params_formula, lambda v: v or "", justify="left"),
        Column("Share %", lambda r: round(100 * r.params / total, 2), lambda v: f"{v:.2f}"),
        Column("Running total", lambda r: running[r.module], units.count),
    ]
    kinds = t["params_by_kind"]
    kind_text = ", ".join(f"{k} {units.count(v)} ({100 * v / total:.1f}%)" for k, v in kinds.items() if v)
    notes = [
        f"Total params: {units.count(t['params'])} ({units.si(t['params'])})  by kind: {kind_text}",
        f"Trainable: {units.count(t['trainable_params'])}  non-trainable: {units.count(t['non_trainable_params'])}"
        f"  buffers (BN running stats, counted apart): {units.count(t['buffers'])}",
        f"Weights ({report.input['dtype']}): {units.bytes_full(t['weight_bytes'])}"
        + (f"; buffers {units.bytes_full(t['buffer_bytes'])}" if t["buffer_bytes"] else ""),
    ]
    return [View(_title(report, "Parameters"), cols, visible(report, all_layers), notes, _style)]


def summary_views(report: Report, all_layers: bool = False) -> list[View]:
    t = report.totals
    cols = _name_columns() + [
        Column("Params", lambda r: r.params, units.count),
        Column("MACs", lambda r: r.macs, units.count),
        Column("Activation", lambda r: r.activation_bytes, units.mib),
        Column("RF", lambda r: r.receptive_field, lambda v: "global" if v is None else str(v)),
        Column("Jump", lambda r: r.jump, lambda v: "-" if v is None else str(v)),
    ]
    notes = [
        f"Params: {units.count(t['params'])}   MACs: {units.count(t['macs'])} ({units.si(t['macs'])})"
        f"   FLOPs: {units.count(t['flops'])} ({report.conventions['flops']})",
        f"MACs: {report.conventions['macs']}.",
        f"Activation column: output of each layer ({report.input['dtype']}, batch {report.input['shape'][0]}); "
        f"total {units.bytes_full(t['activation_bytes'])} ({report.conventions['activation_bytes']}).",
        f"Weights: {units.bytes_full(t['weight_bytes'])}.  RF: receptive field in input pixels; "
        "jump: effective stride.",
    ]
    return [View(_title(report, "Summary"), cols, visible(report, all_layers), notes, _style)]


def list_view(rows: list[dict[str, Any]]) -> View:
    cols = [
        Column("Name", lambda r: r["name"], justify="left"),
        Column("Aliases", lambda r: ", ".join(r["aliases"]), justify="left"),
        Column("Paper config", lambda r: r["config"], justify="left"),
        Column("BN", lambda r: r["batch_norm"], lambda v: "yes" if v else "no", justify="left"),
        Column("Weight layers", lambda r: r["weight_layers"]),
        Column("Params (1000 classes)", lambda r: r["params"], units.count),
        Column("Layers", lambda r: r["layers"], justify="left"),
    ]
    notes = ["Parameters include biases; BN variants add 2 per channel per conv (BatchNorm after every conv, "
             "as torchvision does). Any name also takes --batch-norm, --num-classes, --in-channels."]
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
    return View(title, cols, rows, [verdict], lambda o: None if o.ok else "bold red")
