"""Trace any ``nn.Module`` into ``LayerTrace`` records: walk it with the formulas when that is
exact, or run it once on meta tensors with hooks (cost independent of input size and batch)."""

from __future__ import annotations

import os
import traceback
from typing import Any, TypedDict

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import errors, ops  # noqa: E402
from ..errors import AnalysisError, VggInspectError  # noqa: E402
from ..network import paper_names  # noqa: E402
from ..ops import Convention  # noqa: E402
from ..ops.traced import LayerTrace  # noqa: E402
from ..records import replace  # noqa: E402
from .bindings import op_from_module  # noqa: E402
from .instantiate import TORCH_DTYPES, VGG  # noqa: E402
from .recorder import Call, Recorder, RecordingMode, TensorKey, storage_id, tensor_key  # noqa: E402


def leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if n and next(m.children(), None) is None]


def opaque(m: nn.Module) -> bool:
    """A leaf traced as one call: a layer with formulas, or torch's own (an LSTM). A leaf of your own
    with no formulas (SSD's L2Norm) is traced inside: its operations are rows of their own."""
    return not isinstance(op_from_module(m), ops.Unknown) or type(m).__module__.startswith("torch.")


def walkable(module: nn.Module) -> bool:
    """True when registration order is execution order and every leaf has formulas: this tool's
    VGG, or (nested) ``nn.Sequential`` of known layers. Such a module needs no execution."""
    if not isinstance(module, (VGG, nn.Sequential)):
        return False
    inner = [m for m in module.modules() if m is not module and next(m.children(), None) is not None]
    if isinstance(module, nn.Sequential) and any(type(m) is not nn.Sequential for m in inner):
        return False
    return all(op_from_module(m).rules_measured for _, m in leaves(module))


class Counts(TypedDict):
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int


NO_COUNTS = Counts(params=0, trainable_params=0, buffers=0, param_bytes=0, buffer_bytes=0)


def _counts(mod: nn.Module, seen: set[int] | None = None) -> Counts:
    """Its own parameters and buffers; with ``seen``, a storage already counted (a tied weight) is not."""
    ps = list(mod.parameters(recurse=False))
    if seen is not None:
        ps = [p for p in ps if p.untyped_storage()._cdata not in seen]
        seen.update(p.untyped_storage()._cdata for p in ps)
    bs = list(mod.buffers(recurse=False))
    return {
        "params": sum(p.numel() for p in ps),
        "trainable_params": sum(p.numel() for p in ps if p.requires_grad),
        "buffers": sum(b.numel() for b in bs),
        "param_bytes": sum(p.numel() * p.element_size() for p in ps),
        "buffer_bytes": sum(b.numel() * b.element_size() for b in bs),
    }


def trace_module(
    module: nn.Module,
    input_shape: tuple[int, ...],
    *,
    dtype: str = "float32",
    execute: bool | None = None,
    convention: Convention = Convention.CPU,
    notes: list[str] | None = None,
    input_requires_grad: bool = False,
    counted: set[str] | None = None,
    ran: set[str] | None = None,
) -> list[LayerTrace]:
    """Every leaf call of ``module`` with its shapes and its real parameter and buffer counts.
    ``counted`` receives the names of the parameters and buffers the rows count (the others are
    held by the module but used by no layer: on the root, or in a module the forward never calls);
    ``ran``, the paths of the modules whose forward ran (leaves, and those whose code was traced).

    ``execute=False`` walks a ``walkable`` module and propagates shapes with the layers' formulas
    (read from the real modules' attributes); saved-for-backward bytes then follow each op's rule.
    ``execute=True`` runs the module once on meta tensors in train mode: hooks record each leaf
    call's shapes and each tensor autograd saves (parameters and buffers excluded, each storage
    once), corrected from the meta kernels' layout to ``convention``'s. ``None``: walk when possible.
    """
    if execute is None:
        execute = not walkable(module)
    if execute:
        return _execute(module, input_shape, dtype, convention, notes, input_requires_grad, counted, ran)
    if counted is not None:  # a walk visits every leaf, and a walkable module holds nothing elsewhere
        counted.update(name for name, _ in [*module.named_parameters(), *module.named_buffers()])
    if ran is not None:
        ran.update(name for name, _ in module.named_modules())
    return _walk(module, input_shape)


def _walk(module: nn.Module, input_shape: tuple[int, ...]) -> list[LayerTrace]:
    traces: list[LayerTrace] = []
    shape = tuple(input_shape)
    seen: set[int] = set()  # a weight tied between two layers is counted once
    for name, mod in leaves(module):
        op = op_from_module(mod)
        try:
            out = op.output_shape(shape)
        except ValueError as exc:
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name}: {exc}") from None
        if len(out) == 4 and any(v <= 0 for v in out[2:]):
            raise AnalysisError(f"the model cannot run on input {tuple(input_shape)}: {name} would output {out}")
        traces.append(
            LayerTrace(
                module=name, type=type(mod).__name__, op=op, input_shape=shape, output_shape=out, **_counts(mod, seen)
            )
        )
        shape = out
    return traces


def _execute(
    module: nn.Module,
    input_shape: tuple[int, ...],
    dtype: str,
    convention: Convention,
    notes: list[str] | None = None,
    input_grad: bool = False,
    counted: set[str] | None = None,
    ran: set[str] | None = None,
) -> list[LayerTrace]:
    try:
        return _run(module, input_shape, dtype, convention, train=True, input_grad=input_grad, counted=counted,
                    ran=ran)  # fmt: skip
    except _TrainRefused as refused:
        if notes is not None:
            notes.append(
                f"the model refuses train mode at this batch ({refused}): shapes and counts come from an eval-mode "
                "run, and saved-for-backward bytes follow each layer's rule, unmeasured"
            )
        return _run(module, input_shape, dtype, convention, train=False, input_grad=input_grad, counted=counted,
                    ran=ran)  # fmt: skip


def own_line(exc: BaseException) -> str:
    """(file.py:21): the last frame of the traceback in the model's own code, not torch's or ours."""
    mine = (os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(__file__)))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(mine)]
    return f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""


def _failing_layer(calls: list[Call], index: int) -> tuple[str, str | None]:
    """The layer a failure happened in, by its paper name where it has one (fc6 (module fc1)), and
    what went wrong there in plain words where it can be told."""
    kinds = [c.operator().kind for c in calls[: index + 1]]
    name = paper_names(kinds, [c.name for c in calls[: index + 1]])[index]
    where = name if name == calls[index].name else f"{name} (module {calls[index].name})"
    mod, shape = calls[index].module, calls[index].input_shape
    if isinstance(mod, nn.Linear) and shape and shape[-1] != mod.in_features:
        return where, (
            f"it expects {mod.in_features:,} input features and {shape[-1]:,} arrive at this input size; give the "
            "input size the model was written for, or put an adaptive pool before the classifier"
        )
    return where, None


class _TrainRefused(Exception):
    """Train mode is refused at this batch (BatchNorm with one value per channel)."""


def _hooks(module: nn.Module, recorder: Recorder) -> list[Any]:
    """Leaf modules open and close calls; the others name the forward that runs (F.relu in Net.forward)."""
    handles = []
    found = [(n, m) for n, m in leaves(module) if opaque(m)]
    for name, m in found:
        handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: recorder.enter_leaf(name, mod, args)))
        handles.append(m.register_forward_hook(lambda mod, args, out: recorder.leave_leaf(out)))
    leaf_ids = {id(m) for _, m in found}
    for m in module.modules():
        if id(m) not in leaf_ids:
            handles.append(m.register_forward_pre_hook(lambda mod, args: recorder.enter_container(mod)))
            handles.append(m.register_forward_hook(lambda mod, args, out: recorder.leave_container()))
    return handles


def _run(
    module: nn.Module,
    input_shape: tuple[int, ...],
    dtype: str,
    convention: Convention,
    train: bool,
    input_grad: bool,
    counted: set[str] | None = None,
    ran: set[str] | None = None,
) -> list[LayerTrace]:
    meta_state = {
        k: torch.empty(v.shape, dtype=v.dtype, device="meta").requires_grad_(v.requires_grad)
        for k, v in list(module.named_parameters()) + list(module.named_buffers())
    }
    recorder = Recorder({t.untyped_storage()._cdata for t in meta_state.values()})
    param_ids = {meta_state[k].untyped_storage()._cdata for k, _ in module.named_parameters()}
    if ops.numel(input_shape) * TORCH_DTYPES[dtype].itemsize >= 2**62:  # meta tensors too have a byte size
        raise AnalysisError(
            f"the input {tuple(input_shape)} holds {ops.numel(input_shape):,} elements, more than torch can address "
            "in one tensor; give a smaller --input or --batch"
        )
    handles = _hooks(module, recorder)
    was_training = module.training
    x = torch.empty(input_shape, dtype=TORCH_DTYPES[dtype], device="meta").requires_grad_(input_grad)
    try:
        module.train(train)
        with (
            torch.enable_grad(),
            torch.autograd.graph.saved_tensors_hooks(recorder.pack, lambda _: None),
            RecordingMode(recorder),
        ):
            output = torch.func.functional_call(module, meta_state, (x,))
    except VggInspectError:
        raise
    except Exception as exc:  # anything the model's own code raises: one line, its place, its line
        if train and isinstance(exc, ValueError) and "more than 1 value per channel" in str(exc):
            raise _TrainRefused(str(exc).splitlines()[0]) from None
        raise _model_failed(exc, input_shape, recorder) from None
    finally:
        module.train(was_training)
        recorder.saved.release()
        for h in handles:
            h.remove()
    recorder.finish()
    seen: set[int] = set()
    traces = _traces(recorder.calls, storage_id(x), dtype, convention, train, tensor_key(x), param_ids, seen)
    traces = _without_backward_off_the_output(traces, graph_outputs(output))
    if counted is not None:
        # a module's rows count its own tensors (read after the run); a functional call, the ones it was given
        params = dict(module.named_parameters())
        own = [*params.items(), *((k, meta_state[k]) for k in params)]  # (buffers read by a call are no row's)
        counted.update(k for k, v in own if v.untyped_storage()._cdata in seen)
        called = {id(c.module) for c in recorder.calls if c.module is not None}
        counted.update(f"{path}.{b}".lstrip(".") for path, m in module.named_modules() if id(m) in called
                       for b, _ in m.named_buffers(recurse=False))  # fmt: skip
    if ran is not None:
        ran.update(path for path, m in module.named_modules() if id(m) in recorder.ran)
    return traces


def _model_failed(exc: Exception, input_shape: tuple[int, ...], recorder: Recorder) -> AnalysisError:
    active, containers = recorder.active, recorder.containers
    where, plain = _failing_layer(recorder.calls, active[-1]) if active else ("", None)
    place = f" at {where}" if where else (f" in {containers[-1]}.forward" if containers else "")
    text = errors.first_line(exc)
    if not isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError)):
        text = f"{type(exc).__name__}: {text}".rstrip(": ")  # torch's own errors read without a type
    if "meta" in text:
        text += " (the forward runs once on meta tensors, which have shapes and no data)"
    if isinstance(exc, TypeError) and "forward()" in text:
        text += " (the forward is called with one tensor of the --input shape)"
    return errors.code_failed(f"the model cannot run on input {tuple(input_shape)}{place}{own_line(exc)}: "
                              f"{plain or text or type(exc).__name__}", exc)  # fmt: skip


def _device_saved(op: ops.Op, call: Call, itemsize: int, convention: Convention) -> int:
    """Measured saved bytes, from the meta kernels' layout (float32 BN statistics...) to the device's."""

    def new(conv: Convention) -> int:
        return sum(s.nbytes for s in op.saved(call.input_shape, call.output_shape, itemsize, conv) if s.what == "new")

    return call.saved + new(convention) - new(Convention.META)


class _Graph:
    """Which earlier result each tensor a call reads is: the same tensor, else the latest result
    on its storage (a view torch made without a call), else the model's input."""

    def __init__(self, input_key: TensorKey | None) -> None:
        self.made: set[TensorKey] = set()
        self.latest: dict[int, TensorKey | str] = {}
        if input_key is not None:
            self.latest[input_key[0]] = "input"
        self.input = input_key

    def link(self, call: Call) -> tuple[tuple[object, ...], object]:
        sources: list[object] = []
        for key in call.sources:
            if key == self.input:
                sources.append("input")
            elif key in self.made:
                sources.append(key)
            elif key[0] in self.latest:
                sources.append(self.latest[key[0]])
        if call.result is not None:
            self.made.add(call.result)
            self.latest[call.result[0]] = call.result
        return tuple(dict.fromkeys(sources)), call.result


def graph_outputs(output: Any) -> list[TensorKey]:
    """The keys of every tensor the model returns (a tensor, a tuple, a dict of them)."""
    from torch.utils._pytree import tree_leaves

    return [k for k in (tensor_key(t) for t in tree_leaves(output)) if k is not None]


def _without_backward_off_the_output(traces: list[LayerTrace], outputs: list[TensorKey]) -> list[LayerTrace]:
    """A row whose result never reaches the model's output (a style loss's Gram matrix, kept aside)
    gets no backward: autograd runs only what the output's gradient flows through. Without a full
    graph (a row that does not know what it reads), every row keeps its backward."""
    if not outputs or any(t.sources is None or t.result is None for t in traces):
        return traces
    made = {t.result for t in traces}
    live: set[object] = set()
    for key in outputs:  # the output, or the latest result on its storage (a view of it)
        on_storage = (t.result for t in reversed(traces) if isinstance(t.result, tuple) and t.result[0] == key[0])
        live.add(key if key in made else next(on_storage, key))
    for t in reversed(traces):
        if t.result in live:
            live.update(t.sources or ())
    return [
        t if t.result in live else replace(t, input_requires_grad=False, weight_requires_grad=False) for t in traces
    ]


def _traces(
    calls: list[Call],
    input_id: int | None,
    dtype: str,
    convention: Convention,
    train: bool,
    input_key: TensorKey | None = None,
    param_ids: set[int] | None = None,
    seen: set[int] | None = None,
) -> list[LayerTrace]:
    """``param_ids``: the storages of parameters (the rest of what calls read from the module are buffers);
    ``seen`` receives the storages of the parameters the rows count."""
    graph = _Graph(input_key)
    itemsize = torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()
    traces: list[LayerTrace] = []
    counted: set[int] = set()  # a module called twice has its parameters counted once
    seen_weights: set[int] = set() if seen is None else seen  # parameters (shared or tied too) counted once
    previous = input_id
    for call in calls:
        chained = call.reads == previous
        previous = call.writes if call.writes is not None else previous
        # measured in eval runs too (the run keeps grad mode on): the image never needs a gradient
        grads = call.input_requires_grad
        op = call.operator()
        sources, result = graph.link(call)
        saved = (_device_saved(op, call, itemsize, convention) if call.saved else call.saved) if train else None
        if call.module is None:  # a functional call: its operator, and the parameters it reads
            fresh = {
                storage_id(w): w
                for w in call.weights
                if storage_id(w) not in seen_weights
                and (storage_id(w) in param_ids if param_ids is not None else w.requires_grad)
            }
            seen_weights.update(storage_id(w) for w in call.weights)  # type: ignore[misc]
            # a parameter read through a view (weight[None, :, None, None]) counts whole
            params = sum(int(w.untyped_storage().nbytes()) // w.element_size() for w in fresh.values())
            trainable = sum(
                int(w.untyped_storage().nbytes()) // w.element_size() for w in fresh.values() if w.requires_grad
            )
            nbytes = sum(int(w.untyped_storage().nbytes()) for w in fresh.values())
            kind = op.type_label if isinstance(op, ops.Unknown) else type(op).__name__
            traces.append(LayerTrace(call.name, kind, op, call.input_shape, call.output_shape, params, trainable, 0,
                                     nbytes, 0, saved_bytes=saved, chained=chained, input_requires_grad=grads,
                                     weight_requires_grad=call.operand_grad if call.operand_grad is not None
                                     else any(w.requires_grad for w in call.weights),
                                     call=call.key, sources=sources, result=result))  # fmt: skip
            continue
        counts = _counts(call.module, seen_weights) if id(call.module) not in counted else NO_COUNTS
        counted.add(id(call.module))
        traces.append(LayerTrace(module=call.name, type=type(call.module).__name__, op=op,
                                 input_shape=call.input_shape, output_shape=call.output_shape, saved_bytes=saved,
                                 chained=chained, input_requires_grad=grads, sources=sources, result=result,
                                 weight_requires_grad=any(p.requires_grad
                                                          for p in call.module.parameters(recurse=False)),
                                 **counts))  # fmt: skip
    return traces
