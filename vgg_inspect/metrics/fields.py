"""Receptive fields of a whole network (after Araujo et al. / google-research receptive_field): the
per-axis algebra of ``field_axis.py`` chained through the layers, and merged where a layer reads
several maps (an add, a concatenation): one jump, one regular field; different jumps, each unit's
field apart (irregular). ``row_values`` gives a report row's columns."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ..ops import Axis, Op, Shape
from ..records import record
from .field_axis import (
    CONSTANT,
    EXPLICIT_UNITS,
    INPUT_FIELD,
    AxisField,
    AxisState,
    Interval,
    both_known,
    explicit_units,
    largest_span,
    merge_intervals,
    step_axis,
    unit_extents,
)


@record(frozen=True)
class LayerField:
    h: AxisState
    w: AxisState

    @property
    def covers(self) -> bool | None:
        if self.h.covers is None or self.w.covers is None:
            return None
        return self.h.covers and self.w.covers


State = tuple[AxisState, AxisState, bool]  # (H, W, spatial axes flattened)


def _advance(state: State, op: Op, in_shape: Shape, out_shape: Shape, hw: tuple[int, int]) -> State:
    h, w, flattened = state
    geometry = op.geometry(in_shape)
    if geometry == "flatten":
        return h, w, True
    if geometry == "constant":  # made from no pixel (zeros_like): no field, and no pixel covered
        units = out_shape[2:] if len(out_shape) == 4 else (0, 0)
        return (
            AxisState(CONSTANT, None, units[0], (), covers=False),
            AxisState(CONSTANT, None, units[1], (), covers=False),
            False,
        )
    if flattened:  # spatial axes merged: only a layer that sees everything stays exact
        mixes = geometry[0] is Axis.GLOBAL or geometry[1] is Axis.GLOBAL
        if mixes:
            return step_axis(h, Axis.GLOBAL, hw[0], 0), step_axis(w, Axis.GLOBAL, hw[1], 0), True
        if geometry != (Axis.POINT, Axis.POINT):
            return step_axis(h, Axis.UNKNOWN, hw[0], 0), step_axis(w, Axis.UNKNOWN, hw[1], 0), True
        return state
    assert not isinstance(geometry, str)
    units = out_shape[2:] if len(out_shape) == 4 else (0, 0)
    return step_axis(h, geometry[0], hw[0], units[0]), step_axis(w, geometry[1], hw[1], units[1]), False


def _union(parts: list[tuple[Interval, ...] | None]) -> tuple[Interval, ...] | None:
    return None if any(p is None for p in parts) else merge_intervals([iv for p in parts for iv in p or ()])


def _merge_axis(states: list[AxisState], size: int) -> tuple[AxisState, bool]:
    """The field of an op that reads several maps (an add, a concatenation, a gate): each output
    unit reads the same unit of every input (a one-unit map, broadcast, is read by all). Returns
    the state and whether the inputs were aligned (equal jumps: the union is a regular field)."""
    if any(s.status == "unknown" for s in states):
        return AxisState("unknown", None, states[0].units, None), True
    counts = [len(s.sets) if s.sets is not None else s.units for s in states]  # irregular: one set per unit
    units = max(counts)
    if any(s.status == "global" for s in states):
        reach = _union(
            [s.reach if s.sets is None else merge_intervals([iv for u in s.sets for iv in u]) for s in states]
        )
        base = next(s for s in states if s.status == "global")
        done = AxisState("global", base.field, base.units, reach)
        return AxisState("global", base.field, base.units, reach, covers=done.full(size)), True
    fields = [s.field for s in states]
    # Local fields (a hole-making branch too, a 1x1/s2 or a dilated conv, which keeps its units'
    # pixels apart) with one jump and one count are one regular field: the union of the spans.
    plain = all(s.status == "local" for s in states)
    jumps = {f.jump for f in fields if f is not None}
    aligned = not plain or len(jumps) <= 1  # only regular fields have one jump to compare
    regular = plain and all(c == units for c in counts) and len(jumps) == 1
    if regular and all(f is not None for f in fields) and any(s.sets is not None for s in states):
        return _regular_union(states, size, units), True
    if regular and all(f is not None for f in fields):
        field = _union_field([f for f in fields if f is not None])
        reach = _union([s.reach for s in states])
        nxt = AxisState("local", field, units, reach)
        return AxisState(
            "local", field, units, reach, covers=both_known(nxt.full(size), field.unit_covers(size, units))
        ), True
    if units > EXPLICIT_UNITS or any(c not in (1, units) for c in counts):
        return AxisState("unknown", None, units, None), aligned
    explicit = [
        s.sets if s.sets is not None else explicit_units(s, [[j] for j in range(s.units)], size).sets for s in states
    ]
    before = [unit_extents(s) for s in states]
    sets, extents = [], []
    for i in range(units):
        merged = merge_intervals([iv for e in explicit for iv in (e or ((),))[i if len(e or ()) == units else 0]])
        if merged is None or any(e is None for e in explicit):
            return AxisState("unknown", None, units, None), aligned
        sets.append(merged)
        spans = [e[i if len(e) == units else 0] for e in before if e]
        spans_known = [x for x in spans if x is not None]
        extents.append((min(a for a, _ in spans_known), max(b for _, b in spans_known)) if spans_known else None)
    covers = any(u == ((0, size - 1),) for u in sets)
    reach = merge_intervals([iv for u in sets for iv in u])
    rf, kept = largest_span(extents)
    return AxisState("irregular", fields[0], units, reach, rf=rf, covers=covers, sets=tuple(sets),
                     extents=kept), aligned  # fmt: skip


def _union_field(known: list[AxisField]) -> AxisField:
    """The regular field spanning every input's field (one jump): from the first pixel of any to the last."""
    first = min(f.first for f in known)
    rf = max(f.first + f.rf for f in known) - first
    pattern = _union([None if f.pattern is None else tuple((a + f.first - first, b + f.first - first)
                                                           for a, b in f.pattern) for f in known])  # fmt: skip
    return AxisField(rf, known[0].jump, first + (rf - 1) / 2, max(f.pad for f in known), pattern)


def _regular_union(states: list[AxisState], size: int, units: int) -> AxisState:
    """A merge of local fields of one jump where some branch keeps its units' pixels apart: the
    regular field of the spans, and each unit's pixels the union of the branches' (taps on
    padding read nothing)."""
    field = _union_field([s.field for s in states if s.field is not None])
    explicit = [s.sets if s.sets is not None else explicit_units(s, [[j] for j in range(s.units)], size).sets
                for s in states]  # fmt: skip
    if any(e is None or len(e) != units for e in explicit):
        return AxisState("local", field, units, _union([s.reach for s in states]))
    sets = tuple(merge_intervals([iv for e in explicit for iv in (e or ())[i]]) or () for i in range(units))
    reach = merge_intervals([iv for u in sets for iv in u])
    extents = tuple(_union_extent([unit_extents(s)[i] for s in states]) for i in range(units))
    return AxisState("local", field, units, reach, covers=any(u == ((0, size - 1),) for u in sets), sets=sets,
                     extents=extents)  # fmt: skip


def _union_extent(spans: list[Interval | None]) -> Interval | None:
    known = [x for x in spans if x is not None]
    return (min(a for a, _ in known), max(b for _, b in known)) if known else None


def receptive_fields(
    layers: Sequence[tuple[Op, Shape, Shape]],
    input_hw: tuple[int, int],
    chained: Sequence[bool] = (),
    links: Sequence[tuple[tuple[Hashable, ...], Hashable]] | None = None,
    notes: list[str] | None = None,
    names: Sequence[str] = (),
) -> list[LayerField]:
    """The field of every layer's output units, in input coordinates. ``layers``: (op, input
    shape, output shape) in execution order. Without ``links`` they form one chain, and
    ``chained[i]`` False (layer i does not read layer i-1's output) makes the fields unknown from
    there. ``links[i]``: the tensors layer i reads and the one it writes (the input is key 0 of
    ``links``' first reader, see ``INPUT``): each tensor has its field, and a layer that reads
    several merges theirs (``notes`` says which merges were unaligned, by ``names``)."""
    size_h, size_w = input_hw
    h = AxisState("local", INPUT_FIELD, size_h, ((0, size_h - 1),), covers=size_h == 1)
    w = AxisState("local", INPUT_FIELD, size_w, ((0, size_w - 1),), covers=size_w == 1)
    state: State = (h, w, False)
    unknown = (AxisState("unknown", None, 0, None), AxisState("unknown", None, 0, None), False)
    by_key: dict[Hashable, State] = {INPUT: state}
    out: list[LayerField] = []
    for index, (op, in_shape, out_shape) in enumerate(layers):
        if links is not None:
            sources, result = links[index]
            found = [by_key[k] for k in sources if k in by_key]
            varying = [f for f in found if f[0].status != CONSTANT]  # a constant adds no pixel to a merge
            found = varying or found[:1]
            if not found:
                state = unknown
            elif len(found) == 1:
                state = found[0]
            else:
                mh, aligned_h = _merge_axis([f[0] for f in found], size_h)
                mw, aligned_w = _merge_axis([f[1] for f in found], size_w)
                state = (mh, mw, any(f[2] for f in found))
                if notes is not None and not (aligned_h and aligned_w):
                    where = names[index] if index < len(names) else f"layer {index}"
                    notes.append(f"{where} merges maps of different jumps: its field is given per unit (irregular)")
            state = _advance(state, op, in_shape, out_shape, input_hw)
            by_key[result] = state
        elif index < len(chained) and not chained[index]:
            state = (
                step_axis(state[0], Axis.UNKNOWN, size_h, 0),
                step_axis(state[1], Axis.UNKNOWN, size_w, 0),
                state[2],
            )
        else:
            state = _advance(state, op, in_shape, out_shape, input_hw)
        out.append(LayerField(state[0], state[1]))
    return out


INPUT = "input"  # the key of the model's input in ``links``


Scalar = int | float | str | None
AxisValue = Scalar | list[Scalar]


def axis_value(h: Scalar, w: Scalar) -> AxisValue:
    """One value when both axes agree, else [H, W] (the JSON contract's per-axis form)."""
    return h if h == w else [h, w]


def row_values(field: LayerField) -> dict[str, AxisValue]:
    """The receptive-field columns of a report row."""

    def local(state: AxisState, attr: str) -> Scalar:
        return getattr(state.field, attr) if state.status == "local" and state.field else None

    def rf(state: AxisState) -> int | None:
        if state.status == "irregular":
            return state.rf
        return state.field.rf if state.status == "local" and state.field else None

    return {
        "receptive_field": axis_value(rf(field.h), rf(field.w)),
        "jump": axis_value(local(field.h, "jump"), local(field.w, "jump")),
        "start": axis_value(local(field.h, "start"), local(field.w, "start")),
        "effective_padding": axis_value(local(field.h, "pad"), local(field.w, "pad")),
        "field_status": axis_value(field.h.status, field.w.status),
    }
