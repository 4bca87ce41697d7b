"""The paper's Tables 1-4 side by side (pure): the layout, figures computed by this tool for each
configuration, and the published results (quoted, never computed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..network import paper
from .documents import PaperRow, PaperTable
from .model import Report


def paper_table(reports: dict[str, Report], with_bn: dict[str, Report] | None) -> PaperTable:
    """``reports``: one per configuration of ``paper.CONFIGS``; ``with_bn``: their BatchNorm forms."""
    configs = paper.CONFIGS
    shape = reports["D"].input.shape
    image = f"{shape[2]}×{shape[3]} " + ("RGB" if shape[1] == 3 else f"{shape[1]}-channel")
    none = [False] * len(configs)
    rows = [
        PaperRow("Table 1", r.group, "text", list(r.cells), list(r.new))
        for r in paper.table1(configs, reports["D"].model.num_classes or 1000, image)
    ]

    def computed(label: str, unit: str, get: Callable[[Report], Any], of: dict[str, Report] = reports) -> None:
        rows.append(PaperRow("computed", label, unit, [get(of[c]) if c in of else None for c in configs], list(none)))

    computed("weight layers", "count", lambda r: r.model.weight_layers)
    computed("params (exact)", "count", lambda r: r.totals.params)
    computed("params (M, rounded)", "millions", lambda r: r.totals.params)
    rows.append(PaperRow("published", "params (M)", "count", [paper.TABLE2_MILLIONS[c] for c in configs], list(none),
                         "Table 2"))  # fmt: skip
    computed("MACs", "macs", lambda r: r.totals.macs)
    computed("activations", "bytes", lambda r: r.totals.activation_bytes)
    computed("training memory", "bytes", lambda r: r.totals.training_total_bytes)
    computed("pool5 RF / jump", "rf", lambda r: [r.layer("pool5").receptive_field, r.layer("pool5").jump])
    if with_bn is not None:
        computed("params, BN", "count", lambda r: r.totals.params, with_bn)
        computed("training mem., BN", "bytes", lambda r: r.totals.training_total_bytes, with_bn)
    bn = with_bn is not None
    published = [*paper.TABLE3, *paper.TABLE4, *paper.TORCHVISION, *(paper.TORCHVISION_BN if bn else ())]
    for pub in published:
        found = {c: [top1, top5] for c, top1, top5 in pub.values}
        rows.append(PaperRow("published", pub.setting, pub.metric, [found.get(c) for c in configs], list(none),
                             pub.source))  # fmt: skip
    return PaperTable(list(configs), shape, bn, rows)
