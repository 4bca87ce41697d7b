"""Receptive-field algebra along one axis (after Araujo et al. / google-research receptive_field).

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

from ..ops import Axis, AxisOp, Window, Windows
from ..records import record

Interval = tuple[int, int]  # inclusive
PATTERN_LIMIT = 1024  # intervals kept per pattern; beyond it, holes are not tracked (covers unknown)


def merge_intervals(intervals: list[Interval]) -> tuple[Interval, ...] | None:
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
            result = merge_intervals([*result, *((a + offset, b + offset) for a, b in block)])
            offset += m * step
        n >>= 1
        if n:
            block = merge_intervals([*block, *((a + m * step, b + m * step) for a, b in block)])
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
    return merge_intervals(out)


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


def unit_extents(state: AxisState) -> tuple[Interval | None, ...]:
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


def largest_span(extents: list[Interval | None]) -> tuple[int, tuple[Interval | None, ...]]:
    """The largest theoretical field among the units, and the units' spans."""
    return max((b - a + 1 for a, b in (e for e in extents if e)), default=0), tuple(extents)


def explicit_units(state: AxisState, taps: list[list[int]], size: int) -> AxisState:
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
    before = unit_extents(state)
    period = _period(before) if state.status != "local" or state.sets is not None else None
    sets, extents = [], []
    for reads in taps:
        merged = merge_intervals([iv for j in reads if 0 <= j < len(previous) for iv in previous[j]])
        if merged is None:
            return AxisState("unknown", state.field, state.units, state.reach)
        sets.append(merged)
        # padding taps too: the field is the theoretical span, whatever the image's size
        spans = [e for j in reads if (e := _extent_at(state, before, j, period)) is not None]
        extents.append((min(a for a, _ in spans), max(b for _, b in spans)) if spans else None)
    covers = any(s == ((0, size - 1),) for s in sets)
    rf, kept = largest_span(extents)
    return AxisState("irregular", state.field, state.units, state.reach, rf=rf, covers=covers, sets=tuple(sets),
                     extents=kept)  # fmt: skip


def _taps(op: Window | Windows, out_units: int) -> list[list[int]]:
    if isinstance(op, Windows):
        return [list(range(a, b)) for a, b in op.bounds]
    return [[i * op.stride - op.padding + t * op.dilation for t in range(op.kernel)] for i in range(out_units)]


def both_known(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a and b


def step_axis(state: AxisState, op: AxisOp, size: int, out_units: int) -> AxisState:
    if state.status in ("unknown", CONSTANT) or op is Axis.POINT:
        return state
    if op is Axis.UNKNOWN:
        return AxisState("unknown", state.field, state.units, state.reach)
    if op is Axis.GLOBAL or state.status == "global":
        if state.field is None:
            return AxisState("unknown", None, state.units, None)
        reach = state.reach if state.sets is None else merge_intervals([iv for unit in state.sets for iv in unit])
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
        exact = explicit_units(state, _taps(op, out_units), size)
        if state.status != "local" or not isinstance(op, Window) or exact.sets is None:
            return exact
        reach = merge_intervals([iv for unit in exact.sets for iv in unit])  # the span algebra still gives rf and jump
        return AxisState("local", state.field.through(op), out_units, reach, covers=exact.covers, sets=exact.sets,
                         extents=exact.extents)  # fmt: skip
    field = state.field.through(op)
    nxt = AxisState("local", field, out_units, _intersect(field.reach(out_units), state.reach))
    return AxisState(
        "local", field, out_units, nxt.reach, covers=both_known(nxt.full(size), field.unit_covers(size, out_units))
    )
