"""Two models' layers aligned in execution order, field by field (pure: from their traces and rows).

The layers that matter (weights, pools, norms) are aligned first, by kind; the neutral ones between
them (ReLU, Dropout, flatten, an identity pool) are paired among themselves, so an extra no-op
never shifts the alignment. A neutral layer is shown and is never a difference."""

from __future__ import annotations

import difflib
from typing import Any

from ..ops import NEUTRAL_KINDS
from ..ops.traced import LayerTrace
from .documents import Diff, DiffRow, DiffSection
from .model import LayerRow, Report

COMPARED_KINDS = ("conv", "fc", "pool", "avgpool", "norm", "gnorm", "lrn", "resample")

Side = list[tuple[LayerTrace, LayerRow]]
Pairs = list[tuple[int | None, int | None]]


def _fields(trace: LayerTrace, row: LayerRow) -> dict[str, Any]:
    op = trace.op
    fields: dict[str, Any] = {"type": trace.type}
    for name in ("kernel_size", "stride", "padding", "dilation", "output_size"):
        if hasattr(op, name):
            fields[name] = list(getattr(op, name))
    if hasattr(op, "ceil_mode"):  # it changes an output size only at some inputs: compared itself
        fields["ceil_mode"] = bool(op.ceil_mode)
    if len(trace.input_shape) > 1 and len(trace.output_shape) > 1:
        fields["channels"] = [
            trace.input_shape[1] if len(trace.input_shape) == 4 else trace.input_shape[-1],
            trace.output_shape[1] if len(trace.output_shape) == 4 else trace.output_shape[-1],
        ]
    fields.update(output_shape=list(trace.output_shape), params=row.params, macs=row.macs)
    return fields


def _neutral(pair: tuple[LayerTrace, LayerRow]) -> bool:
    t, r = pair
    if r.params:  # a layer with parameters is never neutral (FCN's upscore, PReLU, an L2Norm scale)
        return False
    identity = r.kind in ("avgpool", "pool") and list(t.input_shape) == list(t.output_shape)  # AvgPool2d(1, 1)
    return r.kind in NEUTRAL_KINDS or identity or r.kind not in COMPARED_KINDS


def _align(a: Side, b: Side, xs: list[int], ys: list[int]) -> Pairs:
    """Indices of ``a`` and ``b`` paired by kind in execution order (None: only on one side)."""
    matcher = difflib.SequenceMatcher(a=[str(a[i][1].kind) for i in xs], b=[str(b[j][1].kind) for j in ys],
                                      autojunk=False)  # fmt: skip
    out: Pairs = []
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = xs[i1:i2], ys[j1:j2]
        out.extend((left[k] if k < len(left) else None, right[k] if k < len(right) else None)
                   for k in range(max(len(left), len(right))))  # fmt: skip
    return out


def pair_layers(a: Side, b: Side) -> Pairs:
    """The layers that matter aligned first, the neutral ones between them among themselves."""
    main = _align(
        a, b, [i for i, p in enumerate(a) if not _neutral(p)], [j for j, p in enumerate(b) if not _neutral(p)]
    )
    pairs: Pairs = []
    done = [0, 0]

    def flush(upto_a: int, upto_b: int) -> None:
        pairs.extend(_align(a, b, [i for i in range(done[0], upto_a) if _neutral(a[i])],
                            [j for j in range(done[1], upto_b) if _neutral(b[j])]))  # fmt: skip
        done[:] = [max(done[0], upto_a), max(done[1], upto_b)]

    for i, j in main:
        flush(i if i is not None else done[0], j if j is not None else done[1])
        pairs.append((i, j))
        done[:] = [i + 1 if i is not None else done[0], j + 1 if j is not None else done[1]]
    flush(len(a), len(b))
    return pairs


def diff_reports(ra: Report, traces_a: list[LayerTrace], rb: Report, traces_b: list[LayerTrace]) -> Diff:
    a, b = list(zip(traces_a, ra.layers)), list(zip(traces_b, rb.layers))
    rows: list[DiffRow] = []
    for ia, ib in pair_layers(a, b):
        pa = a[ia] if ia is not None else None
        pb = b[ib] if ib is not None else None
        fa = _fields(*pa) if pa else {}
        fb = _fields(*pb) if pb else {}
        fields = {f: [fa.get(f), fb.get(f)] for f in dict.fromkeys([*fa, *fb])}
        quiet = all(_neutral(p) for p in (pa, pb) if p is not None)
        differs = not quiet and (pa is None or pb is None or any(x != y for x, y in fields.values()))
        either = pa or pb
        assert either is not None  # every pair has a side
        rows.append(DiffRow(pa[1].name if pa else None, pb[1].name if pb else None, str(either[1].kind), fields,
                            differs, quiet))  # fmt: skip
    totals = {"params": [ra.totals.params, rb.totals.params], "macs": [ra.totals.macs, rb.totals.macs]}
    return Diff(DiffSection(ra.model, rb.model, ra.input.shape, rows, totals, not any(r.differs for r in rows)))
