"""Receptive-field algebra, one axis at a time (after Araujo et al. / google-research receptive_field).

For a layer with kernel k, dilation d (span s = d*(k-1)+1), stride t and padding p:

    rf_out    = rf_in + (s - 1) * jump_in
    jump_out  = jump_in * t
    start_out = start_in + ((s - 1) / 2 - p) * jump_in      (centre of the first output unit)
    pad_out   = pad_in + p * jump_in                        (effective padding)

with input-pixel centres at 0, 1, 2, ... so rf = jump = 1, start = pad = 0 at the input. Beside
these numbers each field keeps its *pattern*: the pixels inside the span that the unit really
depends on (dilated or strided kernels leave holes), as sorted disjoint intervals of offsets.

``covers_input`` is true when some single output unit depends on every input pixel: for one unit
``i`` the pixels ``first_i + pattern`` (``first_i = start + i*jump - (rf-1)/2``) contain
``0 .. size-1``. A layer that sees everything (a fully connected layer) has as its field the
union of the fields of all units of the last windowed layer, so a pixel no unit reads (floored
away by a pool) makes it false. An adaptive pool is a plain window when its windows are equal and
evenly spaced (7x7 of 14x14, or 2-wide stride-1 windows of 8x8); otherwise it is *irregular*:
each unit's pixels are kept explicitly (so are those of any windowed layer after it), and the
largest field is reported, with no single jump.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ..ops import Axis, AxisOp, Op, Shape, Window, Windows
from ..records import record

Interval = tuple[int, int]  # inclusive
PATTERN_LIMIT = 1024  # intervals kept per pattern; beyond it, holes are not tracked (covers unknown)


def _merge(intervals: list[Interval]) -> tuple[Interval, ...] | None:
    intervals.sort()
    out: list[list[int]] = []
    for a, b in intervals:
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out) if len(out) <= PATTERN_LIMIT else None


def shifted_union(pattern: tuple[Interval, ...] | None, step: int, count: int) -> tuple[Interval, ...] | None:
    """pattern + {0, step, ..., (count-1)*step}, by doubling (no work proportional to ``count``
    once the copies overlap into one interval)."""
    if pattern is None:
        return None
    if count <= 0:
        return ()
    if len(pattern) == 1 and abs(step) <= pattern[0][1] - pattern[0][0] + 1 and step >= 0:
        ((a, b),) = pattern  # copies that touch or overlap: one interval (VGG's case, and the common one)
        return ((a, b + (count - 1) * step),)
    result: tuple[Interval, ...] | None = ()
    block: tuple[Interval, ...] | None = pattern  # pattern + {0, .., (m-1) step}
    offset, m, n = 0, 1, count
    while n and block is not None and result is not None:
        if n & 1:
            result = _merge([*result, *((a + offset, b + offset) for a, b in block)])
            offset += m * step
        n >>= 1
        if n:
            block = _merge([*block, *((a + m * step, b + m * step) for a, b in block)])
            m *= 2
    return result if block is not None else None


@record(frozen=True)
class AxisField:
    rf: int
    jump: int
    start: float
    pad: int
    pattern: tuple[Interval, ...] | None = ((0, 0),)  # offsets from the field's first pixel

    @property
    def first(self) -> int:
        """Input coordinate of the first pixel of unit 0's field."""
        return round(self.start - (self.rf - 1) / 2)

    def through(self, w: Window) -> AxisField:
        taps = shifted_union(self.pattern, w.dilation * self.jump, w.kernel)
        return AxisField(
            rf=self.rf + (w.span - 1) * self.jump,
            jump=self.jump * w.stride,
            start=self.start + ((w.span - 1) / 2 - w.padding) * self.jump,
            pad=self.pad + w.padding * self.jump,
            pattern=taps,
        )

    def unit_covers(self, size: int, units: int) -> bool | None:
        """Does some unit i in [0, units) depend on every pixel 0 .. size-1?"""
        if self.pattern is None:
            return None
        for a, b in self.pattern:
            if self.jump == 0:  # every unit sees the same pixels
                if self.first + a <= 0 and self.first + b >= size - 1:
                    return True
                continue
            # first + i*jump + a <= 0  and  first + i*jump + b >= size - 1, for an integer i
            lo = -((self.first + b - (size - 1)) // self.jump)
            hi = (-a - self.first) // self.jump
            if max(lo, 0) <= min(hi, units - 1):
                return True
        return False

    def reach(self, units: int) -> tuple[Interval, ...] | None:
        """Input pixels some unit in [0, units) spans, as absolute intervals (before clipping)."""
        union = shifted_union(self.pattern, self.jump, units)
        return None if union is None else tuple((self.first + a, self.first + b) for a, b in union)


def _intersect(a: tuple[Interval, ...] | None, b: tuple[Interval, ...] | None) -> tuple[Interval, ...] | None:
    if a is None or b is None:
        return None
    out = [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) <= min(x1, y1)]
    return _merge(out)


INPUT_FIELD = AxisField(1, 1, 0.0, 0)


@record(frozen=True)
class AxisState:
    """One axis after a layer: a regular field (``local``), per-unit fields (``irregular``), a
    field that is everything reachable (``global``), or ``unknown``. ``field``/``units`` are those
    of the last regular layer, from which global fields are taken. A unit reads the pixels of its
    span that are in ``reach``: taps on padding, or on units a pool floored away, read nothing."""

    status: str
    field: AxisField | None
    units: int
    reach: tuple[Interval, ...] | None  # input pixels any unit reads (a pool may floor some away)
    rf: int | None = None  # irregular: the largest unit's field
    covers: bool | None = None
    sets: tuple[tuple[Interval, ...], ...] | None = None  # irregular: each unit's pixels, explicitly
    # irregular: each unit's theoretical span (padding and pixels beyond the image included), so that
    # its field follows the same convention as a regular one (VGG16's pool5 at 100 px is 212 wide)
    extents: tuple[Interval | None, ...] | None = None

    def full(self, size: int) -> bool | None:
        """Does any unit read every pixel at all? (A unit reads only pixels that reach it.)"""
        return None if self.reach is None else self.reach == ((0, size - 1),)


EXPLICIT_UNITS = 4096  # irregular layers keep each unit's pixels; beyond this many units, unknown
CONSTANT = "constant"  # a tensor made from no pixel: no field


def _extents(state: AxisState) -> tuple[Interval | None, ...]:
    """Each unit's theoretical span: kept by an irregular state, computed for a regular one."""
    if state.extents is not None:
        return state.extents
    field = state.field
    if state.sets is not None or field is None or not field.pattern:
        return tuple((u[0][0], u[-1][1]) if u else None for u in state.sets or ())
    lo, hi = field.pattern[0][0], field.pattern[-1][1]
    return tuple((field.first + j * field.jump + lo, field.first + j * field.jump + hi) for j in range(state.units))


PERIOD_LIMIT = 64  # the longest period looked for in an irregular map's spans


def _period(extents: tuple[Interval | None, ...]) -> tuple[int, int] | None:
    """(p, shift): the units' spans repeat every p units, moved by ``shift`` pixels (a merge of
    maps of jumps 1 and 2 alternates spans of 3 and 4 pixels: p 2, shift 2); None: no such p."""
    n = len(extents)
    if any(e is None for e in extents):
        return None
    known = [e for e in extents if e is not None]
    for p in range(1, min(PERIOD_LIMIT, n - 1) + 1):
        shift = known[p][0] - known[0][0]
        if all(known[i + p] == (known[i][0] + shift, known[i][1] + shift) for i in range(n - p)):
            return p, shift
    return None


def _extent_at(
    state: AxisState, extents: tuple[Interval | None, ...], j: int, period: tuple[int, int] | None
) -> Interval | None:
    """The theoretical span of unit ``j`` of ``state``, padding units (j < 0, j >= units) included:
    a regular field's own algebra; an irregular map's spans continued by their period, else the
    nearest unit's span moved on by the units' mean step."""
    field = state.field
    if state.sets is None and field is not None and field.pattern and state.status == "local":
        lo, hi = field.pattern[0][0], field.pattern[-1][1]
        return field.first + j * field.jump + lo, field.first + j * field.jump + hi
    if 0 <= j < len(extents):
        return extents[j]
    if period is not None:
        p, shift = period
        base = extents[j % p]
        if base is None:
            return None
        moved = (j - j % p) // p * shift
        return base[0] + moved, base[1] + moved
    ends = [e for e in (extents[:1] + extents[-1:]) if e is not None]
    if len(ends) < (1 if len(extents) == 1 else 2):
        return None
    a0, b0 = ends[0]
    step = (ends[-1][0] - a0) / (len(extents) - 1) if len(extents) > 1 else b0 - a0 + 1
    near, k = (ends[0], j) if j < 0 else (ends[-1], j - len(extents) + 1)
    shift = round(k * step)
    return near[0] + shift, near[1] + shift


def _spans(extents: list[Interval | None]) -> tuple[int, tuple[Interval | None, ...]]:
    """The largest theoretical field among the units, and the units' spans."""
    return max((b - a + 1 for a, b in (e for e in extents if e)), default=0), tuple(extents)


def _explicit(state: AxisState, taps: list[list[int]], size: int) -> AxisState:
    """Units given as lists of the previous units they read: each unit's pixels, explicitly."""
    if state.sets is not None:
        previous = state.sets
    else:  # from a regular field: unit j reads first_j + pattern, within reach
        field = state.field
        assert field is not None
        previous = tuple(
            _intersect(
                tuple(
                    (field.first + j * field.jump + a, field.first + j * field.jump + b) for a, b in field.pattern or ()
                ),
                state.reach,
            )
            or ()
            for j in range(state.units)
        )
    before = _extents(state)
    period = _period(before) if state.status != "local" or state.sets is not None else None
    sets, extents = [], []
    for reads in taps:
        merged = _merge([iv for j in reads if 0 <= j < len(previous) for iv in previous[j]])
        if merged is None:
            return AxisState("unknown", state.field, state.units, state.reach)
        sets.append(merged)
        # padding taps too: the field is the theoretical span, whatever the image's size
        spans = [e for j in reads if (e := _extent_at(state, before, j, period)) is not None]
        extents.append((min(a for a, _ in spans), max(b for _, b in spans)) if spans else None)
    covers = any(s == ((0, size - 1),) for s in sets)
    rf, kept = _spans(extents)
    return AxisState("irregular", state.field, state.units, state.reach, rf=rf, covers=covers, sets=tuple(sets),
                     extents=kept)  # fmt: skip


def _taps(op: Window | Windows, out_units: int) -> list[list[int]]:
    if isinstance(op, Windows):
        return [list(range(a, b)) for a, b in op.bounds]
    return [[i * op.stride - op.padding + t * op.dilation for t in range(op.kernel)] for i in range(out_units)]


def _and(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a and b


def _step(state: AxisState, op: AxisOp, size: int, out_units: int) -> AxisState:
    if state.status in ("unknown", CONSTANT) or op is Axis.POINT:
        return state
    if op is Axis.UNKNOWN:
        return AxisState("unknown", state.field, state.units, state.reach)
    if op is Axis.GLOBAL or state.status == "global":
        if state.field is None:
            return AxisState("unknown", None, state.units, None)
        reach = state.reach if state.sets is None else _merge([iv for unit in state.sets for iv in unit])
        done = AxisState("global", state.field, state.units, reach)
        return AxisState("global", state.field, state.units, reach, covers=done.full(size))
    assert isinstance(op, (Window, Windows))
    if state.field is None:
        return AxisState("unknown", None, state.units, state.reach)
    # The pattern algebra is exact while every tap is contiguous and no unit has holes; from the
    # first dilated or hole-making window (stride beyond the span), or irregular pooling, each
    # unit's pixels are kept explicitly, so that taps on padding read nothing.
    holes = isinstance(op, Window) and (op.dilation > 1 or op.stride > op.span)
    if state.sets is not None or state.status == "irregular" or isinstance(op, Windows) or holes:
        if max(state.units, out_units) > EXPLICIT_UNITS:
            return AxisState("unknown", state.field, state.units, state.reach)
        exact = _explicit(state, _taps(op, out_units), size)
        if state.status != "local" or not isinstance(op, Window) or exact.sets is None:
            return exact
        reach = _merge([iv for unit in exact.sets for iv in unit])  # the span algebra still gives rf and jump
        return AxisState("local", state.field.through(op), out_units, reach, covers=exact.covers, sets=exact.sets,
                         extents=exact.extents)  # fmt: skip
    field = state.field.through(op)
    nxt = AxisState("local", field, out_units, _intersect(field.reach(out_units), state.reach))
    return AxisState(
        "local", field, out_units, nxt.reach, covers=_and(nxt.full(size), field.unit_covers(size, out_units))
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
            return _step(h, Axis.GLOBAL, hw[0], 0), _step(w, Axis.GLOBAL, hw[1], 0), True
        if geometry != (Axis.POINT, Axis.POINT):
            return _step(h, Axis.UNKNOWN, hw[0], 0), _step(w, Axis.UNKNOWN, hw[1], 0), True
        return state
    assert not isinstance(geometry, str)
    units = out_shape[2:] if len(out_shape) == 4 else (0, 0)
    return _step(h, geometry[0], hw[0], units[0]), _step(w, geometry[1], hw[1], units[1]), False


def _union(parts: list[tuple[Interval, ...] | None]) -> tuple[Interval, ...] | None:
    return None if any(p is None for p in parts) else _merge([iv for p in parts for iv in p or ()])


def _merge_axis(states: list[AxisState], size: int) -> tuple[AxisState, bool]:
    """The field of an op that reads several maps (an add, a concatenation, a gate): each output
    unit reads the same unit of every input (a one-unit map, broadcast, is read by all). Returns
    the state and whether the inputs were aligned (equal jumps: the union is a regular field)."""
    if any(s.status == "unknown" for s in states):
        return AxisState("unknown", None, states[0].units, None), True
    counts = [len(s.sets) if s.sets is not None else s.units for s in states]  # irregular: one set per unit
    units = max(counts)
    if any(s.status == "global" for s in states):
        reach = _union([s.reach if s.sets is None else _merge([iv for u in s.sets for iv in u]) for s in states])
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
            "local", field, units, reach, covers=_and(nxt.full(size), field.unit_covers(size, units))
        ), True
    if units > EXPLICIT_UNITS or any(c not in (1, units) for c in counts):
        return AxisState("unknown", None, units, None), aligned
    explicit = [
        s.sets if s.sets is not None else _explicit(s, [[j] for j in range(s.units)], size).sets for s in states
    ]
    before = [_extents(s) for s in states]
    sets, extents = [], []
    for i in range(units):
        merged = _merge([iv for e in explicit for iv in (e or ((),))[i if len(e or ()) == units else 0]])
        if merged is None or any(e is None for e in explicit):
            return AxisState("unknown", None, units, None), aligned
        sets.append(merged)
        spans = [e[i if len(e) == units else 0] for e in before if e]
        spans_known = [x for x in spans if x is not None]
        extents.append((min(a for a, _ in spans_known), max(b for _, b in spans_known)) if spans_known else None)
    covers = any(u == ((0, size - 1),) for u in sets)
    reach = _merge([iv for u in sets for iv in u])
    rf, kept = _spans(extents)
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
    explicit = [s.sets if s.sets is not None else _explicit(s, [[j] for j in range(s.units)], size).sets
                for s in states]  # fmt: skip
    if any(e is None or len(e) != units for e in explicit):
        return AxisState("local", field, units, _union([s.reach for s in states]))
    sets = tuple(_merge([iv for e in explicit for iv in (e or ())[i]]) or () for i in range(units))
    reach = _merge([iv for u in sets for iv in u])
    extents = tuple(_union_extent([_extents(s)[i] for s in states]) for i in range(units))
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
            state = (_step(state[0], Axis.UNKNOWN, size_h, 0), _step(state[1], Axis.UNKNOWN, size_w, 0), state[2])
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
