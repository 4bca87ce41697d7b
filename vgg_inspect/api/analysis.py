"""Where each kind of model's analysis comes from, one function per kind, and the one line that
chooses among them (``_analysis``): a built-in variant or config list (closed form, or instantiated
on a device), your own PyTorch code (traced on meta), a file of another framework (``frameworks.py``).
The request is resolved here, at the API's edge: nothing below reads it again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import VggInspectError
from ..network import ITEMSIZE, ModelSpec, layer_defs, minimum_input, paper_names
from ..ops import ConvKernel
from ..ops.traced import LayerTrace, analytical_traces
from ..report.assemble import build_report
from ..report.model import ModelInfo, Report
from ..request import Request

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
        from ..runtime import instantiate, module_report, tracer

        module = instantiate.instantiate(spec, device=req.device, dtype=dtype, init=req.init)
        device = instantiate.device_name(module)
        # A built-in VGG never needs execution: the tests prove its rules equal the measurement.
        traces = tracer.trace_module(module, shape, dtype=dtype, execute=False)
        report = build_report(_model_info(spec), shape, traces, dtype=dtype, device=device,
                              analysis="instantiated", include=include, optimizer=optimizer,
                              conv_kernel=instantiate.cpu_conv_kernel(device, dtype),
                              input_requires_grad=req.input_requires_grad)  # fmt: skip
        module_report.kernel_warnings(report, module, device, dtype)
    if req.weights is not None:
        _check_weights(report, req.weights, spec)
    return report, traces


def _user(req: Request, include: Iterable[str] | str, optimizer: str) -> Analysis:
    """Your model: loaded (its code runs), built on meta, traced once at operator level."""
    report, traces, _ = _user_module(req, include, optimizer)
    return report, traces


def _user_module(req: Request, include: Iterable[str] | str, optimizer: str) -> tuple[Report, list[LayerTrace], Any]:
    """``_user``, with the module it analysed."""
    model = req.your_model()  # the request resolved here, once: the runtime never reads it
    from ..runtime import model_sources
    from ..runtime.keras_code import ForeignModel

    try:
        report, traces, module = model_sources.user_report(model, req.device, req.init, include, optimizer,
                                                           req.input_requires_grad)  # fmt: skip
    except ForeignModel as keras_model:  # a Keras model in your file: read through its to_json()
        from .frameworks import keras_code_analysis

        report, traces = keras_code_analysis(req, keras_model, include, optimizer)
        return report, traces, None
    if req.weights is not None:
        _check_weights(report, req.weights, module)
    return report, traces, module


def _analysis(req: Request, include: Iterable[str] | str = (), optimizer: str = "momentum") -> Analysis:
    if req.is_framework_file:
        from .frameworks import framework_analysis

        return framework_analysis(req, include, optimizer)
    return _user(req, include, optimizer) if req.is_user_code else _builtin(req, include, optimizer)


def _check_weights(report: Report, path: str, model: Any) -> None:
    from ..runtime import checkpoint

    report.weights = w = checkpoint.check_weights(path, model)
    if not w.matches:
        report.warnings.append(
            f"{w.path} does not fit this architecture: {len(w.missing)} missing, {len(w.unexpected)} unexpected, "
            f"{len(w.misshaped)} mis-shaped key(s)"
        )
