"""Per-group subtotals of a report's rows, as fvcore's ``by_module()`` and torchinfo's ``depth=``
give them: by VGG block (conv3_1..pool3 are block 3; the classifier and what leads to it, the
head), or by module path cut at a depth (features.12 at depth 1 is features)."""

from __future__ import annotations

import re

from ..errors import VggInspectError
from ..metrics.footprint import PAPER_LAYER_KINDS
from ..network import ITEMSIZE
from .model import Group, LayerRow, Report

BY = ("block", "module")
HELD = "held"  # by block: the tensors no layer uses (an auxiliary head, the model's own buffers)
_BLOCK = re.compile(r"^(?:(?:conv|relu|bn|norm|act)(\d+)_\d+|(?:pool|lrn)(\d+))$")  # conv3_2, pool3, lrn1
_HEAD = re.compile(r"^(?:(?:fc|relu|drop|act|bn)\d+|avgpool|flatten)$")  # fc6, relu6, drop6, avgpool


def block_of(row: LayerRow) -> str | None:
    """block N for a layer of the paper's naming, head for the classifier; None: not VGG-named."""
    m = _BLOCK.match(row.name)
    if m:
        return f"block {m.group(1) or m.group(2)}"
    return "head" if _HEAD.match(row.name) else None


def _empty(name: str) -> Group:
    return Group(name=name, layers=[], params=0, trainable_params=0, macs=0, flops=0, activation_bytes=0, saved_bytes=0,
                 complete=True)  # fmt: skip


def group_rows(report: Report, by: str, depth: int = 1) -> list[Group]:
    """The rows in order of first appearance of their group, with their subtotals. ``by="block"``
    on a model whose layers have no paper names groups by module path (depth 1)."""
    if by not in BY:
        raise VggInspectError(f"{{param}} must be one of {', '.join(BY)}, got {by!r}", param="by")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise VggInspectError(f"{{param}} must be a whole number from 1, got {depth!r}", param="depth")
    keys = [block_of(r) for r in report.layers] if by == "block" else []
    keys_by_module = by == "module" or any(k is None for k in keys)
    if keys_by_module:
        keys = [".".join(r.module.split(".")[:depth]) if " " not in r.module else "(functional calls)"
                for r in report.layers]  # fmt: skip
    groups: dict[str, Group] = {}
    # Activation in the summary's own convention (its total's: the input, in the first group, and the
    # outputs of conv, LRN, max-pool and FC rows), so that the groups add up to that total.
    n = 1
    for size in report.input.shape:
        n *= size
    first = True
    for key, row in zip(keys, report.layers):
        g = groups.setdefault(str(key), _empty(str(key)))
        if first:
            g.activation_bytes += n * ITEMSIZE[report.input.dtype]
            first = False
        g.layers.append(row.name)
        g.params += row.params
        g.trainable_params += row.trainable_params
        g.macs += row.macs or 0
        g.flops += row.flops or 0
        g.activation_bytes += row.activation_bytes if row.kind in PAPER_LAYER_KINDS else 0
        g.saved_bytes += row.saved_bytes
        g.complete = g.complete and row.macs is not None
    for h in report.held or []:  # tensors no row counts: in their owner's group, so the groups add up
        owner = h.owner or "(model)"
        key = ".".join(owner.split(".")[:depth]) if by == "module" or keys_by_module else HELD
        g = groups.setdefault(key, _empty(key))
        g.layers.append(f"{owner} (held: {', '.join(n.rpartition('.')[2] for n in h.names)})")
        g.params += h.params
        g.trainable_params += h.trainable_params
    return list(groups.values())
