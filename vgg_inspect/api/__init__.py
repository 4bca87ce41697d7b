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
from typing import Any

from .. import validate
from ..errors import VggInspectError
from ..guard import containing
from ..metrics import footprint
from ..network import layer_defs
from ..ops import ConvKernel
from ..ops.traced import LayerTrace
from ..report.model import Budget, EffectiveField, Measured, Peer, Report, SweepPoint, Totals
from ..request import Request, checked

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

from .analysis import _analysis, _builtin, _user


@containing
def analyze_request(req: Request, *, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Report:
    req = checked(req)
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
    from ..runtime import require

    require("torch", "analysing an nn.Module")
    from ..runtime.module_report import module_report

    return module_report(module, input_shape, name=name, include=include, optimizer=optimizer,
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
    train: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """The report with its peers (``compare``, or the ``peers`` named) and an input sweep (``sizes``);
    ``train``: the peers are reconciled on forward + backward, where they count it; ``on_step`` is
    told which peer runs. Ctrl-C while a peer runs keeps the peers done (the rest are skipped)."""
    req = checked(req)
    train = validate.flag(train, "train")
    report, traces = _analysis(req, include)
    only = tuple(peers)
    if compare or only:
        report.peers = compare_peers(req, report, only, traces, train=train, on_step=on_step)
    if sizes and len(sizes) > 1:
        report.sweep = sweep(req, sizes, include)
    return report


def memory(
    req: Request,
    *,
    optimizer: str = "momentum",
    limit: int | None = None,
    measured: bool = False,
    train: bool = False,
    device_spec: str | None = None,
) -> Report:
    """The report with the largest batches within ``limit`` bytes and, with ``measured``, a real run
    on CUDA (``train``: forward and backward). ``device_spec`` (a card from the data sheets): its
    capacity, less a stated margin for what CUDA adds that is not modelled, is the budget."""
    req = checked(req)
    measured, train = validate.flag(measured, "measured"), validate.flag(train, "train")
    said: list[str] = []
    if device_spec is not None:
        if limit is not None:
            raise VggInspectError("{param} and --budget both set the budget: give one", param="device_spec")
        limit, said = footprint.card_budget(device_spec)
    if measured and not (req.device or "").startswith("cuda"):
        raise VggInspectError("--measure needs --device cuda (it reads torch.cuda.max_memory_allocated)")
    if train and not measured:
        raise VggInspectError("--train goes with --measure; the estimates always cover training")
    report = analyze_request(req, optimizer=optimizer)
    if limit is not None:
        report.budget = budget(req, limit, optimizer)
    report.warnings.extend(said)
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
    req = checked(req)
    report, traces = _analysis(req)
    if effective:
        field = effective_field(req, report, layer=layer, mode=mode, seed=seed, samples=samples, on_step=on_step,
                                traces=traces)  # fmt: skip
        if mode != "support" and field.samples < samples:
            report.warnings.append(f"Ctrl-C stopped the empirical field after {field.samples} of {samples} samples: "
                                   "the field shown is their average")  # fmt: skip
        report.effective_receptive_field = field
    return report


# --- the pieces of those documents ---


@containing
def compare_peers(
    req: Request,
    report: Report,
    only: Iterable[str] = (),
    traces: list[LayerTrace] | None = None,
    *,
    train: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> list[Peer]:
    """FlopCounterMode, fvcore and torchinfo on this model, each reproduced from the report;
    ``only`` names the peers asked for explicitly (flopcounter, fvcore, torchinfo); ``traces``
    are the report's (traced again if not given); ``train``: FlopCounterMode counts forward +
    backward, against the report's train FLOPs (fvcore and torchinfo count forwards only, and say so)."""
    req = checked(req)
    if req.is_framework_file:
        from .frameworks import file_peers

        return file_peers(req, report, traces if traces is not None else _analysis(req)[1], only)
    from ..runtime import model_sources, peer_tools

    dtype = report.input.dtype
    if req.is_user_code:  # its code runs: it was named
        user = model_sources.UserSource(req.your_model())
        found = traces if traces is not None else _user(req.replace(device=None, init=False), (), "momentum")[1]
        functional = [t.call is not None for t in found]
        return peer_tools.compare(report, user.on_meta(dtype), lambda: user.on_cpu(dtype), on_meta=False,
                             only=tuple(only), functional=functional, ops_=[t.op for t in found],
                             train=train, input_requires_grad=req.input_requires_grad, on_step=on_step)  # fmt: skip
    built = model_sources.BuiltinSource(req.spec())
    found = traces if traces is not None else _builtin(req.replace(device=None, init=False), (), "momentum")[1]
    return peer_tools.compare(report, built.on_meta(dtype), lambda: built.on_cpu(dtype), on_meta=req.device == "meta",
                         only=tuple(only), functional=[False] * len(report.layers),
                         ops_=[t.op for t in found], train=train,
                         input_requires_grad=req.input_requires_grad, on_step=on_step)  # fmt: skip


def sweep(req: Request, sizes: list[tuple[int, int]], include: Iterable[str] | str = ()) -> list[SweepPoint]:
    req = checked(req)
    points = []
    for size in sizes:
        r = analyze_request(req.replace(input_size=size, device=None, init=False), include=include)
        points.append(SweepPoint(list(r.input.shape), r.totals.macs, r.totals.flops, r.totals.macs_by_kind))
    return points


@containing
def budget(req: Request, limit: int, optimizer: str = "momentum") -> Budget:
    """The largest batches whose inference and training needs fit in ``limit`` bytes."""
    req = checked(req)
    limit = validate.count(limit, "budget")
    base = req.replace(device=None, init=False)
    cache: dict[int, Totals] = {}
    kernel = ConvKernel.EITHER  # the closed form; a CPU device says which 16-bit kernel it runs
    if req.device is not None and not req.is_user_code:
        from ..runtime.instantiate import check_device, cpu_conv_kernel

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
    req = checked(req)
    from ..runtime import measure as m
    from ..runtime import model_sources
    from ..runtime.instantiate import check_device

    dtype = report.input.dtype
    if req.is_user_code:  # its code runs, with its own initialisation, on the device: it was named
        model = model_sources.UserSource(req.your_model()).built_by_your_code(
            str(check_device(req.device or "cpu")), dtype
        )
    else:
        model = model_sources.BuiltinSource(req.spec()).on_device(req.device or "cpu", dtype, init=True)
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
    req = checked(req)
    from ..report.effective_layer import pick_layer as pick

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
    req = checked(req)
    from ..report.effective_layer import check_args

    index = pick_layer(req, report, layer)  # a bad layer or argument fails before any torch work
    check_args(mode, seed, samples)
    from ..runtime import effective

    if req.is_user_code:  # its code runs, on CPU with its own initialisation: it was named
        from ..runtime import model_sources

        user = model_sources.UserSource(req.your_model())
        if traces is None:  # where each call is
            traces = _user(req.replace(device=None, init=False), (), "momentum")[1]
        return effective.module_effective_field(user.run_on_cpu, report, traces, index, mode=mode, seed=seed,
                                                samples=samples, on_step=on_step)  # fmt: skip
    return effective.effective_field(req.spec(), report, index, mode=mode, seed=seed, samples=samples,
                                     on_step=on_step)  # fmt: skip


# The other documents (3x3 stacks, the paper's tables, explanations, checkpoints, diffs), and the
# ones for sizing a backbone: modules of their own, which use the functions above.
from .documents import block_comparison, diff, explain, identify, paper_table, stack_comparison, variants  # noqa: E402
from .speed import bench, by_group, roofline, storage  # noqa: E402
