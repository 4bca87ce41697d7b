"""MACs, FLOPs and forward + backward FLOPs per layer, with the ``--include`` counting rules.

* MACs: multiply-accumulates of conv and linear weights; bias, activations and pooling excluded.
* FLOPs = 2 x MACs, plus whatever ``include`` adds (rules in ``ops/layers.py``).
* Train FLOPs = FLOPs + 2 x backward MACs: each gradient the backward of the output computes (the
  weights where they train, the input where it needs one: not the image unless it requires grad,
  nothing upstream of the first trainable layer, nothing off the output's path; a trace measures
  each, operand by operand). This is what ``FlopCounterMode`` counts for forward + backward with
  the same ``requires_grad`` (report/assemble.CONVENTIONS says it in the report's words).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import VggInspectError
from ..ops.traced import LayerTrace
from ..records import record

INCLUDE_CHOICES = ("bias", "relu", "pool", "norm", "elementwise")


def check_include(include: Iterable[str] | str) -> list[str]:
    """The ``include`` categories in canonical order; an unknown one is a VggInspectError."""
    if isinstance(include, str):
        include = include.split(",")
    try:
        chosen = [str(c).strip().lower() for c in include if str(c).strip()]
    except TypeError:
        raise VggInspectError(f"{{param}} must be a list of {', '.join(INCLUDE_CHOICES)}", param="include") from None
    for c in chosen:
        if c not in INCLUDE_CHOICES:
            raise VggInspectError(
                f"unknown {{param}} item '{c}'; expected any of {', '.join(INCLUDE_CHOICES)}", param="include"
            )
    return [c for c in INCLUDE_CHOICES if c in chosen]


@record(frozen=True)
class LayerCompute:
    macs: int | None  # None: no formula for this layer type
    flops: int | None
    train_flops: int | None
    extra_flops: dict[str, int]
    input_grad: bool = False  # the backward computes the gradient w.r.t. this layer's input
    weight_grad: bool = False  # ... and w.r.t. its weights


def layer_compute(
    traces: Sequence[LayerTrace], include: list[str], input_requires_grad: bool = False
) -> list[LayerCompute]:
    """``input_requires_grad``: the model's input needs a gradient (closed form; a trace measures it)."""
    out = []
    seen_weights = input_requires_grad
    for t in traces:
        macs = t.op.macs(t.input_shape, t.output_shape)
        # Nothing upstream of the first weight layer needs a gradient w.r.t. its input; a trace
        # knows exactly (a branch that reads the image directly needs none either).
        needs = seen_weights if t.input_requires_grad is None else t.input_requires_grad
        # a frozen layer (requires_grad False) computes no weight gradient: autograd skips it
        weights = t.trainable_params > 0 if t.weight_requires_grad is None else t.weight_requires_grad
        if macs is None:
            out.append(LayerCompute(None, None, None, {}, needs, weights))
        else:
            extra = t.op.extra_flops(t.input_shape, t.output_shape)
            flops = 2 * macs + sum(v for k, v in extra.items() if k in include)
            train = flops + 2 * t.op.backward_macs(t.input_shape, t.output_shape, needs, weights)
            out.append(LayerCompute(macs, flops, train, extra, needs, weights))
        seen_weights = seen_weights or t.trainable_params > 0
    return out
