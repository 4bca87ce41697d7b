"""Bytes a layer must move, and its arithmetic intensity (FLOPs per byte).

Convention (a lower bound on traffic): each tensor crosses memory once per pass, caches ignored,
operators unfused (as eager PyTorch runs them). Forward: the layer reads its weights and buffers
and every tensor it reads (a skip add reads both), and writes its output. Backward (``--train``,
where the layer takes part): it reads the output gradient, the tensors autograd saved for it, and
its weights when it computes the input gradient; it writes the input gradient and the weight
gradients. Flatten (a view) and Dropout at inference (eval returns its input) move nothing; in
training Dropout reads its input and writes its output and mask. The FLOPs are the report's
(2 x MACs, plus what ``--include`` adds).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ..ops import Convention, LayerKind, numel
from ..ops.traced import LayerTrace
from ..records import record
from .compute import LayerCompute

INPUT = "input"  # the model input's key among a trace's sources
NOTHING_MOVED = (LayerKind.FLATTEN, LayerKind.DROPOUT)  # a view; eval's dropout returns its input


@record(frozen=True)
class LayerTraffic:
    weight_bytes: int  # parameters and buffers read
    input_bytes: int  # every tensor the layer reads
    output_bytes: int
    training_bytes: int  # what training adds: its backward's reads and writes, Dropout's forward
    training_weight_bytes: int = 0  # of training_bytes, what does not grow with the batch (weights, their grads)

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes


def intensity(flops: int | None, nbytes: int) -> float | None:
    """FLOPs per byte; None where the FLOPs are unknown (no formula) or nothing is moved."""
    return None if flops is None or nbytes <= 0 else flops / nbytes


def layer_traffic(
    traces: Sequence[LayerTrace], computes: Sequence[LayerCompute], itemsize: int, convention: Convention
) -> list[LayerTraffic]:
    out: list[LayerTraffic] = []
    model_input = traces[0].input_shape if traces else ()
    shapes: dict[object, tuple[int, ...]] = {INPUT: model_input}  # each result's shape, by its key
    for t, c in zip(traces, computes):
        if t.sources:  # a graph: every tensor it reads, each once
            read = sum(numel(shapes.get(s, t.input_shape)) for s in t.sources) * itemsize
        else:
            read = numel(t.input_shape) * itemsize
        if t.result is not None:
            shapes[t.result] = t.output_shape
        inp, outp = numel(t.input_shape) * itemsize, numel(t.output_shape) * itemsize
        saved = [
            inp if s.what == "input" else outp if s.what == "output" else s.nbytes
            for s in t.op.saved(t.input_shape, t.output_shape, itemsize, convention)
        ]
        training = fixed = 0
        if c.input_grad or c.weight_grad:
            trainable = t.param_bytes * t.trainable_params // t.params if t.params else 0
            # the weights read for the input gradient; the weight gradients written
            fixed = (t.param_bytes if c.input_grad else 0) + (trainable if c.weight_grad else 0)
            # the output gradient and the saved tensors read; the input gradient written
            training = fixed + outp + sum(saved) + (inp if c.input_grad else 0)
        written = outp
        if t.op.kind in NOTHING_MOVED:
            read = written = 0
            if t.op.kind is LayerKind.DROPOUT:
                training += inp + outp + sum(saved)  # train's forward: input read, output and mask written
        out.append(LayerTraffic(t.param_bytes + t.buffer_bytes, read, written, training, fixed))
    return out


def turnover_batch(
    flops_per_image: int, weight_bytes: int, bytes_per_image: int, peak: float, bandwidth: float
) -> int | None:
    """The smallest batch at which a layer is compute-bound: FLOPs grow with the batch, and so do
    the activation bytes, while the weights are read once. None: activation traffic alone keeps it
    memory-bound at any batch (its intensity per image is below the device's ridge point)."""
    f, w, a = Fraction(flops_per_image), Fraction(weight_bytes), Fraction(bytes_per_image)
    p, b = Fraction(str(peak)), Fraction(str(bandwidth))
    margin = f / p - a / b  # seconds of compute beyond activation traffic, per image
    if margin <= 0:
        return None
    need = (w / b) / margin
    whole = need.numerator // need.denominator
    return max(1, whole if whole == need else whole + 1)
