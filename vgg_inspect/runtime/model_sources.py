"""Where a model's module comes from, per kind of model: a built-in (or config list) is built from
its spec; your own model is loaded from your code (which runs, because you named it). Each source
gives the module on meta, uninitialised on CPU, or on a device; ``module_report.py`` reports it."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from . import require

require("torch", "analysing an nn.Module")
from torch import nn  # noqa: E402

from ..errors import AnalysisError, VggInspectError  # noqa: E402
from ..network import ModelSpec  # noqa: E402
from ..ops.traced import LayerTrace  # noqa: E402
from ..report.model import Report  # noqa: E402
from ..request import YourModel  # noqa: E402
from . import prepare, user  # noqa: E402
from .instantiate import (  # noqa: E402
    TORCH_DTYPES,
    check_device,
    ensure_fits,
    instantiate,
    move_plain_tensors,
    place,
    state_bytes,
)
from .module_report import kernel_warnings, module_report  # noqa: E402
from .op_table import module_from_op  # noqa: E402


class BuiltinSource:
    """A built-in variant or config list: built from its spec, never initialised unless asked."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def on_meta(self, dtype: str) -> nn.Module:
        return instantiate(self.spec, device="meta", dtype=dtype)

    def on_cpu(self, dtype: str) -> nn.Module:
        return instantiate(self.spec, device="cpu", dtype=dtype)

    def on_device(self, device: str, dtype: str, init: bool) -> nn.Module:
        return instantiate(self.spec, device=device, dtype=dtype, init=init)


class RebuiltSource:
    """A model read from another framework's file, rebuilt in torch from its rows (``bench``): one
    module per row, in order; a graph that branches, or a row with no torch module, cannot be."""

    def __init__(self, traces: list[LayerTrace], name: str) -> None:
        self.traces, self.name = traces, name
        joins = [t.module for t in traces if not t.chained]
        if joins:
            raise AnalysisError(f"{name} is rebuilt in torch as a chain of its rows, and its graph branches or "
                                f"joins at {joins[0]}: bench times chains only")  # fmt: skip

    def on_meta(self, dtype: str) -> nn.Module:
        layers = []
        for t in self.traces:
            try:
                layers.append(module_from_op(t.op, TORCH_DTYPES[dtype]))
            except TypeError:
                raise AnalysisError(f"{self.name}: {t.module} ({t.type}) has no torch module to rebuild it with, "
                                    "so bench cannot time the file's network") from None  # fmt: skip
        return nn.Sequential(*layers).to(device="meta", dtype=TORCH_DTYPES[dtype])


class UserSource:
    """Your model: loaded from your code, built on meta (no weights allocated) unless it must run."""

    def __init__(self, model: YourModel) -> None:
        self.code = model.code
        self.kwargs = model.kwargs
        self.model = model
        self._meta: nn.Module | None = None
        self.label = ""
        self.notes: list[str] = []  # wrappers taken off, lazy modules materialised

    def on_meta(self, dtype: str) -> nn.Module:
        """Built once on meta, at ``dtype``; each call gets that module (it is never given storage)."""
        if self._meta is None:
            module, self.label = user.load(self.code, self.kwargs)
            module = prepare.unwrap(module, self.notes)
            self._meta = prepare.materialise(module, self.model.shape, self.model.dtype, self.notes)
        return self._meta.to(TORCH_DTYPES[dtype])

    def on_cpu(self, dtype: str) -> nn.Module:
        """A copy of the meta build with uninitialised CPU storage (a peer's run needs real tensors)."""
        made = copy.deepcopy(self.on_meta(dtype)).to_empty(device="cpu")
        move_plain_tensors(made, "cpu")
        return made

    def run_on_cpu(self) -> nn.Module:
        """Built by your code on CPU in float32, its own initialisation run (the empirical field)."""
        return self._made(user.load(self.code, self.kwargs, device="cpu")[0], "cpu").float()

    def _made(self, module: nn.Module, device: str) -> nn.Module:
        """Your model as your code built it on ``device``, out of its wrappers, lazy layers materialised
        there by one forward (real tensors: a forward on meta cannot give them storage)."""
        module = prepare.unwrap(module, [])
        if prepare.is_lazy(module):
            import torch

            with torch.no_grad():
                module(torch.zeros(self.model.shape, device=device))
        return module

    def built_by_your_code(self, device: str, dtype: str) -> nn.Module:
        """Your model built by your own code on ``device`` (its initialisation runs), once its weights
        are known, from the meta build, to fit there. A constructor that cannot run on meta (one that
        moves the model itself: ``self.to(self.device)``) is built on the device straight away, as
        plain torch would, and the report says its size was not checked first."""
        try:
            meta: nn.Module | None = self.on_meta(dtype)
        except AnalysisError as exc:
            meta = None
            reason = str(exc).split(": ", 1)[-1].split("; --debug")[0]
            self.notes.append(
                f"built on {device} directly: the model cannot be built on meta ({reason}), so its size was not "
                "checked against the device's memory first"
            )
        if meta is not None:
            ensure_fits(state_bytes(meta), check_device(device), f"{self.label}'s weights and buffers")
        made, self.label = user.load(self.code, self.kwargs, device=device)
        return self._made(made, device).to(TORCH_DTYPES[dtype])

    def for_analysis(self, device: str | None, dtype: str, init: bool) -> nn.Module:
        """The module a report is taken from: on meta, placed uninitialised on ``device``, or built
        there by your code (``init``)."""
        if init and device is not None and device != "meta":
            return self.built_by_your_code(device, dtype)  # on the device, as your code builds it
        module = self.on_meta(dtype)
        if device is None or device == "meta":
            if init:
                raise VggInspectError("{param} needs real storage; use the cpu (or cuda) device", param="init")
            return module
        return place(module, device)


def user_report(
    model: YourModel,
    device: str | None,
    init: bool,
    include: Iterable[str] | str,
    optimizer: str,
    input_requires_grad: bool,
) -> tuple[Report, list[LayerTrace], nn.Module]:
    """Your model, loaded (its code runs), built on meta or placed on the device, traced once."""
    device = str(check_device(device)) if device is not None else None
    source = UserSource(model)
    module = source.for_analysis(device, model.dtype, init)
    report, traces = module_report(module, model.shape, name=source.label, include=include, optimizer=optimizer,
                                   as_built=device is None, input_requires_grad=input_requires_grad,
                                   prepared=True)  # fmt: skip
    report.warnings[:0] = source.notes
    if device is not None:
        kernel_warnings(report, module, device, model.dtype)
    return report, traces, module
