"""The Python API: every analysis a command offers, as functions that return typed data.

Built-in variants are analysed with the closed-form formulas (no torch); the torch runtime is
imported only inside the functions that need a device, a user's module or a measurement. Every
bad argument raises :class:`vgg_inspect.errors.VggInspectError`, a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import validate
from .errors import VggInspectError
from .metrics import memory
from .metrics.trace import LayerTrace, analytical_traces
from .ops import Convention
from .records import record, replace
from .report.build import build_report
from .report.model import Budget, EffectiveField, Measured, ModelInfo, Peer, Report, SweepPoint
from .spec import ITEMSIZE, ModelSpec, canonical_dtype, layer_defs, minimum_input, model_spec, paper_names


@record(frozen=True)
class Request:
    """Which network, at which input, how: the arguments every model command shares."""

    model: str | None = None
    config: str | None = None
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    input_size: Any = 224  # S, "S", "HxW" or (H, W)
    batch: int = 1
    dtype: str = "float32"
    device: str | None = None
    init: bool = False
    head: str = "fc"
    weights: str | None = None  # a checkpoint to check against the architecture
    kwargs: Any = None  # for a user's model: NAME=VALUE,... text or a dict, given to its class or factory

    def replace(self, **changes: Any) -> Request:
        return replace(self, **changes)

    def spec(self) -> ModelSpec:
        if is_user_model(self.model):
            raise VggInspectError(
                f"'{self.model}' is your own model, not a built-in variant or a config list: it has no layer spec",
                param="model",
            )
        if isinstance(self.model, str) and self.model.strip().endswith(".py"):
            raise VggInspectError(_name_the_model(self.model.strip()), param="model")
        return model_spec(
            self.model,
            config=self.config,
            batch_norm=self.batch_norm,
            num_classes=self.num_classes,
            in_channels=self.in_channels,
            head=self.head,
        )

    def shape(self, spec: ModelSpec) -> tuple[int, int, int, int]:
        h, w = validate.input_size(self.input_size)
        return (validate.count(self.batch, "batch"), spec.in_channels, h, w)


def _model_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(
        spec.name,
        spec.config,
        spec.layers,
        spec.batch_norm,
        spec.num_classes,
        spec.in_channels,
        spec.weight_layers,
        spec.head,
    )


def _traces(spec: ModelSpec, shape: tuple[int, ...], dtype: str) -> list[LayerTrace]:
    defs = layer_defs(spec)
    labels = paper_names([d.op.kind for d in defs], [d.module for d in defs])
    return analytical_traces(
        [(d.module, d.op) for d in defs],
        shape,
        ITEMSIZE[dtype],
        model=spec.name,
        labels=labels,
        min_input=minimum_input(defs),
    )


def analyze_request(req: Request, *, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Report:
    if _is_user(req):
        return _analyze_user(req, include=include, optimizer=optimizer)
    if req.kwargs:
        raise VggInspectError("{param} apply to your own model (file.py:Name), not to a built-in", param="kwargs")
    report = _analyze_request(req, include=include, optimizer=optimizer)
    if req.weights is not None:
        _check_weights(report, req.weights, req.spec())
    return report


def _check_weights(report: Report, path: str, model: Any) -> None:
    from .runtime import checkpoint

    report.weights = w = checkpoint.check_weights(path, model)
    if not w.matches:
        report.warnings.append(
            f"{w.path} does not fit this architecture: {len(w.missing)} missing, {len(w.unexpected)} unexpected, "
            f"{len(w.misshaped)} mis-shaped key(s)"
        )


def _analyze_request(req: Request, *, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Report:
    spec = req.spec()
    dtype = canonical_dtype(req.dtype)
    shape = req.shape(spec)
    if not isinstance(req.init, bool):
        raise VggInspectError(f"{{param}} must be True or False, got {req.init!r}", param="init")
    traces = _traces(spec, shape, dtype)  # validates the input size before anything is built
    if req.device is None:
        if req.init:
            raise VggInspectError("{param} applies to an instantiated model: give a device too", param="init")
        return build_report(
            _model_info(spec),
            shape,
            traces,
            dtype=dtype,
            device=None,
            analysis="analytical",
            include=include,
            optimizer=optimizer,
        )
    from .runtime import build, tracer

    module = build.instantiate(spec, device=req.device, dtype=dtype, init=req.init)
    device = build.device_name(module)
    # A built-in VGG never needs execution: the tests prove its rules equal the measurement.
    traces = tracer.trace_module(module, shape, dtype=dtype, execute=False)
    report = build_report(
        _model_info(spec),
        shape,
        traces,
        dtype=dtype,
        device=device,
        analysis="instantiated",
        include=include,
        optimizer=optimizer,
    )
    _kernel_warnings(report, module, device, dtype)
    return report


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
    return _module_report(module, input_shape, name, include, optimizer, execute, as_built)[0]


def _module_report(
    module: Any,
    input_shape: Any,
    name: str | None,
    include: Iterable[str] | str,
    optimizer: str,
    execute: bool | None,
    as_built: bool,
) -> tuple[Report, list[LayerTrace]]:
    from .runtime import require

    torch = require("torch", "analysing an nn.Module")
    if not isinstance(module, torch.nn.Module):
        what = f"the class {module.__name__}" if isinstance(module, type) else type(module).__name__
        raise VggInspectError(f"{{param}} must be an nn.Module instance, got {what}", param="module")
    shape = validate.shape(input_shape)
    if len(shape) != 4:
        raise VggInspectError(f"{{param}} must be (N, C, H, W), got {shape}", param="input_shape")
    from .runtime import build, tracer

    dtype = build.module_dtype(module)
    device: str | None = build.device_name(module)
    if as_built:  # built on meta only to be traced: report it as the closed-form analysis of CPU kernels
        device = None
    notes: list[str] = []
    traces = tracer.trace_module(
        module, shape, dtype=dtype, execute=execute, convention=Convention.for_device(device), notes=notes
    )
    info = ModelInfo(
        name or type(module).__name__,
        "module",
        None,
        None,
        None,
        shape[1],
        sum(t.op.kind in ("conv", "fc") for t in traces),
    )
    report = build_report(
        info,
        shape,
        traces,
        dtype=dtype,
        device=device,
        analysis="instantiated" if device else "analytical",
        include=include,
        optimizer=optimizer,
    )
    report.warnings.extend(notes)
    return report, traces


def compare_peers(req: Request, report: Report, only: Iterable[str] = ()) -> list[Peer]:
    """FlopCounterMode, fvcore and torchinfo on this model, each reproduced from the report;
    ``only`` names the peers asked for explicitly (flopcounter, fvcore, torchinfo)."""
    from .runtime import build, peers

    dtype = report.input.dtype
    if _is_user(req):
        from .runtime import user

        meta = user.load(str(req.model), req.kwargs)[0].to(build.TORCH_DTYPES[dtype])  # its code runs: it was named
        import copy

        cpu_copy = lambda: copy.deepcopy(meta).to_empty(device="cpu")
        return peers.compare(report, meta, cpu_copy, on_meta=False, only=tuple(only))
    spec = req.spec()
    meta = build.instantiate(spec, device="meta", dtype=dtype)
    cpu = lambda: build.instantiate(spec, device="cpu", dtype=dtype)
    return peers.compare(report, meta, cpu, on_meta=req.device == "meta", only=tuple(only))


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
    cache: dict[int, Report] = {}

    def totals(b: int) -> Any:
        if b not in cache:
            cache[b] = analyze_request(base.replace(batch=b), optimizer=optimizer)
        return cache[b].totals

    def fits(need: Callable[[Any], int]) -> Callable[[int], bool]:
        return lambda b: need(totals(b)) <= limit

    most = limit  # no image needs less than one byte
    return Budget(
        bytes=limit,
        inference_batch=memory.largest_batch(fits(lambda t: t.inference_required_bytes), most),
        training_batch=memory.largest_batch(fits(lambda t: t.training_total_bytes), most),
        inference_margin_bytes=memory.INFERENCE_MARGIN_BYTES,
    )


def measure(req: Request, report: Report, train: bool) -> Measured:
    """A real run on CUDA beside the estimate it should match."""
    from .runtime import build
    from .runtime import measure as m

    if _is_user(req):  # its code runs, with its own initialisation, on the device: it was named
        device = build.check_device(req.device or "cpu")
        model = _user_model_on(req, device, build.TORCH_DTYPES[report.input.dtype], report.model.name)
    else:
        model = build.instantiate(req.spec(), device=req.device or "cpu", dtype=report.input.dtype, init=True)
    got = m.measure_cuda(model, tuple(report.input.shape), train=train)
    t = report.totals
    # One forward + backward allocates no optimizer state: the training total without it.
    estimate = t.training_total_bytes - t.optimizer_state_bytes if train else t.inference_required_bytes
    return Measured(
        "train forward + backward" if train else "inference forward",
        got["resident_bytes"],
        got["max_memory_allocated"],
        estimate,
        100 * (got["max_memory_allocated"] - estimate) / estimate,
    )


def effective_field(
    req: Request,
    report: Report,
    *,
    layer: str | None = None,
    mode: str = "effective",
    seed: int = 0,
    samples: int = 4,
    on_step: Callable[[str], None] | None = None,
) -> EffectiveField:
    from .runtime import effective

    if _is_user(req):  # its code runs, on CPU with its own initialisation: it was named
        from .runtime import user

        def build() -> Any:
            return user.load(str(req.model), req.kwargs, device="cpu")[0].float()

        traces = _user_report(req.replace(device=None, init=False), (), "momentum")[1]  # where each call is
        return effective.module_effective_field(
            build, report, traces, layer=layer, mode=mode, seed=seed, samples=samples, on_step=on_step
        )
    return effective.effective_field(
        req.spec(), report, layer=layer, mode=mode, seed=seed, samples=samples, on_step=on_step
    )


def pick_layer(report: Report, layer: str | None) -> None:
    """Fail early on a bad ``--layer`` for the empirical field (before any torch work)."""
    from .runtime import effective

    effective.pick_layer(report, layer)


def block_comparison(req: Request) -> Any:
    from .report.documents import BlockComparison

    if _is_user(req):  # its code runs: it was named
        report, traces = _user_report(req.replace(device=None, init=False), (), "momentum")
    else:
        spec = req.spec()
        report = analyze_request(req.replace(device=None, init=False))
        traces = _traces(spec, req.shape(spec), canonical_dtype(req.dtype))
    from .metrics import kernels

    return BlockComparison(report.model, report.input, kernels.block_table(traces))


def stack_comparison(in_channels: int, out_channels: int, kernel: int = 7, bias: bool = False) -> Any:
    from .metrics import kernels
    from .report.documents import StackComparison

    rows = kernels.stack_table(in_channels, out_channels, kernel, bias)
    return StackComparison(in_channels, out_channels, kernel, bias, rows)


def variants() -> Any:
    from .report.documents import VariantList, VariantRow
    from .spec import VARIANTS

    rows = []
    for v in VARIANTS.values():
        r = analyze(v.name)
        rows.append(
            VariantRow(
                v.name, list(v.aliases), v.config, v.batch_norm, r.model.weight_layers, r.totals.params, v.layers
            )
        )
    return VariantList(rows)


def paper_table(
    input_size: Any = 224, num_classes: Any = 1000, batch: Any = 1, in_channels: Any = 3, bn: bool = False
) -> Any:
    """The paper's Tables 1-4 side by side: layout, figures computed at this input, and the
    published results (quoted, never computed)."""
    from .report.documents import PaperRow, PaperTable
    from .spec import paper

    configs = paper.CONFIGS
    base = Request(num_classes=num_classes, in_channels=in_channels, input_size=input_size, batch=batch)
    reports = {c: analyze_request(base.replace(model=paper.NAMES[c])) for c in configs}
    shape = reports["D"].input.shape
    image = f"{shape[2]}×{shape[3]} " + ("RGB" if shape[1] == 3 else f"{shape[1]}-channel")
    rows = [
        PaperRow("Table 1", r.group, "text", list(r.cells), list(r.new))
        for r in paper.table1(configs, reports["D"].model.num_classes or 1000, image)
    ]

    def computed(label: str, unit: str, get: Callable[[Report], Any], of: dict[str, Report] = reports) -> None:
        rows.append(PaperRow("computed", label, unit, [get(of[c]) if c in of else None for c in configs],
                             [False] * len(configs)))  # fmt: skip

    computed("weight layers", "count", lambda r: r.model.weight_layers)
    computed("params (exact)", "count", lambda r: r.totals.params)
    computed("params (M, rounded)", "millions", lambda r: r.totals.params)
    rows.append(PaperRow("published", "params (M)", "count", [paper.TABLE2_MILLIONS[c] for c in configs],
                         [False] * len(configs), "Table 2"))  # fmt: skip
    computed("MACs", "macs", lambda r: r.totals.macs)
    computed("activations", "bytes", lambda r: r.totals.activation_bytes)
    computed("training memory", "bytes", lambda r: r.totals.training_total_bytes)
    computed("pool5 RF / jump", "rf", lambda r: [r.layer("pool5").receptive_field, r.layer("pool5").jump])
    if bn:
        with_bn = {c: analyze_request(base.replace(model=paper.NAMES[c], batch_norm=True)) for c in configs}
        computed("params, BN", "count", lambda r: r.totals.params, with_bn)
        computed("training mem., BN", "bytes", lambda r: r.totals.training_total_bytes, with_bn)
    published = [*paper.TABLE3, *paper.TABLE4, *paper.TORCHVISION, *(paper.TORCHVISION_BN if bn else ())]
    for pub in published:
        found = {c: [top1, top5] for c, top1, top5 in pub.values}
        rows.append(PaperRow("published", pub.setting, pub.metric, [found.get(c) for c in configs],
                             [False] * len(configs), pub.source))  # fmt: skip
    return PaperTable(list(configs), shape, bn, rows)


def explain(req: Request, figures: list[str] | tuple[str, ...] = ()) -> Any:
    """The VGG16 figures in circulation checked against the report, and the quantities that
    produce each figure the user brought."""
    from .metrics import figures as fig
    from .report.documents import Explanation

    report = analyze_request(req)
    m = report.model
    standard = (m.config, m.batch_norm, m.num_classes, m.in_channels, m.head, report.input.shape) == (
        "D",
        False,
        1000,
        3,
        "fc",
        [1, 3, 224, 224],
    )
    warnings = list(report.warnings)
    if m.config == "module" and report.input.shape == [1, 3, 224, 224]:  # your model: is it VGG16?
        vgg16 = analyze("vgg16").totals
        if (report.totals.params, report.totals.macs) == (vgg16.params, vgg16.macs):
            standard = True
            warnings.append(f"{m.name} has VGG16's {vgg16.params:,} parameters and {vgg16.macs:,} MACs: "
                            "the figures in circulation about VGG16 apply to it")  # fmt: skip
    if not standard and not figures:
        warnings.append("the figures in circulation are about VGG16 (config D, 1000 classes, 224x224 RGB, batch 1); "
                        "give figures to trace them in this model")  # fmt: skip
    claims = fig.circulation(report) if standard and not figures else None
    found = [fig.match(f, report) for f in figures] if figures else None
    return Explanation(report.model, report.input, claims, found, warnings)


def identify(path: str) -> Any:
    """Which VGG (variant, classes, BatchNorm, input channels) a state dict belongs to."""
    from .runtime import checkpoint

    return checkpoint.identify(path)


NEUTRAL_KINDS = ("relu", "dropout", "flatten")
COMPARED_KINDS = ("conv", "fc", "pool", "avgpool", "norm", "lrn")


def _diff_fields(trace: LayerTrace, row: Any) -> dict[str, Any]:
    op = trace.op
    fields: dict[str, Any] = {"type": trace.type}
    for name in ("kernel_size", "stride", "padding", "dilation", "output_size"):
        if hasattr(op, name):
            fields[name] = list(getattr(op, name))
    if len(trace.input_shape) > 1 and len(trace.output_shape) > 1:
        fields["channels"] = [
            trace.input_shape[1] if len(trace.input_shape) == 4 else trace.input_shape[-1],
            trace.output_shape[1] if len(trace.output_shape) == 4 else trace.output_shape[-1],
        ]
    fields.update(output_shape=list(trace.output_shape), params=row.params, macs=row.macs)
    return fields


def diff(a: Request, b: Request) -> Any:
    """Two models' weight and pooling layers aligned in execution order, field by field."""
    import difflib

    from .report.documents import Diff, DiffRow, DiffSection

    sides = []
    for req in (a, b):
        if _is_user(req):  # its code runs: it was named
            report, traces = _user_report(req, (), "momentum")
        else:
            report = analyze_request(req)
            spec = req.spec()
            traces = _traces(spec, req.shape(spec), canonical_dtype(req.dtype))
        rows = [(t, r) for t, r in zip(traces, report.layers)]
        sides.append((report, rows))
    (ra, rows_a), (rb, rows_b) = sides

    def key(pair: Any) -> str:
        return str(pair[1].kind)

    out: list[DiffRow] = []

    def neutral(pair: Any) -> bool:
        t, r = pair
        identity = r.kind in ("avgpool", "pool") and list(t.input_shape) == list(t.output_shape)  # AvgPool2d(1, 1)
        return r.kind in NEUTRAL_KINDS or identity or r.kind not in COMPARED_KINDS

    def align(xs: list[int], ys: list[int]) -> list[tuple[int | None, int | None]]:
        """Indices of rows_a and rows_b paired by kind in execution order (None: only on one side)."""
        matcher = difflib.SequenceMatcher(
            a=[key(rows_a[i]) for i in xs], b=[key(rows_b[j]) for j in ys], autojunk=False
        )
        out: list[tuple[int | None, int | None]] = []
        for _, i1, i2, j1, j2 in matcher.get_opcodes():
            left, right = xs[i1:i2], ys[j1:j2]
            out.extend((left[k] if k < len(left) else None, right[k] if k < len(right) else None)
                       for k in range(max(len(left), len(right))))  # fmt: skip
        return out

    # The layers that matter are aligned first; the neutral ones between them (ReLU, an identity
    # pool, flatten...) are paired among themselves, so an extra no-op never shifts the alignment.
    main = align(
        [i for i, p in enumerate(rows_a) if not neutral(p)], [j for j, p in enumerate(rows_b) if not neutral(p)]
    )
    pairs: list[tuple[int | None, int | None]] = []
    done = [0, 0]

    def flush(upto_a: int, upto_b: int) -> None:
        pairs.extend(align([i for i in range(done[0], upto_a) if neutral(rows_a[i])],
                           [j for j in range(done[1], upto_b) if neutral(rows_b[j])]))  # fmt: skip
        done[:] = [max(done[0], upto_a), max(done[1], upto_b)]

    for i, j in main:
        flush(i if i is not None else done[0], j if j is not None else done[1])
        pairs.append((i, j))
        done[:] = [i + 1 if i is not None else done[0], j + 1 if j is not None else done[1]]
    flush(len(rows_a), len(rows_b))
    for ia, ib in pairs:
        pa = rows_a[ia] if ia is not None else None
        pb = rows_b[ib] if ib is not None else None
        fa = _diff_fields(*pa) if pa else {}
        fb = _diff_fields(*pb) if pb else {}
        fields = {f: [fa.get(f), fb.get(f)] for f in dict.fromkeys([*fa, *fb])}
        quiet = all(neutral(p) for p in (pa, pb) if p is not None)
        differs = not quiet and (pa is None or pb is None or any(x != y for x, y in fields.values()))
        kind = str((pa or pb)[1].kind)  # type: ignore[index]
        out.append(DiffRow(pa[1].name if pa else None, pb[1].name if pb else None, kind, fields, differs, quiet))
    totals = {"params": [ra.totals.params, rb.totals.params], "macs": [ra.totals.macs, rb.totals.macs]}
    same = not any(r.differs for r in out)
    return Diff(DiffSection(ra.model, rb.model, ra.input.shape, out, totals, same))


def _name_the_model(path: str) -> str:
    """A file given without :Name: which names it holds, read without running it."""
    import ast
    import os

    if not os.path.isfile(path):
        return f"{path} does not exist; your own model is given as path/to/file.py:Name"
    try:
        tree = ast.parse(open(path, encoding="utf-8").read())
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        return f"{path} cannot be read as Python ({type(exc).__name__}); give your model as file.py:Name"
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
               and any("Module" in ast.unparse(b) for b in n.bases)]  # fmt: skip
    found = f" (nn.Module classes there: {', '.join(classes[:6])})" if classes else ""
    return f"{path} is a file: name the model in it, e.g. {path}:{classes[0] if classes else 'Name'}{found}"


def is_user_model(model: Any) -> bool:
    """``path/to/file.py:Name`` or ``package.module:Name`` (not a built-in name or ``config:LAYERS``)."""
    return model is not None and ":" in str(model) and not str(model).startswith("config:")


def _is_user(req: Request) -> bool:
    return is_user_model(req.model)


def _user_model_on(req: Request, device: Any, dtype: Any, label: str, meta: Any = None) -> Any:
    """Your model built by your own code on ``device`` (its initialisation runs), once its weights
    are known, from a meta build (``meta``, or made here), to fit there."""
    from .runtime import build, user

    if meta is None:
        meta = user.load(str(req.model), req.kwargs)[0].to(dtype)
    build.ensure_fits(build.state_bytes(meta), build.check_device(str(device)), f"{label}'s weights and buffers")
    return user.load(str(req.model), req.kwargs, device=str(device))[0].to(dtype)


def _kernel_warnings(report: Report, module: Any, device: str, dtype: str) -> None:
    from .runtime import build

    for problem in build.unsupported_kernels(module, device, dtype):
        report.warnings.append(
            f"cannot run on {device} as {dtype} with this torch ({problem}): nothing can be measured there; "
            "the figures are the closed-form rules"
        )


def _analyze_user(req: Request, *, include: Iterable[str] | str, optimizer: str) -> Report:
    """A user's model: loaded (its code runs), built on meta, traced once at operator level."""
    return _user_report(req, include, optimizer)[0]


def _user_report(req: Request, include: Iterable[str] | str, optimizer: str) -> tuple[Report, list[LayerTrace]]:
    from .runtime import user

    for name, value, default in (("config", req.config, None), ("batch_norm", req.batch_norm, False),
                                 ("num_classes", req.num_classes, 1000), ("head", req.head, "fc")):  # fmt: skip
        if value != default:
            raise VggInspectError("{param} describes a built-in VGG; give your model's options with --kwargs",
                                  param=name)  # fmt: skip
    if not isinstance(req.init, bool):
        raise VggInspectError(f"{{param}} must be True or False, got {req.init!r}", param="init")
    if req.init and req.device is None:
        raise VggInspectError("{param} applies to an instantiated model: give a device too", param="init")
    h, w = validate.input_size(req.input_size)
    shape = (validate.count(req.batch, "batch"), validate.count(req.in_channels, "in_channels"), h, w)
    dtype = canonical_dtype(req.dtype)
    from .runtime import build

    device = str(build.check_device(req.device)) if req.device is not None else None
    module, label = user.load(str(req.model), req.kwargs)
    module = module.to(build.TORCH_DTYPES[dtype])
    if device is not None and device != "meta":
        if req.init:
            module = _user_model_on(req, device, build.TORCH_DTYPES[dtype], label, meta=module)
        else:
            module = build.place(module, device)
    elif req.init:
        raise VggInspectError("{param} needs real storage; use the cpu (or cuda) device", param="init")
    report, traces = _module_report(module, shape, label, include, optimizer, None, device is None)
    if device is not None:
        _kernel_warnings(report, module, device, dtype)
    if req.weights is not None:
        _check_weights(report, req.weights, module)
    return report, traces
