"""The per-layer record both analysis paths produce, and the analytical path that produces it.

A ``LayerTrace`` is one executed operation: its module path, operator, shapes and real counts.
The analytical path derives it from a layer list with each op's formulas (no torch); the torch
runtime derives it from an instantiated module. The report is built from traces alone.
"""

from __future__ import annotations

from ..errors import VggInspectError
from ..records import record
from . import base as ops


@record(frozen=True)
class LayerTrace:
    module: str
    type: str
    op: ops.Op
    input_shape: ops.Shape
    output_shape: ops.Shape
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    saved_bytes: int | None = None  # measured by hooks; None: each op's rule gives it
    chained: bool = True  # reads the previous row's output; False where the model branches or joins
    input_requires_grad: bool | None = None  # measured by a trace; None: true after the first weight layer
    weight_requires_grad: bool | None = None  # any of its weights trainable (None: it has trainable parameters)
    call: tuple[str, int] | None = None  # a functional call: (op family, its n-th call outside modules)
    # A trace's graph: the tensors it reads ("input": the model's) and the one it writes; None: a chain
    sources: tuple[object, ...] | None = None
    result: object = None


def analytical_traces(
    layers: list[tuple[str, ops.Op]],
    input_shape: ops.Shape,
    itemsize: int,
    *,
    model: str = "the model",
    labels: list[str] | None = None,
    min_input: int | None = None,
) -> list[LayerTrace]:
    """Shapes and parameter counts of every layer from the formulas alone. ``labels`` name the
    layers in errors (paper names); ``min_input`` is quoted when the input is too small."""
    traces: list[LayerTrace] = []
    shape = input_shape
    for i, (module, op) in enumerate(layers):
        label = labels[i] if labels else module
        try:
            out = op.output_shape(shape)
        except ValueError as exc:
            raise VggInspectError(f"{model} cannot run on input {input_shape}: {label}: {exc}") from None
        if len(out) == 4 and any(v <= 0 for v in out[2:]):
            h, w = input_shape[2:]
            need = f"; it needs at least {min_input}x{min_input}" if min_input else ""
            raise VggInspectError(
                f"input {h}x{w} is too small for {model}: {label} would output {out[2]}x{out[3]}{need}",
                param="input_size",
            )
        p = op.params()
        traces.append(
            LayerTrace(
                module, op.type_name, op, shape, out, p, p, op.buffers(), p * itemsize, op.buffer_bytes(itemsize)
            )
        )
        shape = out
    return traces
