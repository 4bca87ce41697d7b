"""Memory conventions, kept apart because each answers a different question.

1. ``activation_bytes``: the input plus the outputs of the paper's layers (conv, LRN, max-pool,
   FC), the CS231n convention. Element-wise layers (ReLU in place, BN, Dropout) and torchvision's
   adaptive avg-pool are left out.
2. ``inference_peak_bytes``: the largest input + output pair of one layer (an in-place layer
   counts its input only), REFERENCE's convention for "peak live during inference".
3. ``inference_required_bytes``: what an inference call really needs resident, used for budgets:
   weights + buffers + the input the caller holds + the largest live set of one layer (its input,
   output and the backend's transient workspace, see ``Op.workspace``) + a fixed margin.
4. ``training_saved_bytes``: what autograd keeps for backward in train mode, parameters and
   buffers excluded, each storage once (a ReLU in place saves the conv output the next conv also
   saves), by the named device's kernels (``Convention``).
5. weights, gradients and optimizer state (SGD none, momentum one buffer, Adam two, per
   trainable parameter), and 6. their sum with (4) and the buffers: the training total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import VggInspectError
from ..ops import Convention, ConvKernel, LayerKind, numel
from ..ops.traced import LayerTrace

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}
PAPER_LAYER_KINDS = (LayerKind.CONV, LayerKind.LRN, LayerKind.POOL, LayerKind.FC)
# Allocator slack and small transients beside the per-layer workspaces (budget safety margin).
INFERENCE_MARGIN_BYTES = 16 * 2**20


def saved_bytes_per_layer(traces: Sequence[LayerTrace], itemsize: int, convention: Convention) -> list[int]:
    """Bytes autograd keeps per layer, each storage charged to the first layer that saves it."""
    sizes: dict[int, int] = {0: numel(traces[0].input_shape) * itemsize} if traces else {}
    current = 0
    claimed: set[int] = set()
    out: list[int] = []
    grad = False  # the model input does not require grad; autograd records nothing until it does
    for t in traces:
        if t.op.inplace:
            result = current
        else:
            result = len(sizes)
            sizes[result] = numel(t.output_shape) * itemsize
        total = 0
        grad = grad or t.trainable_params > 0
        for item in t.op.saved(t.input_shape, t.output_shape, itemsize, convention) if grad else ():
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


def activation_total(traces: Sequence[LayerTrace], itemsize: int) -> int:
    if not traces:
        return 0
    values = numel(traces[0].input_shape) + sum(numel(t.output_shape) for t in traces if t.op.kind in PAPER_LAYER_KINDS)
    return values * itemsize


def inference_peak(traces: Sequence[LayerTrace], itemsize: int) -> int:
    peak = 0
    for t in traces:
        live = numel(t.input_shape) + (0 if t.op.inplace else numel(t.output_shape))
        peak = max(peak, live)
    return peak * itemsize


def inference_live(traces: Sequence[LayerTrace], itemsize: int, kernel: ConvKernel = ConvKernel.EITHER) -> int:
    """The caller's input + the largest (layer input, output, workspace) set of one layer.

    The first layer's input is the caller's input, counted once."""
    if not traces:
        return 0
    given = numel(traces[0].input_shape) * itemsize
    peak = 0
    for i, t in enumerate(traces):
        live = 0 if i == 0 else numel(t.input_shape) * itemsize
        if not t.op.inplace:
            live += numel(t.output_shape) * itemsize
        live += t.op.workspace(t.input_shape, t.output_shape, itemsize, kernel)
        peak = max(peak, live)
    return given + peak


def optimizer_state_bytes(trainable_param_bytes: int, optimizer: str) -> int:
    return OPTIMIZER_STATES[optimizer] * trainable_param_bytes


def largest_batch(fits: Callable[[int], bool], limit: int) -> int:
    """Largest batch b <= ``limit`` with fits(b) (0 if not even 1 fits), for a monotone ``fits``."""
    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi <= limit and fits(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:  # fits(lo) and not fits(hi) (or hi beyond the limit)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


# What a CUDA device holds beside the tensors this tool counts, none of it modelled: the context
# (0.3-0.6 GiB), the caching allocator's rounding and fragmentation, cuDNN and cuBLAS workspaces.
CARD_MARGIN = 0.10


def card_budget(name: str) -> tuple[int, list[str]]:
    """The budget a card from the data sheets gives (its capacity less ``CARD_MARGIN``), and what
    to say about the rules the estimate follows there."""
    from .devices import device_spec

    spec = device_spec(name)
    if not spec.memory_gb:
        raise VggInspectError(f"{spec.title} has no memory capacity in the data sheets here: give --budget SIZE",
                              param="device_spec")  # fmt: skip
    capacity = int(spec.memory_gb * 1e9)
    limit = int(capacity * (1 - CARD_MARGIN))
    return limit, [
        f"budget: {spec.title}'s {spec.memory_gb:g} GB ({capacity:,} B, the data sheet's decimal GB) less "
        f"{CARD_MARGIN:.0%} = {limit:,} B = {limit / 2**30:.1f} GiB, a margin for what CUDA adds that is not "
        "modelled: the context (about 0.3-0.6 GiB), the caching allocator's rounding and fragmentation, cuDNN and "
        "cuBLAS workspaces",
        "on that card the estimate follows this tool's kernel rules: saved-for-backward bytes by each layer's "
        "rule (the CPU kernels' where they differ) and workspaces measured on CPU; --device cuda --measure on "
        "the card checks them",
    ]
