"""Views of the roofline and storage sections: time and bytes per layer, per batch and per format."""

from __future__ import annotations

from ...metrics.storage import QUANTISED
from ...ops import NEUTRAL_KINDS
from ...report.model import Report
from ...report.sizing import BenchRun, RooflineLayer, RooflinePoint, StorageRow
from .. import units
from ..views import Column, View
from .layers import _title, _warned


def seconds(s: float) -> str:
    """A time to three significant figures in the unit its size calls for, trailing zeros kept so a
    column reads evenly: 2.40 µs, 30.0 ns, 4.56 ms, 1,234 s."""
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if s >= scale * 0.9995 or unit == "ns":  # 999.7 µs rounds to 1.00 ms, not "1000 µs"
            value = s / scale
            return f"{value:,.0f} {unit}" if value >= 999.5 else f"{_three_figures(value)} {unit}"
    raise AssertionError  # the loop always returns


def _three_figures(v: float) -> str:
    for decimals in (2, 1, 0):
        rounded = round(v, decimals)
        if rounded < 10 ** (3 - decimals) or decimals == 0:
            return f"{rounded:.{decimals}f}"
    raise AssertionError


def rate(flops_per_s: float) -> str:
    return units.si(flops_per_s, "FLOP/s")


def _per_byte(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def _ceiling(images_per_s: float | None) -> str:
    if images_per_s is None:
        return "no finite images/s ceiling (nothing to compute or move)"
    return f"at most {images_per_s:,.1f} images/s"


def roofline_views(report: Report, all_layers: bool = False) -> list[View]:
    roof = report.roofline
    assert roof is not None
    d = roof.device
    first = roof.points[0]
    kinds = {r.name: r.kind for r in report.layers}
    rows = [x for x in first.layers if all_layers or kinds.get(x.name) not in NEUTRAL_KINDS]
    what = "train step (forward + backward)" if roof.train else "inference forward"
    cols = [
        Column("Layer", lambda x: x.name, justify="left"),
        Column("FLOPs", lambda x: x.flops, units.count, compact=units.si),  # what a roofline weighs
        Column("Bytes moved", lambda x: x.bytes, units.count, compact=lambda v: units.si(v, "B")),
        Column("FLOP/byte", lambda x: x.intensity, _per_byte),
        Column("Bound", lambda x: x.bound, justify="left"),
        Column("Time", lambda x: x.time_s, seconds),
        Column("Share", lambda x: x.share, lambda v: f"{v:.1f}%", drop=2),
        Column("Compute-bound from batch", _turnover, drop=1),
    ]
    ridge = f"{d.ridge:,.0f}" if d.ridge >= 10 else f"{d.ridge:.2g}"  # a CPU's ridge can be below 1
    notes = [
        f"{d.title}: {rate(d.peak_flops)} dense {d.math} peak, {units.si(d.bandwidth, 'B/s')} bandwidth, ridge "
        f"{ridge} FLOP/byte ({d.source}{'; ' + d.note if d.note else ''}). Sparse peaks (2x) are not used.",
        f"Latency at batch {first.batch}: at least {seconds(first.latency_s)}; "
        f"{_ceiling(first.images_per_s)}; {first.compute_bound_share:.0f}% of the time in compute-bound layers.",
        f"Time: {roof.convention}.",
        f"Bytes moved: {report.traffic.convention if report.traffic else ''}.",
    ]
    hidden = sum(x.share for x in first.layers if x not in rows)
    if hidden >= 0.05:
        notes.insert(
            2, f"Rows not shown (ReLU, Dropout, flatten) take {hidden:.1f}% of the time: --all-layers shows them."
        )
    per_layer = View(_title(report, f"Roofline, {what}, batch {first.batch}"), cols, rows, _warned(report, notes),
                     lambda x: "bold" if x.bound == "compute" else None)  # fmt: skip
    batches = [
        Column("Batch", lambda p: p.batch),
        Column("FLOPs", lambda p: p.flops, units.count, compact=units.si, drop=2),
        Column("Bytes moved", lambda p: p.bytes, units.count, compact=lambda v: units.si(v, "B"), drop=1),
        Column("Latency (at least)", lambda p: p.latency_s, seconds),
        Column("Images/s (at most)", lambda p: p.images_per_s, lambda v: "no limit" if v is None else f"{v:,.1f}"),
        Column("Compute-bound time", lambda p: p.compute_bound_share, lambda v: f"{v:.0f}%"),
    ]
    shown = {x.name for x in rows}
    verdict = _memory_bound(roof.points, shown)
    return [per_layer, View(f"By batch on {d.title} ({d.math})", batches, roof.points, [verdict])]


def _turnover(x: RooflineLayer) -> str:
    if x.flops is None:
        return "-"
    return "never" if x.turnover_batch is None else f"{x.turnover_batch:,}"


def _memory_bound(points: list[RooflinePoint], shown: set[str]) -> str:
    """The memory-bound layers that take the most time at the last batch, among the rows the table
    shows (a hidden ReLU is not named; their share together is, where it counts)."""
    last = points[-1]
    bound = [x for x in last.layers if x.bound == "memory" and x.share >= 1]
    slow = sorted((x for x in bound if x.name in shown), key=lambda x: -x.share)[:3]
    hidden = sum(x.share for x in last.layers if x.bound == "memory" and x.name not in shown)
    rest = f"; the rows not shown (--all-layers) add {hidden:.0f}%" if hidden >= 1 else ""
    if not slow:
        return f"At batch {last.batch} no layer shown that takes 1% of the time is memory-bound{rest}."
    names = ", ".join(f"{x.name} ({x.share:.0f}%)" for x in slow)
    return (
        f"Memory-bound at batch {last.batch}: {names}{rest}. A layer that is compute-bound from 'never' stays below "
        "the ridge at any batch: its activations alone move too many bytes per FLOP."
    )


def storage_views(report: Report) -> list[View]:
    s = report.storage
    assert s is not None
    cols = [
        Column("Format", lambda r: r.format, justify="left"),
        Column("Weights", lambda r: r.weight_bytes, units.count, compact=lambda v: units.si(v, "B"), drop=3),
        Column("Other", lambda r: r.other_bytes, units.count, compact=lambda v: units.si(v, "B"), drop=2),
        Column("Total bytes", lambda r: r.total_bytes, units.count),
        Column("Decimal", lambda r: r.total_bytes, units.decimal),
        Column("Binary", lambda r: r.total_bytes, units.binary),
        Column("How", _how, justify="left", drop=1),
    ]
    c = s.checkpoint_bytes
    formats: dict[str, list[str]] = {}  # each scheme once, with the formats that follow it
    for r in s.rows:
        formats.setdefault(r.scheme, []).append(r.format)
    notes = [
        "How: " + " ".join(f"{', '.join(names)}: {scheme}." for scheme, names in formats.items()),
        f"{s.quantised_params:,} of {s.params:,} parameters are conv and linear weights (what fp8, int8 and int4 "
        "store in fewer bits). MB = 10^6 bytes, MiB = 2^20 bytes: torchvision's '527.8 MB' for VGG16 is 527.8 MiB.",
        f"Checkpoint {s.checkpoint_file}: {units.bytes_full(c)}; {s.checkpoint_note}.",
        "Not known here: " + "; ".join(s.not_known) + ".",
    ]
    # the weights' sizes depend on the model alone: the title names no input
    title = _title(report, "Storage of the weights").split(", input ")[0]
    return [View(title, cols, s.rows, _warned(report, notes), _bold_fp32)]


def _how(row: StorageRow) -> str:
    """The scheme in a few words; the notes give it in full."""
    if row.format in QUANTISED:
        return f"weights {row.bits}-bit + scales"
    return f"all at {row.bits} bits"


def _bold_fp32(row: StorageRow) -> str | None:
    return "bold" if row.format == "fp32" else None


def bench_views(report: Report, all_layers: bool = False) -> list[View]:
    bench = report.bench
    assert bench is not None
    what = "training steps" if bench.train else "forward passes"
    options = [o for o, on in (("channels-last", bench.channels_last), ("compiled", bench.compiled)) if on]
    several = len({r.dtype for r in bench.runs}) > 1
    cols = [
        *([Column("Dtype", lambda r: r.dtype, justify="left")] if several else []),
        Column("Batch", lambda r: r.batch),
        Column("Runs", lambda r: r.iterations, drop=5),
        Column("Median", lambda r: r.median_s, seconds),
        Column("p90", lambda r: r.p90_s, seconds, drop=4),
        Column("Images/s", lambda r: r.images_per_s, lambda v: f"{v:,.1f}"),
        Column("Achieved", lambda r: r.achieved_flops, rate, compact=lambda v: units.si(v, "FLOP/s")),
        Column("Of peak", lambda r: r.peak_percent, lambda v: "-" if v is None else f"{v:.1f}%", drop=1),
        Column("Peak memory", lambda r: r.peak_memory_bytes, lambda v: "-" if v is None else units.binary(v), drop=2),
        Column("Estimate", lambda r: r.estimate_bytes, units.binary, drop=3),  # goes first: it is the tool's own
    ]
    peaks = dict.fromkeys((r.peak_math, r.peak_flops) for r in bench.runs)  # each math once, in run order
    known = ", ".join(f"{rate(flops)} dense {math}" for math, flops in peaks if flops)
    unknown = [math for math, flops in peaks if not flops]
    peak = "; ".join(
        [*([f"{known} ({bench.peak_source})"] if known else []),
         *([f"none known for {bench.device_name} at {', '.join(unknown)} (--device-spec NAME says whose to use)"]
           if unknown else [])]
    )  # fmt: skip
    dtypes = ", ".join(dict.fromkeys(r.dtype for r in bench.runs))
    notes = [
        f"{bench.device_name} ({bench.device}), {dtypes}{', ' + ', '.join(options) if options else ''}: "
        f"timed by {bench.method}; peak {peak}.",
        f"Achieved = the report's {'train FLOPs' if bench.train else 'FLOPs'} (2 x MACs) / median time. Peak memory: "
        f"{bench.memory_convention}; estimate: {'training total' if bench.train else 'inference required'} bytes.",
        f"Weights {bench.weights}.",
    ]
    if "tf32" in {r.peak_math for r in bench.runs}:
        notes.append("float32 convolutions run as TF32 on this GPU (torch.backends.cudnn.allow_tf32, on by torch's "
                     "default), so the fraction is of the TF32 peak; set it False to time IEEE float32.")  # fmt: skip
    if any(r.stopped for r in bench.runs):
        notes.append("Stopped by Ctrl-C: the table has the runs done (Runs: the iterations timed in each); the runs "
                     "after its last row were not made.")  # fmt: skip
    m, i = report.model, report.input
    shape = "x".join(map(str, i.shape[1:]))
    title = f"Measured {what}: {m.name}, {shape} per image, {dtypes}, on {bench.device} (FLOPs: closed form)"
    views = [View(title, cols, bench.runs, _warned(report, notes))]
    for run in bench.runs:
        if run.layers:
            views.append(_layer_view(run, report, all_layers))
    return views


def _layer_view(run: BenchRun, report: Report, all_layers: bool) -> View:
    kinds = {r.module: r.kind for r in report.layers}
    rows = [x for x in run.layers or [] if all_layers or kinds.get(x.module) not in NEUTRAL_KINDS]
    cols = [
        Column("Layer", lambda x: x.name, justify="left"),
        Column("Measured", lambda x: x.measured_s, seconds),
        Column("Roofline", lambda x: x.predicted_s, lambda v: "-" if v is None else seconds(v)),
        Column("Measured / roofline", lambda x: x.ratio, lambda v: "-" if v is None else f"{v:,.1f}x"),
    ]
    notes = ["Each module timed with hooks (synchronised on CUDA), median of its runs; the roofline assumes the "
             "device's peaks, so the ratio is how far from them each layer runs."]  # fmt: skip
    return View(f"Per layer at batch {run.batch}, {run.dtype}", cols, rows, notes)
