"""Two models' layers aligned in execution order, field by field (pure: from their traces and rows).

The layers that matter (weights, pools, norms) are aligned first, by role: the block a layer is
in and its position there (conv3_2 with conv3_2, pool5 with pool5), or its position in the head
(fc6 with fc6, whether a Linear or timm's 7x7 conv), then by output channels and kernel; a conv is
never paired with a pool. The neutral ones between them (ReLU, Dropout, flatten, an identity
pool) are paired among themselves, so an extra no-op never shifts the alignment. A neutral layer
is shown and is never a difference."""

from __future__ import annotations

import difflib
from typing import Any

from ..network.layout import head_start
from ..ops import NEUTRAL_KINDS, LayerKind
from ..ops.traced import LayerTrace
from .documents import Diff, DiffRow, DiffSection
from .model import LayerRow, Report

COMPARED_KINDS = (LayerKind.CONV, LayerKind.FC, LayerKind.POOL, LayerKind.AVGPOOL, LayerKind.NORM,
                  LayerKind.GROUP_NORM, LayerKind.LRN, LayerKind.RESAMPLE)  # fmt: skip

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
    # AvgPool2d(1, 1), an adaptive pool at its own size; SSD's 3x3/s1 pool5 keeps the size but is no no-op
    same = list(t.input_shape) == list(t.output_shape) and tuple(getattr(t.op, "kernel_size", (1, 1))) == (1, 1)
    identity = r.kind in (LayerKind.AVGPOOL, LayerKind.POOL) and same
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


GROUPS = {LayerKind.CONV: "weight", LayerKind.FC: "weight", LayerKind.AVGPOOL: "pool", LayerKind.GROUP_NORM: "norm",
          LayerKind.LRN: "norm"}  # fmt: skip
Role = tuple[Any, ...]


def _roles(side: Side, keep: list[int]) -> dict[int, Role]:
    """Each kept layer's role: (block, group, n-th of its group in the block), or ("head", group, n)
    after the last block. Blocks end at pools, the head starts where the names' head does."""
    kinds = [r.kind for _, r in side]
    shapes = [(tuple(t.input_shape), tuple(t.output_shape)) for t, _ in side]
    head = min(head_start(kinds, shapes), next((i for i, k in enumerate(kinds) if k is LayerKind.FC), len(side)))
    roles: dict[int, Role] = {}
    block = 1
    seen: dict[tuple[Any, str], int] = {}
    for i in keep:
        group = GROUPS.get(side[i][1].kind, side[i][1].kind.value)
        where: Any = "head" if i >= head else block
        seen[where, group] = n = seen.get((where, group), 0) + 1
        roles[i] = (where, group, n)
        if group == "pool" and i < head:
            block += 1
    return roles


def _similarity(x: tuple[LayerTrace, LayerRow], y: tuple[LayerTrace, LayerRow], rx: Role, ry: Role) -> float | None:
    """How alike two layers are (None: never paired): the same role counts most, then the same
    output channels and kernel."""
    if rx[-2] != ry[-2]:
        return None
    (tx, _), (ty, _) = x, y
    channels = len(tx.output_shape) > 1 and len(ty.output_shape) > 1 and tx.output_shape[1] == ty.output_shape[1]
    kernel = getattr(tx.op, "kernel_size", None) == getattr(ty.op, "kernel_size", None)
    return 1 + 3 * (rx == ry) + 1 * channels + 0.5 * kernel


def _by_role(a: Side, b: Side, xs: list[int], ys: list[int]) -> Pairs:
    """The pairing of the layers that matter with the most similarity in total (an alignment in
    execution order, Needleman-Wunsch with free gaps)."""
    ra, rb = _roles(a, xs), _roles(b, ys)
    n, m = len(xs), len(ys)
    sim = [[_similarity(a[i], b[j], ra[i], rb[j]) for j in ys] for i in xs]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]  # best[i][j]: of xs[i:] against ys[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            s = sim[i][j]
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + s if s is not None else -1.0)
    out: Pairs = []
    i, j = 0, 0
    while i < n or j < m:  # on a tie the earlier layers pair (SSD's conv6 with fc6, not its extras)
        s = sim[i][j] if i < n and j < m else None
        if s is not None and best[i][j] == best[i + 1][j + 1] + s:
            out.append((xs[i], ys[j]))
            i, j = i + 1, j + 1
        elif (
            i < n
            and best[i][j] == best[i + 1][j]
            and not (j < m and best[i][j] == best[i][j + 1] and all(sim[k][j] is None for k in range(i, n)))
        ):  # of two equal skips, the layer nothing later can pair with goes first (vgg16's avgpool)
            out.append((xs[i], None))
            i += 1
        else:
            out.append((None, ys[j]))
            j += 1
    return out


def pair_layers(a: Side, b: Side) -> Pairs:
    """The layers that matter aligned first, the neutral ones between them among themselves."""
    main = _by_role(
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
    notes = [f"{'A' if r.a else 'B'} has {r.a or r.b} (an activation), which the other has not: no parameters, no "
             "MACs, not counted as a difference" for r in rows if r.neutral and (r.a is None) != (r.b is None)
             and r.kind == str(LayerKind.ACTIVATION)]  # fmt: skip
    notes += [f"{side}: {w}" for side, rep in (("A", ra), ("B", rb)) for w in rep.warnings if "own layout" in w]
    return Diff(DiffSection(ra.model, rb.model, ra.input.shape, rows, totals, not any(r.differs for r in rows), notes))
