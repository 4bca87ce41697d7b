"""Memory conventions, kept apart because each answers a different question.

1. ``activation_bytes``: the input plus the outputs of the paper's layers (conv, LRN, max-pool,
   FC), the CS231n convention. Element-wise layers (ReLU in place, BN, Dropout) and torchvision's
   adaptive avg-pool are left out.
2. ``inference_peak_bytes``: the largest input + output pair of one layer (an in-place layer
   counts its input only): what must be live at once in a sequential forward without autograd.
3. ``training_saved_bytes``: what autograd keeps for backward in train mode, parameters and
   buffers excluded, each storage once (a ReLU in place saves the conv output the next conv also
   saves). Measured with saved-tensor hooks on instantiated modules, predicted by each op's rule.
4. weights, gradients and optimizer state (SGD none, momentum one buffer, Adam two, per
   trainable parameter), and 5. their sum with (3) and the buffers: the training total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .ops import Op, numel, Shape

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}
PAPER_LAYER_KINDS = ("conv", "lrn", "pool", "fc")


@dataclass(frozen=True)
class Step:
    """The part of a layer the memory rules need."""

    op: Op
    kind: str
    input_shape: Shape
    output_shape: Shape
    trainable: bool = False  # has parameters that require grad


def saved_bytes_per_layer(steps: Sequence[Step], itemsize: int, device: str) -> list[int]:
    """Bytes autograd keeps per layer, each storage charged to the first layer that saves it."""
    sizes: dict[int, int] = {0: numel(steps[0].input_shape) * itemsize} if steps else {}
    current = 0
    claimed: set[int] = set()
    out: list[int] = []
    grad = False  # the model input does not require grad; autograd records nothing until it does
    for step in steps:
        if step.op.inplace:
            result = current
        else:
            result = len(sizes)
            sizes[result] = numel(step.output_shape) * itemsize
        total = 0
        grad = grad or step.trainable
        for item in step.op.saved(step.input_shape, step.output_shape, itemsize, device) if grad else ():
            if item.what == "new":
                total += item.nbytes
                continue
            sid = current if item.what == "input" else result
            if sid not in claimed:
                claimed.add(sid)
                total += sizes[sid]
        out.append(total)
        current = result
    return out


def activation_total(steps: Sequence[Step], itemsize: int) -> int:
    if not steps:
        return 0
    values = numel(steps[0].input_shape) + sum(
        numel(s.output_shape) for s in steps if s.kind in PAPER_LAYER_KINDS
    )
    return values * itemsize


def inference_peak(steps: Sequence[Step], itemsize: int) -> int:
    peak = 0
    for s in steps:
        live = numel(s.input_shape) + (0 if s.op.inplace else numel(s.output_shape))
        peak = max(peak, live)
    return peak * itemsize


def optimizer_state_bytes(trainable_param_bytes: int, optimizer: str) -> int:
    return OPTIMIZER_STATES[optimizer] * trainable_param_bytes


def largest_batch(fits: Callable[[int], bool], limit: int = 1 << 40) -> int:
    """Largest batch b with fits(b) (0 if not even 1 fits), for a monotone ``fits``."""
    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi < limit and fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # fits(lo) and not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def inference_bytes(totals: dict) -> int:
    """What inference needs resident: weights, buffers and the peak live activations."""
    return totals["weight_bytes"] + totals["buffer_bytes"] + totals["inference_peak_bytes"]
