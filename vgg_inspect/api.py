"""The Python API: every analysis a command offers, as functions that return typed documents.

Built-in variants are analysed with the closed-form formulas (no torch); the torch runtime is
imported only inside the functions that need a device, a user's module or a measurement. The
functions that may run your model's code run it ``contained`` (``guard``: its prints go to
stderr, its ``sys.exit`` is an ``AnalysisError``). Every
bad argument raises :class:`vgg_inspect.errors.VggInspectError`, a ``ValueError``. The functions
named after a command (``flops``, ``memory``, ``receptive_field``) return its whole document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import validate
from .errors import VggInspectError
from .guard import containing
from .metrics import footprint
from .network import ITEMSIZE, ModelSpec, layer_defs, minimum_input, paper_names
from .ops import ConvKernel
from .ops.traced import LayerTrace, analytical_traces
from .report.assemble import build_report
from .report.model import Budget, EffectiveField, Measured, ModelInfo, Peer, Report, SweepPoint, Totals
from .request import Request

if TYPE_CHECKING:
    from .report.documents import BlockComparison, Diff, Explanation, PaperTable, StackComparison, VariantList
    from .report.model import Identification

__all__ = [
    "Request",
    "analyze",
    "analyze_module",
    "analyze_request",
    "bench",
    "block_comparison",
    "budget",
    "by_group",
    "compare_peers",
    "diff",
    "effective_field",
    "explain",
    "flops",
    "identify",
    "measure",
    "memory",
    "paper_table",
    "pick_layer",
    "receptive_field",
    "roofline",
    "stack_comparison",
    "storage",
    "sweep",
    "variants",
]  # fmt: skip

Analysis = tuple[Report, list[LayerTrace]]


def _model_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(spec.name, spec.config, spec.layers, spec.batch_norm, spec.num_classes, spec.in_channels,
                     spec.weight_layers, spec.head)  # fmt: skip


def _traces(spec: ModelSpec, shape: tuple[int, ...], dtype: str) -> list[LayerTrace]:
    defs = layer_defs(spec)
    labels = paper_names([d.op.kind for d in defs], [d.module for d in defs])
    return analytical_traces([(d.module, d.op) for d in defs], shape, ITEMSIZE[dtype], model=spec.name,
                             labels=labels, min_input=minimum_input(defs))  # fmt: skip


def _builtin(
    req: Request, include: Iterable[str] | str, optimizer: str, kernel: ConvKernel = ConvKernel.EITHER
) -> Analysis:
    """A built-in variant or config list: closed form, or instantiated on ``req.device``. ``kernel``:
    the CPU convolution kernel the closed form assumes at 16 bits (where a device told it)."""
    if req.kwargs:
        raise VggInspectError("{param} apply to your own model (file.py:Name), not to a built-in", param="kwargs")
    spec = req.spec()
    dtype = req.canonical_dtype()
    shape = req.shape(spec)
    req.init_flag()
    traces = _traces(spec, shape, dtype)  # validates the input size before anything is built
    req.checked_init()
    if req.device is None:
        report = build_report(_model_info(spec), shape, traces, dtype=dtype, device=None, analysis="analytical",
                              include=include, optimizer=optimizer, conv_kernel=kernel,
                              input_requires_grad=req.input_requires_grad)  # fmt: skip
    else:
        from .runtime import instantiate, sources, tracer

        module = instantiate.instantiate(spec, device=req.device, dtype=dtype, init=req.init)
        device = instantiate.device_name(module)
        # A built-in VGG never needs execution: the tests prove its rules equal the measurement.
        traces = tracer.trace_module(module, shape, dtype=dtype, execute=False)
        report = build_report(_model_info(spec), shape, traces, dtype=dtype, device=device,
                              analysis="instantiated", include=include, optimizer=optimizer,
                              conv_kernel=instantiate.cpu_conv_kernel(device, dtype),
                              input_requires_grad=req.input_requires_grad)  # fmt: skip
        sources.kernel_warnings(report, module, device, dtype)
    if req.weights is not None:
        _check_weights(report, req.weights, spec)
    return report, traces


def _user(req: Request, include: Iterable[str] | str, optimizer: str) -> Analysis:
    """Your model: loaded (its code runs), built on meta, traced once at operator level."""
    shape = req.user_shape()
    dtype = req.canonical_dtype()
    from .runtime import sources

    report, traces, module = sources.user_report(req, shape, dtype, include, optimizer)
    if req.weights is not None:
        _check_weights(report, req.weights, module)
    return report, traces


def _analysis(req: Request, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Analysis:
    return _user(req, include, optimizer) if req.is_user_code else _builtin(req, include, optimizer)


def _check_weights(report: Report, path: str, model: Any) -> None:
    from .runtime import checkpoint

    report.weights = w = checkpoint.check_weights(path, model)
    if not w.matches:
        report.warnings.append(
            f"{w.path} does not fit this architecture: {len(w.missing)} missing, {len(w.unexpected)} unexpected, "
            f"{len(w.misshaped)} mis-shaped key(s)"
        )


@containing
def analyze_request(req: Request, *, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Report:
    return _analysis(req, include, optimizer)[0]


def analyze(
    model: str | None = None,
    *,
    config: str | None = None,
    batch_norm: bool = False,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: Any = 224,
    batch: int = 1,
    dtype: str = "float32",
    device: str | None = None,
    init: bool = False,
    head: str = "fc",
    include: Iterable[str] | str = (),
    optimizer: str = "momentum",
    kwargs: dict[str, Any] | str | None = None,
) -> Report:
    """Analyse a VGG variant (default vgg16), a custom ``config`` layer list, or your own model
    (``"path/to/file.py:Name"`` or ``"package.module:Name"``: its code runs, traced on meta).

    With ``device`` None the closed-form path runs (no torch). With a device (``cpu``, ``cuda``,
    ``cuda:N``, ``mps``, ``meta``) the model is instantiated there without initialisation (unless
    ``init``) and the report is taken from the module itself. ``kwargs`` go to your model's class
    or factory (a dict, or ``"num_classes=10,batch_norm=true"``).
    """
    req = Request(model, config, batch_norm, num_classes, in_channels, input_size, batch, dtype, device, init, head,
                  kwargs=kwargs)  # fmt: skip
    return analyze_request(req, include=include, optimizer=optimizer)


@containing
def analyze_module(
    module: Any,
    input_shape: Any,
    *,
    name: str | None = None,
    include: Iterable[str] | str = (),
    optimizer: str = "momentum",
    execute: bool | None = None,
    as_built: bool = False,
) -> Report:
    """Analyse any ``nn.Module`` instance by walking it, or running it once on meta tensors."""
    from .runtime import require

    require("torch", "analysing an nn.Module")
    from .runtime import sources

    return sources.module_report(module, input_shape, name=name, include=include, optimizer=optimizer,
                                 execute=execute, as_built=as_built)[0]  # fmt: skip


# --- whole documents, as the commands print them ---


@containing
def flops(
    req: Request,
    *,
    include: Iterable[str] | str = (),
    compare: bool = False,
    peers: Iterable[str] = (),
    sizes: list[tuple[int, int]] | None = None,
) -> Report:
    """The report with its peers (``compare``, or the ``peers`` named) and an input sweep (``sizes``)."""
    report, traces = _analysis(req, include)
    only = tuple(peers)
    if compare or only:
        report.peers = compare_peers(req, report, only, traces)
    if sizes and len(sizes) > 1:
        report.sweep = sweep(req, sizes, include)
    return report


def memory(
    req: Request, *, optimizer: str = "momentum", limit: int | None = None, measured: bool = False, train: bool = False
) -> Report:
    """The report with the largest batches within ``limit`` bytes and, with ``measured``, a real run
    on CUDA (``train``: forward and backward)."""
    if measured and not (req.device or "").startswith("cuda"):
        raise VggInspectError("--measure needs --device cuda (it reads torch.cuda.max_memory_allocated)")
    if train and not measured:
        raise VggInspectError("--train goes with --measure; the estimates always cover training")
    report = analyze_request(req, optimizer=optimizer)
    if limit is not None:
        report.budget = budget(req, limit, optimizer)
    if measured:
        report.measured = measure(req, report, train)
    return report


@containing
def receptive_field(
    req: Request,
    *,
    effective: bool = False,
    layer: str | None = None,
    mode: str = "effective",
    seed: int = 0,
    samples: int = 4,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """The report (every row has its field); with ``effective``, the empirical field of ``layer``."""
    report, traces = _analysis(req)
    if effective:
        report.effective_receptive_field = effective_field(req, report, layer=layer, mode=mode, seed=seed,
                                                           samples=samples, on_step=on_step, traces=traces)  # fmt: skip
    return report


# --- the pieces of those documents ---


@containing
def compare_peers(
    req: Request, report: Report, only: Iterable[str] = (), traces: list[LayerTrace] | None = None
) -> list[Peer]:
    """FlopCounterMode, fvcore and torchinfo on this model, each reproduced from the report;
    ``only`` names the peers asked for explicitly (flopcounter, fvcore, torchinfo); ``traces``
    are the report's (traced again if not given)."""
    from .runtime import peers, sources

    dtype = report.input.dtype
    if req.is_user_code:  # its code runs: it was named
        user = sources.UserSource(req)
        found = traces if traces is not None else _user(req.replace(device=None, init=False), (), "momentum")[1]
        functional = [t.call is not None for t in found]
        return peers.compare(report, user.on_meta(dtype), lambda: user.on_cpu(dtype), on_meta=False,
                             only=tuple(only), functional=functional)  # fmt: skip
    built = sources.BuiltinSource(req.spec())
    return peers.compare(report, built.on_meta(dtype), lambda: built.on_cpu(dtype), on_meta=req.device == "meta",
                         only=tuple(only), functional=[False] * len(report.layers))  # fmt: skip


def sweep(req: Request, sizes: list[tuple[int, int]], include: Iterable[str] | str = ()) -> list[SweepPoint]:
    points = []
    for size in sizes:
        r = analyze_request(req.replace(input_size=size, device=None, init=False), include=include)
        points.append(SweepPoint(list(r.input.shape), r.totals.macs, r.totals.flops, r.totals.macs_by_kind))
    return points


def budget(req: Request, limit: int, optimizer: str = "momentum") -> Budget:
    """The largest batches whose inference and training needs fit in ``limit`` bytes."""
    limit = validate.count(limit, "budget")
    base = req.replace(device=None, init=False)
    cache: dict[int, Totals] = {}
    kernel = ConvKernel.EITHER  # the closed form; a CPU device says which 16-bit kernel it runs
    if req.device is not None and not req.is_user_code:
        from .runtime.instantiate import check_device, cpu_conv_kernel

        kernel = cpu_conv_kernel(str(check_device(req.device)), req.canonical_dtype())

    def totals(b: int) -> Totals:
        if b not in cache:
            batch = base.replace(batch=b)
            found = _builtin(batch, (), optimizer, kernel) if not req.is_user_code else _user(batch, (), optimizer)
            cache[b] = found[0].totals
        return cache[b]

    def fits(need: Callable[[Totals], int]) -> Callable[[int], bool]:
        return lambda b: need(totals(b)) <= limit

    most = limit  # no image needs less than one byte
    return Budget(
        bytes=limit,
        inference_batch=footprint.largest_batch(fits(lambda t: t.inference_required_bytes), most),
        training_batch=footprint.largest_batch(fits(lambda t: t.training_total_bytes), most),
        inference_margin_bytes=footprint.INFERENCE_MARGIN_BYTES,
    )


@containing
def measure(req: Request, report: Report, train: bool) -> Measured:
    """A real run on CUDA beside the estimate it should match."""
    from .runtime import measure as m
    from .runtime import sources
    from .runtime.instantiate import check_device

    dtype = report.input.dtype
    if req.is_user_code:  # its code runs, with its own initialisation, on the device: it was named
        model = sources.UserSource(req).built_by_your_code(str(check_device(req.device or "cpu")), dtype)
    else:
        model = sources.BuiltinSource(req.spec()).on_device(req.device or "cpu", dtype, init=True)
    got = m.measure_cuda(model, tuple(report.input.shape), train=train)
    t = report.totals
    # One forward + backward allocates no optimizer state: the training total without it.
    estimate = t.training_total_bytes - t.optimizer_state_bytes if train else t.inference_required_bytes
    return Measured("train forward + backward" if train else "inference forward", got["resident_bytes"],
                    got["max_memory_allocated"], estimate,
                    100 * (got["max_memory_allocated"] - estimate) / estimate)  # fmt: skip


def _readable(req: Request, report: Report) -> list[bool]:
    """Rows whose output a real run can read: every layer of your model; a built-in's feature layers."""
    if req.is_user_code:
        return [True] * len(report.layers)
    return [d.feature for d in layer_defs(req.spec())]


def pick_layer(req: Request, report: Report, layer: str | None) -> int:
    """The row the empirical field traces; a bad ``layer`` fails here, before any torch work."""
    from .report.effective_layer import pick_layer as pick

    return pick(report, layer, _readable(req, report))


@containing
def effective_field(
    req: Request,
    report: Report,
    *,
    layer: str | None = None,
    mode: str = "effective",
    seed: int = 0,
    samples: int = 4,
    on_step: Callable[[str], None] | None = None,
    traces: list[LayerTrace] | None = None,
) -> EffectiveField:
    """The empirical field of ``layer`` (default: the last conv) of the model ``report`` describes;
    ``traces`` are the report's (traced again for your model if not given)."""
    from .report.effective_layer import check_args

    index = pick_layer(req, report, layer)  # a bad layer or argument fails before any torch work
    check_args(mode, seed, samples)
    from .runtime import effective

    if req.is_user_code:  # its code runs, on CPU with its own initialisation: it was named
        from .runtime import sources

        user = sources.UserSource(req)
        if traces is None:  # where each call is
            traces = _user(req.replace(device=None, init=False), (), "momentum")[1]
        return effective.module_effective_field(user.run_on_cpu, report, traces, index, mode=mode, seed=seed,
                                                samples=samples, on_step=on_step)  # fmt: skip
    return effective.effective_field(req.spec(), report, index, mode=mode, seed=seed, samples=samples,
                                     on_step=on_step)  # fmt: skip


@containing
def block_comparison(req: Request) -> BlockComparison:
    from .metrics import kernels
    from .report.documents import BlockComparison

    report, traces = _analysis(req.replace(device=None, init=False))
    return BlockComparison(report.model, report.input, kernels.block_table(traces))


def stack_comparison(in_channels: int, out_channels: int, kernel: int = 7, bias: bool = False) -> StackComparison:
    from .metrics import kernels
    from .report.documents import StackComparison

    rows = kernels.stack_table(in_channels, out_channels, kernel, bias)
    return StackComparison(in_channels, out_channels, kernel, bias, rows)


def variants() -> VariantList:
    from .network import VARIANTS
    from .report.documents import VariantList, VariantRow

    rows = []
    for v in VARIANTS.values():
        r = analyze(v.name)
        rows.append(VariantRow(v.name, list(v.aliases), v.config, v.batch_norm, r.model.weight_layers,
                               r.totals.params, v.layers))  # fmt: skip
    return VariantList(rows)


def paper_table(
    input_size: Any = 224, num_classes: Any = 1000, batch: Any = 1, in_channels: Any = 3, bn: bool = False
) -> PaperTable:
    """The paper's Tables 1-4 side by side: layout, figures computed at this input, and the
    published results (quoted, never computed)."""
    from .network import paper
    from .report import paper_table as table

    base = Request(num_classes=num_classes, in_channels=in_channels, input_size=input_size, batch=batch)
    reports = {c: analyze_request(base.replace(model=paper.NAMES[c])) for c in paper.CONFIGS}
    with_bn = (
        {c: analyze_request(base.replace(model=paper.NAMES[c], batch_norm=True)) for c in paper.CONFIGS} if bn else None
    )
    return table.paper_table(reports, with_bn)


def explain(req: Request, figures: list[str] | tuple[str, ...] = ()) -> Explanation:
    """The VGG16 figures in circulation checked against the report, and the quantities that
    produce each figure the user brought."""
    from .report.explanation import explanation

    report = analyze_request(req)
    vgg16 = analyze("vgg16").totals if report.model.from_module else report.totals
    return explanation(report, vgg16, figures)


def identify(path: str) -> Identification:
    """Which VGG (variant, classes, BatchNorm, input channels) a state dict belongs to."""
    from .runtime import checkpoint

    return checkpoint.identify(path)


@containing
def diff(a: Request, b: Request) -> Diff:
    """Two models' weight and pooling layers aligned in execution order, field by field."""
    from .report.diff import diff_reports

    (ra, ta), (rb, tb) = _analysis(a), _analysis(b)
    return diff_reports(ra, ta, rb, tb)


# --- how fast, on which device, how large on disk ---


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
    from .metrics import devices
    from .report import speed

    math = devices.math_mode(req.canonical_dtype(), tf32)
    if peak_tflops is not None or bandwidth_tbs is not None:
        if peak_tflops is None or bandwidth_tbs is None:
            raise VggInspectError("--peak-tflops and --bandwidth describe a device together: give both")
        spec = devices.custom_spec(peak_tflops, bandwidth_tbs, math)
    elif str(device_spec).strip().lower() == "cpu":
        from .runtime import peaks

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
def storage(req: Request) -> Report:
    """The report with the weights' sizes per number format and the checkpoint torch.save writes."""
    from .report import speed

    report, traces = _analysis(req.replace(dtype="float32"))
    report.storage = speed.storage(report, traces)
    return report


@containing
def bench(
    req: Request,
    *,
    batches: Iterable[int] | int = (1,),
    train: bool = False,
    warmup: int = 3,
    iterations: int = 10,
    channels_last: bool = False,
    compile: bool = False,
    per_layer: bool = False,
    device_spec: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Time the model on ``req.device`` (default cpu) for each batch: median and p90 latency,
    images/s, achieved FLOP/s and the fraction of the device's dense peak, the measured peak memory
    beside the estimate; ``per_layer``: each module timed beside the roofline's prediction."""
    from .metrics import devices
    from .report import speed
    from .report.model import Bench, BenchLayer, BenchRun
    from .runtime import bench as b
    from .runtime import sources
    from .runtime.instantiate import check_device, ensure_fits, place

    b.check_counts(warmup, iterations)
    if per_layer and compile:
        raise VggInspectError("--per-layer times each module with hooks, which a compiled model does not run")
    device = check_device(req.device or "cpu")
    if device.type not in ("cpu", "cuda"):
        raise VggInspectError(f"{{param}} for bench is cpu or cuda[:N], got '{req.device}'", param="device")
    dtype = req.canonical_dtype()
    math = devices.math_mode(dtype)
    name = device_spec or (b.spec_for_cuda(device) if device.type == "cuda" else "cpu")
    if name is None:
        spec = None
    elif name == "cpu":
        from .runtime import peaks

        spec = peaks.cpu_spec(dtype)
    else:
        spec = devices.device_spec(name)
    info = speed.device_info(spec, math) if spec is not None and math in spec.peak_tflops else None
    base = req.replace(device=None, init=False)
    source = sources.UserSource(base) if req.is_user_code else sources.BuiltinSource(base.spec())
    model = place(source.on_meta(dtype), str(device))  # checked to fit, uninitialised, then filled
    eager = b.prepare(model, channels_last, False)
    runner = b.prepare(eager, False, True) if compile else eager
    runs, first = [], None
    for batch in _batches(batches):
        report, traces = _analysis(base.replace(batch=batch))
        first = first or report
        t = report.totals
        estimate = t.training_total_bytes if train else t.inference_required_bytes
        ensure_fits(estimate - t.weight_bytes - t.buffer_bytes, device, f"a batch of {batch} (estimated)")
        x = b.make_input(tuple(report.input.shape), dtype, device, channels_last)
        got = b.run(runner, x, b.clock_for(device), train=train, warmup=warmup, iterations=iterations,
                    per_layer=eager if per_layer else None, on_step=on_step)  # fmt: skip
        median, p90 = b.summary(got.times)
        flops = t.train_flops if train else t.flops
        layers = None
        if per_layer:
            point = speed.point(speed.traffic(report, traces), batch, info, train) if info else None
            predicted = {r.module: x.time_s for r, x in zip(report.layers, point.layers)} if point else {}
            names = {r.module: r.name for r in report.layers}
            layers = [
                BenchLayer(names.get(m, m), m, b.summary(ts)[0], predicted.get(m),
                           b.summary(ts)[0] / predicted[m] if predicted.get(m) else None)
                for m, ts in got.layer_times.items()
            ]  # fmt: skip
        runs.append(BenchRun(batch, len(got.times), median, p90, batch / median, flops / median,
                             100 * flops / median / info.peak_flops if info else None, got.peak_memory, estimate,
                             got.stopped, layers))  # fmt: skip
        if got.stopped:
            break
    assert first is not None
    method = ("CUDA events around each iteration, synchronised" if device.type == "cuda" else
              f"time.perf_counter around each iteration, {b.threads()} threads")  # fmt: skip
    memory = ("torch.cuda.max_memory_allocated" if device.type == "cuda" else
              "the tensors held (weights, buffers, input, gradients, optimizer state) plus the peak that one "
              "more step allocates, from torch.profiler's memory events")  # fmt: skip
    first.bench = Bench(str(device), b.device_name(device), dtype, train, channels_last, compile, method, memory,
                        "filled with 1/fan-in, biases 0 (not trained: speed does not depend on the values)",
                        info.peak_flops if info else None, spec.source if spec and info else None, runs)  # fmt: skip
    return first


@containing
def by_group(req: Request, *, by: str = "block", depth: int = 1) -> Report:
    """The report with per-group subtotals (``groups``): by VGG block, or by module path at ``depth``."""
    from .report.groups import group_rows

    report = analyze_request(req)
    report.groups = group_rows(report, by, depth)
    return report
