"""The API's documents for sizing a backbone: bytes moved and rooflines on a device, storage per
number format, measured runs, and per-group subtotals (``vgg_inspect.api`` re-exports them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from .. import validate
from ..errors import VggInspectError
from ..guard import containing
from ..metrics.devices import DeviceSpec
from ..report.model import Report
from ..report.sizing import BenchRun
from ..request import Request, checked
from . import analyze_request
from .analysis import _analysis


def _batches(batches: Iterable[int] | int) -> list[int]:
    found = [batches] if isinstance(batches, int) else list(batches)
    if not found:
        raise VggInspectError("{param} needs at least one batch size", param="batch")
    return list(dict.fromkeys(validate.count(b, "batch") for b in found))


@containing
def roofline(
    req: Request,
    *,
    device_spec: str | None = "h100-sxm",
    peak_tflops: float | None = None,
    bandwidth_tbs: float | None = None,
    batches: Iterable[int] | int = (1,),
    train: bool = False,
    tf32: bool = False,
    refresh: bool = False,
) -> Report:
    """The report at the first batch, with its traffic (bytes moved, FLOPs per byte) and a roofline
    on a device: a spec by name, ``cpu`` (this machine's measured peaks), or ``peak_tflops`` and
    ``bandwidth_tbs`` for any other; one point per batch."""
    req = checked(req)
    from ..metrics import devices
    from ..report import speed

    train, tf32, refresh = (validate.flag(v, n) for v, n in ((train, "train"), (tf32, "tf32"), (refresh, "refresh")))
    math = devices.math_mode(req.canonical_dtype(), tf32)
    if peak_tflops is not None or bandwidth_tbs is not None:
        if peak_tflops is None or bandwidth_tbs is None:
            raise VggInspectError("--peak-tflops and --bandwidth describe a device together: give both")
        spec = devices.custom_spec(peak_tflops, bandwidth_tbs, math)
    elif str(device_spec).strip().lower() == "cpu":
        from ..runtime import peaks

        spec = peaks.cpu_spec(req.canonical_dtype(), refresh=refresh)
    else:
        spec = devices.device_spec(str(device_spec))
    info = speed.device_info(spec, math)
    sections: dict[int, Any] = {}
    first: Report | None = None
    for b in _batches(batches):
        report, traces = _analysis(req.replace(batch=b))
        sections[b] = speed.traffic(report, traces, req.input_requires_grad)
        first = first or report
    assert first is not None
    first.traffic = sections[first.input.shape[0]]
    first.roofline = speed.roofline(sections, info, train)
    return first


@containing
def storage(req: Request, *, checkpoint_file: str = "model.pt") -> Report:
    """The report with the weights' sizes per number format and the size of the file
    ``torch.save(model.state_dict(), checkpoint_file)`` writes: every tensor of the state dict, once."""
    req = checked(req)
    if not isinstance(checkpoint_file, str) or not os.path.basename(checkpoint_file).strip():
        raise VggInspectError(f"{{param}} must be a file name such as model.pt, got {checkpoint_file!r}",
                              param="checkpoint_file")  # fmt: skip
    from ..report import speed

    base = req.replace(dtype="float32")
    if base.is_framework_file:  # the state dict of the network rebuilt in torch from its rows
        from ..network.layout import LayerDef
        from ..network.state import builtin_state

        report, traces = _analysis(base)
        state = builtin_state([LayerDef(t.module, t.op) for t in traces])
        report.warnings.append("storage is that of the network rebuilt in torch from the file's rows "
                               "(torch.save of its state dict), not the file's own size")  # fmt: skip
    elif base.is_user_code:
        from ..runtime.state import state_of
        from .analysis import _user_module

        report, _, module = _user_module(base, (), "momentum")
        state = state_of(module)
    else:
        from ..network import layer_defs
        from ..network.state import builtin_state

        report = _analysis(base)[0]
        state = builtin_state(layer_defs(base.spec()))
    report.storage = speed.storage(report, state, checkpoint_file)
    return report


def _dtypes(req: Request, dtypes: Iterable[str] | str | None) -> list[str]:
    from ..network.dtypes import canonical_dtype

    if dtypes is not None and not isinstance(dtypes, (str, list, tuple)):
        raise VggInspectError(f"dtypes must be a dtype name or a list of them, got {dtypes!r}", param="dtype")
    found = [req.dtype] if dtypes is None else [dtypes] if isinstance(dtypes, str) else list(dtypes)
    if not found:
        raise VggInspectError("{param} needs at least one dtype", param="dtype")
    return list(dict.fromkeys(canonical_dtype(d) for d in found))


@containing
def bench(
    req: Request,
    *,
    batches: Iterable[int] | int = (1,),
    dtypes: Iterable[str] | str | None = None,
    train: bool = False,
    warmup: int = 3,
    iterations: int = 10,
    channels_last: bool = False,
    compile: bool = False,
    per_layer: bool = False,
    device_spec: str | None = None,
    refresh: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Time the model on ``req.device`` (default cpu) for each dtype (default ``req.dtype``) and
    batch: median and p90 latency, images/s, achieved FLOP/s and the fraction of the device's dense
    peak at that dtype, the measured peak memory beside the estimate; ``per_layer``: each module
    timed beside the roofline's prediction; ``refresh``: measure this CPU's peaks again instead of
    reading the cache. The report's other sections are those of the first dtype and batch."""
    req = checked(req)
    from ..report.sizing import Bench
    from ..runtime import bench as b
    from ..runtime.instantiate import check_device, ensure_fits

    warmup, iterations = validate.count(warmup, "warmup", 0), validate.count(iterations, "iterations")
    train, channels_last, compile, per_layer, refresh = (
        validate.flag(v, n) for v, n in ((train, "train"), (channels_last, "channels_last"), (compile, "compile"),
                                         (per_layer, "per_layer"), (refresh, "refresh"))
    )  # fmt: skip
    if per_layer and compile:
        raise VggInspectError("--per-layer times each module with hooks, which a compiled model does not run")
    device = check_device(req.device or "cpu")
    if device.type not in ("cpu", "cuda"):
        raise VggInspectError(f"{{param}} for bench is cpu or cuda[:N], got '{req.device}'", param="device")
    sizes, kinds = _batches(batches), _dtypes(req, dtypes)
    base = req.replace(device=None, init=False)
    # every run analysed and its memory estimated before any model is built: one that cannot fit is
    # refused before the others have run, not after
    analyses = {(d, n): _analysis(base.replace(dtype=d, batch=n)) for d in kinds for n in sizes}
    for (dtype, batch), (report, _) in analyses.items():
        t = report.totals
        ensure_fits(t.training_total_bytes if train else t.inference_required_bytes, device,
                    f"a batch of {batch} at {dtype} (estimated)")  # fmt: skip
    runs: list[BenchRun] = []
    sources_seen: list[str] = []
    first = analyses[kinds[0], sizes[0]][0]  # the report the others' runs join
    for dtype in kinds:
        spec, math = _peak_spec(device, dtype, device_spec, refresh)
        try:
            got = _bench_dtype(base.replace(dtype=dtype), [analyses[dtype, n] for n in sizes], device, spec, math,
                               train=train, warmup=warmup, iterations=iterations, channels_last=channels_last,
                               compile=compile, per_layer=per_layer, on_step=on_step)  # fmt: skip
        except KeyboardInterrupt:  # before this dtype's first timed iteration: keep the runs done
            if not runs:
                raise
            runs[-1].stopped = True
            break
        if spec is not None and spec.name == "cpu" and not refresh and any((r.peak_percent or 0) > 100 for r in got):
            spec = _measured_again(first, spec, dtype, got)
        runs += got
        if spec is not None and got and got[0].peak_flops and spec.source not in sources_seen:
            sources_seen.append(spec.source)
        if got and got[-1].stopped:
            break
    method = ("CUDA events around each iteration, synchronised" if device.type == "cuda" else
              f"time.perf_counter around each iteration, {b.threads()} threads")  # fmt: skip
    memory = ("torch.cuda.max_memory_allocated" if device.type == "cuda" else
              "the tensors held (weights, buffers, input, gradients, optimizer state) plus the peak that one "
              "more step allocates, from torch.profiler's memory events")  # fmt: skip
    lead = runs[0]
    if req.is_framework_file:
        first.warnings.append("bench timed the network rebuilt in torch from the file's rows (one module per row), "
                              "not the file's own runtime")  # fmt: skip
    first.bench = Bench(device=str(device), device_name=b.device_name(device), dtype=lead.dtype, train=train,
                        channels_last=channels_last, compiled=compile, method=method, memory_convention=memory,
                        weights="filled with 1/fan-in, biases 0 (not trained: speed does not depend on the values)",
                        peak_flops=lead.peak_flops, peak_source="; ".join(sources_seen) or None,
                        peak_math=lead.peak_math, runs=runs)  # fmt: skip
    return first


def _measured_again(report: Report, cached: DeviceSpec, dtype: str, runs: list[BenchRun]) -> DeviceSpec:
    """A run beat the cached CPU peak, which was then measured low (under load, say): measure it
    again, hold the runs to the new figure, and say so."""
    from ..runtime import peaks

    spec = peaks.cpu_spec(dtype, refresh=True)
    math = next(iter(spec.peak_tflops))
    peak = spec.peak(math)
    for r in runs:
        r.peak_flops, r.peak_percent = peak, 100 * r.achieved_flops / peak
    still = any((r.peak_percent or 0) > 100 for r in runs)
    report.warnings.append(
        f"this run achieved more than the cached {dtype} peak of this CPU ({cached.peak_tflops[math]:.3g} TFLOP/s, "
        f"measured low): measured again, {spec.peak_tflops[math]:.3g} TFLOP/s"
        + ("; still below the run, so the fraction of peak exceeds 100%" if still else "")
    )
    return spec


def _peak_spec(device: Any, dtype: str, device_spec: str | None, refresh: bool) -> tuple[DeviceSpec | None, str]:
    """The device whose dense peak a run at ``dtype`` is held to (None: none known), and its math."""
    from ..metrics import devices
    from ..runtime import bench as b

    math = b.float32_math(device) if dtype == "float32" else devices.math_mode(dtype)
    name = device_spec or (b.spec_for_cuda(device) if device.type == "cuda" else "cpu")
    if name is None:
        return None, math
    if name == "cpu":
        from ..runtime import peaks

        return peaks.cpu_spec(dtype, refresh=refresh), math
    return devices.device_spec(name), math


def _bench_dtype(
    req: Request,
    analyses: list[tuple[Report, Any]],
    device: Any,
    spec: DeviceSpec | None,
    math: str,
    *,
    train: bool,
    warmup: int,
    iterations: int,
    channels_last: bool,
    compile: bool,
    per_layer: bool,
    on_step: Callable[[str], None] | None,
) -> list[BenchRun]:
    """One dtype's runs, a batch at a time (``analyses``: the report and traces of each), on a model
    built once at that dtype."""
    from ..report import speed
    from ..report.sizing import BenchLayer
    from ..runtime import bench as b
    from ..runtime import model_sources
    from ..runtime.instantiate import ensure_fits, place

    dtype = req.canonical_dtype()
    info = speed.device_info(spec, math) if spec is not None and math in spec.peak_tflops else None
    source: Any
    if req.is_framework_file:  # rebuilt in torch from the description's rows
        source = model_sources.RebuiltSource(analyses[0][1], req.framework_file().path)
    elif req.is_user_code:
        source = model_sources.UserSource(req.your_model())
    else:
        source = model_sources.BuiltinSource(req.spec())
    model = place(source.on_meta(dtype), str(device))  # checked to fit, uninitialised, then filled
    eager = b.prepare(model, channels_last, False)
    runner = b.prepare(eager, False, True) if compile else eager
    runs: list[BenchRun] = []
    for report, traces in analyses:
        batch = report.input.shape[0]
        t = report.totals
        estimate = t.training_total_bytes if train else t.inference_required_bytes
        ensure_fits(estimate - t.weight_bytes - t.buffer_bytes, device, f"a batch of {batch} at {dtype} (estimated)")
        x = b.make_input(tuple(report.input.shape), dtype, device, channels_last)
        try:
            got = b.run(runner, x, b.clock_for(device), train=train, warmup=warmup, iterations=iterations,
                        per_layer=eager if per_layer else None, on_step=on_step)  # fmt: skip
        except KeyboardInterrupt:  # before this batch's first timed iteration: keep the batches done
            if not runs:
                raise
            runs[-1].stopped = True
            break
        median, p90 = b.summary(got.times)
        flops = t.train_flops if train else t.flops
        layers = None
        if per_layer:
            point = speed.point(speed.traffic(report, traces), batch, info, train) if info else None
            predicted = {r.module: x.time_s for r, x in zip(report.layers, point.layers)} if point else {}
            names = {r.module: r.name for r in report.layers}
            layers = [
                BenchLayer(name=names.get(m, m), module=m, measured_s=b.summary(ts)[0], predicted_s=predicted.get(m),
                           ratio=b.summary(ts)[0] / predicted[m] if predicted.get(m) else None)
                for m, ts in got.layer_times.items()
            ]  # fmt: skip
        peak = info.peak_flops if info else None
        runs.append(BenchRun(batch=batch, iterations=len(got.times), median_s=median, p90_s=p90,
                             images_per_s=batch / median, achieved_flops=flops / median,
                             peak_percent=100 * flops / median / peak if peak else None,
                             peak_memory_bytes=got.peak_memory, estimate_bytes=estimate, stopped=got.stopped,
                             layers=layers, dtype=dtype, peak_flops=peak, peak_math=math))  # fmt: skip
        if got.stopped:
            break
    del model, eager, runner
    b.release(device)
    return runs


@containing
def by_group(req: Request, *, by: str = "block", depth: int = 1) -> Report:
    """The report with per-group subtotals (``groups``): by VGG block, or by module path at ``depth``."""
    req = checked(req)
    from ..report.groups import group_rows

    report = analyze_request(req)
    report.groups = group_rows(report, by, depth)
    return report
