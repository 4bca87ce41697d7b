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

from collections.abc import Sequence

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

    def full(self, size: int) -> bool | None:
        """Does any unit read every pixel at all? (A unit reads only pixels that reach it.)"""
        return None if self.reach is None else self.reach == ((0, size - 1),)


EXPLICIT_UNITS = 4096  # irregular layers keep each unit's pixels; beyond this many units, unknown


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
    sets = []
    for reads in taps:
        merged = _merge([iv for j in reads if 0 <= j < len(previous) for iv in previous[j]])
        if merged is None:
            return AxisState("unknown", state.field, state.units, state.reach)
        sets.append(merged)
    spans = [s[-1][1] - s[0][0] + 1 for s in sets if s]
    covers = any(s == ((0, size - 1),) for s in sets)
    return AxisState(
        "irregular", state.field, state.units, state.reach, rf=max(spans, default=0), covers=covers, sets=tuple(sets)
    )


def _taps(op: Window | Windows, out_units: int) -> list[list[int]]:
    if isinstance(op, Windows):
        return [list(range(a, b)) for a, b in op.bounds]
    return [[i * op.stride - op.padding + t * op.dilation for t in range(op.kernel)] for i in range(out_units)]


def _and(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a and b


def _step(state: AxisState, op: AxisOp, size: int, out_units: int) -> AxisState:
    if state.status == "unknown" or op is Axis.POINT:
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
        return AxisState("local", state.field.through(op), out_units, reach, covers=exact.covers, sets=exact.sets)
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


def receptive_fields(
    layers: Sequence[tuple[Op, Shape, Shape]], input_hw: tuple[int, int], chained: Sequence[bool] = ()
) -> list[LayerField]:
    """The field of every layer's output units, in input coordinates. ``layers``: (op, input
    shape, output shape) in execution order; ``chained[i]`` False: layer i does not read layer
    i-1's output (a branch or a join), so the algebra of one chain no longer holds from there."""
    size_h, size_w = input_hw
    h = AxisState("local", INPUT_FIELD, size_h, ((0, size_h - 1),), covers=size_h == 1)
    w = AxisState("local", INPUT_FIELD, size_w, ((0, size_w - 1),), covers=size_w == 1)
    flattened = False
    out: list[LayerField] = []
    for index, (op, in_shape, out_shape) in enumerate(layers):
        geometry = op.geometry(in_shape)
        if index < len(chained) and not chained[index]:
            h, w = _step(h, Axis.UNKNOWN, size_h, 0), _step(w, Axis.UNKNOWN, size_w, 0)
        elif geometry == "flatten":
            flattened = True
        elif flattened:  # spatial axes merged: only a layer that sees everything stays exact
            mixes = geometry[0] is Axis.GLOBAL or geometry[1] is Axis.GLOBAL
            if mixes:
                h, w = _step(h, Axis.GLOBAL, size_h, 0), _step(w, Axis.GLOBAL, size_w, 0)
            elif geometry != (Axis.POINT, Axis.POINT):
                h, w = _step(h, Axis.UNKNOWN, size_h, 0), _step(w, Axis.UNKNOWN, size_w, 0)
        else:
            assert not isinstance(geometry, str)
            units = out_shape[2:] if len(out_shape) == 4 else (0, 0)
            h = _step(h, geometry[0], size_h, units[0])
            w = _step(w, geometry[1], size_w, units[1])
        out.append(LayerField(h, w))
    return out


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
