"""Figures people quote about VGG, traced back to the quantity that produces them.

``quantities`` lists every count and byte size a report can produce under each convention (with
or without bias, MACs or FLOPs, each memory convention, per dtype); ``match`` finds which of them
gives a figure as written (``1728``, ``30.94G``, ``93MB``, ``527.8MiB``), at the precision written,
or names the nearest. ``circulation`` checks the figures that circulate in tutorials for VGG16.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import Any

from ..errors import VggInspectError
from ..ops import LayerKind
from ..records import record
from ..scales import BYTE_SCALE, COUNT_SCALE, UNIT_NAMES, rounds_to

DTYPES = (("float32", 4), ("float16/bfloat16", 2))
_FIGURE_RE = re.compile(r"^\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


@record(frozen=True)
class Quantity:
    what: str  # "fc6 weights (no bias)", "total MACs", "weights, float32"...
    value: int
    kind: str  # "count" or "bytes"


@record(frozen=True)
class Figure:
    text: str
    number: Decimal  # as written, in its unit
    unit: str  # "", K, M, G, T (counts) or B, KB..., KiB... (bytes)
    kind: str  # "count" or "bytes"

    def scale(self) -> int:
        return (COUNT_SCALE if self.kind == "count" else BYTE_SCALE)[self.unit.upper()]

    def holds(self, value: int, unit: str | None = None) -> bool:
        """Does ``value`` print as this figure at the precision written (in ``unit``, default its own)?"""
        return rounds_to(value, BYTE_SCALE[unit.upper()] if unit else self.scale(), self.number)


def parse_figure(text: str) -> Figure:
    m = _FIGURE_RE.match(text)
    unit = m.group(2) if m else ""
    if not m or (unit.upper() not in COUNT_SCALE and unit.upper() not in BYTE_SCALE):
        raise VggInspectError(
            f"unreadable figure '{text}': expected a number with an optional unit, e.g. 1728, 138.36M, 30.94G, "
            "93MB or 527.8MiB",
            param="figure",
        )
    number = Decimal(m.group(1).replace(",", "").replace("_", ""))
    kind = "count" if unit.upper() in COUNT_SCALE else "bytes"
    return Figure(text.strip(), number, UNIT_NAMES.get(unit.upper(), unit.upper() if kind == "count" else unit), kind)


def quantities(report: Any) -> list[Quantity]:
    """Every quantity the report gives, by convention (report: a ``Report``)."""
    out: list[Quantity] = []
    t = report.totals
    itemsize = t.weight_bytes // t.params if t.params else 4

    def count(what: str, value: int | None) -> None:
        if value:
            out.append(Quantity(what, int(value), "count"))

    def elements(what: str, n: int, values: bool = True) -> None:
        if values:
            count(what + " (values)", n)
        for dtype, size in DTYPES:
            out.append(Quantity(f"{what}, {dtype}", n * size, "bytes"))

    count("total parameters (with biases)", t.params)
    count("conv parameters", t.params_by_kind.conv)
    count("FC parameters", t.params_by_kind.fc)
    count("total MACs (conv + linear weights)", t.macs)
    count("total FLOPs (2 x MACs)", t.flops)
    count("forward + backward FLOPs", t.train_flops)
    count("conv MACs", t.macs_by_kind.conv)
    count("FC MACs", t.macs_by_kind.fc)
    bias = sum(r.extra_flops.get("bias", 0) for r in report.layers)
    count("MACs + bias adds (torchinfo's mult-adds)", t.macs + bias)
    elements("weights", t.params, values=False)
    elements("sum of layer outputs with the input (CS231n convention)", t.activation_bytes // itemsize)
    elements("largest input + output pair (inference peak)", t.inference_peak_bytes // itemsize)
    elements("saved for backward", t.training_saved_bytes // itemsize)
    for r in report.layers:
        if r.params:
            bias_count = r.extra_flops.get("bias", 0) and (r.output_shape[1] if len(r.output_shape) > 1 else 0)
            count(f"{r.name} parameters (with bias)", r.params)
            if bias_count:
                count(f"{r.name} weights (no bias)", r.params - bias_count)
        if r.macs:
            count(f"{r.name} MACs", r.macs)
            count(f"{r.name} FLOPs", r.flops)
        if r.kind in (LayerKind.CONV, LayerKind.POOL, LayerKind.FC, LayerKind.LRN):
            n = 1
            for d in r.output_shape:
                n *= d
            elements(f"{r.name} output {'x'.join(map(str, r.output_shape[1:]))}", n)
    return out


@record
class Match:
    figure: str
    found: list[str]  # the quantities that give it, as written
    note: str  # how it matches, or what is nearest


def _one_digit_off(a: str, b: str) -> bool:
    """Two digit strings one slip apart: one digit changed, added or dropped."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return len(long) == len(short) + 1 and any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# Figures in circulation that no quantity gives and no typo explains, as written (upper case, no
# spaces): the claim of the claims table that traces each.
CIRCULATING = {"93MB": "93 MB / 96 MB per image (forward)", "96MB": "93 MB / 96 MB per image (forward)",
               "10MB": "block-5 output 512x7x7 needs ~10MB"}  # fmt: skip
LONGEST_DIGITS = 40  # past this a figure is no count of any VGG: the digit checks are skipped


def match(figure_text: str, report: Any, claims: list[Claim] | None = None) -> Match:
    """Which quantity gives a figure as written; else a figure in circulation it is (``claims``:
    the VGG16 ones), a typo (the digits reordered, one digit slipped), a shifted decimal point, or
    the nearest quantity. Exact at any size (no float)."""
    fig = parse_figure(figure_text)
    found_quantities = quantities(report)
    same = [q for q in found_quantities if q.kind == fig.kind]
    exact = [q for q in same if fig.holds(q.value)]
    if exact:
        how = "exactly" if fig.scale() == 1 and "." not in figure_text else f"at the precision written ({fig.text})"
        return Match(fig.text, [q.what for q in exact], f"matches {how}")
    if fig.kind == "bytes":  # the other unit family: MB read as MiB, or the reverse
        other = {"KB": "KiB", "MB": "MiB", "GB": "GiB", "TB": "TiB", "KiB": "KB", "MiB": "MB", "GiB": "GB", "TiB": "TB"}
        alt = other.get(fig.unit)
        swapped = [q for q in same if alt and fig.holds(q.value, alt)]
        if swapped:
            return Match(fig.text, [q.what for q in swapped], f"matches if {fig.unit} is read as {alt}")
    with localcontext() as ctx:  # a Decimal, exact: as many digits as the figure was written with
        ctx.prec = len(fig.number.as_tuple().digits) + len(str(fig.scale()))
        target = fig.number * fig.scale()
    if target == 0:
        return Match(fig.text, [], f"0 is no {'count' if fig.kind == 'count' else 'size'} of this model")
    integral = target == target.to_integral_value() and target.adjusted() < LONGEST_DIGITS
    digits = str(int(target)) if integral else ""
    for q in same if digits else []:  # a typo: the right digits in another order, or one digit slipped
        if sorted(str(q.value)) == sorted(digits) and q.value != int(target):
            return Match(fig.text, [q.what], f"the digits of {q.what} = {q.value:,} in another order (a typo)")
    for q in same if digits else []:
        if len(digits) >= 4 and _one_digit_off(str(q.value), digits):
            return Match(fig.text, [q.what], f"{q.what} = {q.value:,} with one digit slipped (a typo)")
    written = CIRCULATING.get(fig.text.replace(" ", "").upper())
    for claim in claims or []:  # no typo, but a figure the claims table traces
        if claim.claim == written:
            return Match(
                fig.text,
                [],
                f"a figure in circulation: {claim.claim} ({claim.source}); {claim.verdict}; "
                f"the model's: {claim.correct}",
            )
    for q in same:  # a digit slip: the right digits with the comma or decimal point moved
        for k in (-3, -2, -1, 1, 2, 3):
            if abs(q.value * Decimal(10) ** k - target) / target < Decimal("1e-3"):
                return Match(fig.text, [q.what], f"the digits of {q.what} = {q.value:,}, off by a factor of 10^{k}")
    nearest = min(same, key=lambda q: abs(q.value - target) / target, default=None)
    if nearest is None:
        return Match(fig.text, [], "no quantity of this kind")
    off = 100 * (nearest.value - target) / target
    ratio = f"{off:+.1f}%" if abs(off) < 10**6 else f"{nearest.value / target:.3g} times the figure"
    return Match(fig.text, [], f"no convention gives it; nearest: {nearest.what} = {nearest.value:,} ({ratio})")


@record
class Claim:
    claim: str
    source: str  # where the figure comes from
    correct: str  # the right figure, from the report
    verdict: str


def circulation(report: Any) -> list[Claim]:
    """The VGG16 figures that circulate in tutorials, each against the report's own numbers."""
    t = report.totals
    fc6, fc7, conv1 = report.layer("fc6"), report.layer("fc7"), report.layer("conv1_1")
    fc6_w, fc7_w, conv1_w = fc6.params - 4096, fc7.params - 4096, conv1.params - conv1.output_shape[1]
    pool5 = report.layer("pool5")
    pool5_values = pool5.output_shape[1] * pool5.output_shape[2] * pool5.output_shape[3]
    values = t.activation_bytes // 4
    return [
        Claim("138M parameters", "all weights and biases", f"{t.params:,} = {t.params / 1e6:.2f} M",
              "right" if round(t.params / 1e6) == 138 else "wrong"),
        Claim("139,357,544 parameters", "a typo copied from page to page",
              f"{t.params:,}", "wrong" if t.params != 139_357_544 else "right"),
        Claim("7x7x512x4096 = 1027,645,444", f"fc6's {fc6.params:,} parameters (with bias) with a digit added",
              f"{fc6_w:,} weights; {fc6.params:,} with bias", "wrong" if fc6_w != 1_027_645_444 else "right"),
        Claim("4096x4096 = 16,781,321", "fc7's weights, digits swapped",
              f"{fc7_w:,} weights; {fc7.params:,} with bias", "wrong" if fc7_w != 16_781_321 else "right"),
        Claim("both FC-4096 layers have ~102M parameters", "fc6's count given to fc7 too",
              f"fc6 {fc6.params / 1e6:.1f} M, fc7 {fc7.params / 1e6:.1f} M", "wrong: only fc6"),
        Claim("1,728 parameters in the first conv", "3·3·3·64 weights, bias left out",
              f"{conv1_w:,} weights; {conv1.params:,} with bias",
              "weights only" if conv1_w == 1728 else "wrong"),
        Claim("15.5 GFLOPs", "multiply-accumulates, called FLOPs (torchvision's 'GFLOPS', fvcore)",
              f"{t.macs:,} MACs = {t.macs / 1e9:.2f} G", "right, if read as MACs"),
        Claim("30.9 GFLOPs", "2 FLOPs per multiply-accumulate (FlopCounterMode)",
              f"{t.flops:,} FLOPs = {t.flops / 1e9:.2f} G", "right"),
        Claim("93 MB / 96 MB per image (forward)", "CS231n: '24M * 4 bytes ~= 93MB'; 96 MB is 24M x 4 B in decimal",
              f"{values:,} values = {t.activation_bytes / 2**20:.1f} MiB = {t.activation_bytes / 1e6:.1f} MB",
              "wrong: their own per-layer rows add up to 15.2M values, not 24M"),
        Claim("block-5 output 512x7x7 needs ~10MB", "25,088 values taken for 2.5M",
              f"{pool5_values:,} values = {pool5_values * 4:,} B = {pool5_values * 4 / 2**10:.0f} KiB (float32)",
              "wrong: 100 times too large"),
        Claim("500+ MB weight file", "float32 weights",
              f"{t.weight_bytes:,} B = {t.weight_bytes / 2**20:.1f} MiB = {t.weight_bytes / 1e6:.1f} MB", "right"),
    ]  # fmt: skip
