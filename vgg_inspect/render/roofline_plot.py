"""The roofline picture: the device's two roofs on log-log axes (attainable FLOP/s against FLOPs per
byte) and each layer of the first batch as a point at its intensity, on the roof it is bound by;
the ridge point is marked, and the other batches' points follow their layers to the right."""

from __future__ import annotations

import math

from ..ops import LayerKind
from ..report.model import Report
from . import units
from .diagram import COLOURS, _figure, picture_name, save

FORMATS = ("png", "svg", "pdf")


def draw_roofline(report: Report, fmt: str) -> bytes:
    roof = report.roofline
    assert roof is not None
    if fmt not in FORMATS:
        from ..errors import VggInspectError

        raise VggInspectError(f"--plot takes a .png, .svg or .pdf file, got '.{fmt}'")
    d = roof.device
    kinds = {r.name: r.kind for r in report.layers}
    fig = _figure(8.5, 5.5)
    ax = fig.add_subplot()
    points = [(p.batch, x) for p in roof.points for x in p.layers if x.intensity]
    lows = [x.intensity for _, x in points if x.intensity] or [1.0]
    lo, hi = min(min(lows), d.ridge) / 4, max(max(lows), d.ridge) * 4
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(xs, [min(d.peak_flops, x * d.bandwidth) for x in xs], color="black", lw=1.6, zorder=1)
    ax.axvline(d.ridge, color="grey", ls=":", lw=1, zorder=0)
    floor = max(d.peak_flops / 1e5, 1)
    ax.annotate(f"ridge {d.ridge:,.0f} FLOP/byte", (d.ridge, floor), textcoords="offset points", xytext=(4, 4),
                fontsize=8, color="grey")  # fmt: skip
    first = roof.points[0].batch
    shown: set[LayerKind] = set()
    labels: dict[tuple[float, float], tuple[float, float, list[str]]] = {}
    for batch, x in points:
        kind = kinds.get(x.name, LayerKind.OTHER)
        colour = COLOURS.get(kind, "#9D755D")
        attained = x.flops / x.time_s if x.flops and x.time_s else 0.0
        label = kind.value if kind not in shown and batch == first else None
        shown.add(kind)
        ax.scatter([x.intensity or lo], [attained], s=28 if batch == first else 14, color=colour, label=label,
                   alpha=1.0 if batch == first else 0.45, zorder=3, edgecolors="none")  # fmt: skip
        if batch == first and x.share >= 1:  # points that coincide (fc6-fc8 at 1 FLOP/byte) share one label
            spot = (round(math.log10(x.intensity or lo), 1), round(math.log10(attained or 1), 1))
            if x.bound == "compute":  # all on the flat roof: one label for them all
                spot = (math.inf, math.inf)
            labels.setdefault(spot, (x.intensity or lo, attained, []))[2].append(picture_name(x.name))
    for spot, (xy, y, names) in labels.items():
        text = ", ".join(names)
        if spot == (math.inf, math.inf) and len(names) > 2:
            text = f"compute-bound: {names[0]} … {names[-1]} ({len(names)} layers)"
        above = spot == (math.inf, math.inf)  # over the flat roof, clear of the points under the ridge
        ax.annotate(text, (xy, y), textcoords="offset points", xytext=(0, 8) if above else (5, -10), fontsize=7)
    flopless = [x.name for x in roof.points[0].layers if not x.intensity]
    if flopless:
        ax.text(0.01, 0.01, f"not drawn: {len(flopless)} layers without FLOPs (pools, ReLU, flatten: memory time only)",
                transform=ax.transAxes, fontsize=7, color="grey")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(floor, d.peak_flops * 3)
    ax.set_xlabel("arithmetic intensity (FLOPs per byte moved)")
    ax.set_ylabel("attainable FLOP/s")
    mode = "train step" if roof.train else "inference"
    batches = ", ".join(str(p.batch) for p in roof.points)
    peaks = f"peak {units.si(d.peak_flops, 'FLOP/s')} (dense), {units.si(d.bandwidth, 'B/s')}"
    ax.set_title(f"{report.model.name} on {d.title}, {d.math}, {mode}, batch {batches}\n{peaks}", fontsize=10)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    others = ", ".join(str(p.batch) for p in roof.points[1:])
    title = f"batch {first} (pale: batch {others})" if others else None
    ax.legend(loc="upper left", fontsize=8, title=title, title_fontsize=8)
    return save(fig, fmt)
