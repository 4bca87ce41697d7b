"""What the weights take on disk or in a device's storage, per number format.

* fp32, fp16, bf16: every parameter and buffer at that width (BatchNorm's ``num_batches_tracked``
  stays int64, as torch keeps it).
* fp8, int8, int4: the conv and linear *weights* at that width (int4 packs two to a byte), with one
  float32 scale per output channel (symmetric per-channel quantisation, no zero point); biases,
  norm parameters and buffers stay float32, as PyTorch's quantised kernels keep them.
* ``torch.save(model.state_dict())``: the tensors' bytes plus the zip archive torch writes (a pickle
  naming each key, a local and a central header per tensor, each tensor's data aligned to 64 bytes).
  The closed form below is within ``checkpoint_slack`` of a real file (the tests save real files);
  the exact figure depends on the key names, the alignment padding and torch's pickle.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ops import LayerKind
from ..ops.layers import WeightLayer
from ..ops.traced import LayerTrace
from ..records import record

SCALE_BYTES = 4  # one float32 scale per output channel
FORMATS = (("fp32", 32), ("fp16", 16), ("bf16", 16), ("fp8", 8), ("int8", 8), ("int4", 4))
QUANTISED = ("fp8", "int8", "int4")
# torch.save's zip archive, fitted to real files of torch 2.x (the tests hold every variant to the
# bound): a fixed part (data.pkl's frame, byteorder, version and alignment records, an id), per
# tensor (its "archive/data/N" name in two headers, the headers, alignment padding, its rebuild call
# in the pickle) and per module (its entry in the state dict's ``_metadata``), besides the names.
CHECKPOINT_FIXED_BYTES = 725
CHECKPOINT_PER_TENSOR = 275
CHECKPOINT_PER_MODULE = 8
CHECKPOINT_SLACK_PER_TENSOR = 64  # the closed form's error bound, per tensor (padding is 0..63)
CHECKPOINT_SLACK_BYTES = 256  # and in all


@record(frozen=True)
class WeightSplit:
    quantisable: int  # conv and linear weights
    channels: int  # their output channels (one scale each)
    other_params: int  # biases, norm parameters
    buffer_values: int  # running statistics (float)
    counters: int  # num_batches_tracked (int64 each)
    tensors: int  # tensors in the state dict
    key_letters: int  # the state dict's key names, letters in all
    modules: int  # modules (the state dict's metadata has an entry for each)
    module_letters: int


def split(traces: Sequence[LayerTrace], module_names: Sequence[str]) -> WeightSplit:
    """The model's parameters and buffers by what each format does with them. ``module_names``: each
    trace's module path (the state dict's key prefixes)."""
    quantisable = channels = other = buffers = counters = tensors = letters = 0
    for t, name in zip(traces, module_names):
        op = t.op
        if isinstance(op, WeightLayer) and t.params and t.params == op.params():
            outs = int(getattr(op, "out_channels", 0) or getattr(op, "out_features", 0))
            bias = outs if op.bias else 0
            quantisable += t.params - bias
            channels += outs
            other += bias
            keys = ["weight", *(["bias"] if bias else [])]
        else:
            other += t.params
            keys = ["weight", "bias"] if t.params else []
        if t.op.kind is LayerKind.NORM and t.buffers:
            counters += 1
            buffers += t.buffers - 1
            keys += ["running_mean", "running_var", "num_batches_tracked"]
        else:
            buffers += t.buffers
        tensors += len(keys)
        letters += sum(len(name) + 1 + len(k) for k in keys)
    return WeightSplit(quantisable, channels, other, buffers, counters, tensors, letters, len(module_names),
                       sum(len(n) for n in module_names))  # fmt: skip


def format_bytes(s: WeightSplit, fmt: str, bits: int) -> tuple[int, int]:
    """(weight bytes with their scales, everything else) at ``fmt``."""
    if fmt in QUANTISED:
        weights = (s.quantisable * bits + 7) // 8 + s.channels * SCALE_BYTES
        return weights, (s.other_params + s.buffer_values) * 4 + s.counters * 8
    width = bits // 8
    return s.quantisable * width, (s.other_params + s.buffer_values) * width + s.counters * 8


def checkpoint_bytes(s: WeightSplit) -> int:
    """``torch.save(state_dict)`` at float32: the data, and the archive around it."""
    data = (s.quantisable + s.other_params + s.buffer_values) * 4 + s.counters * 8
    archive = CHECKPOINT_FIXED_BYTES + s.tensors * CHECKPOINT_PER_TENSOR + s.modules * CHECKPOINT_PER_MODULE
    return data + archive + s.key_letters + s.module_letters


def checkpoint_slack(s: WeightSplit) -> int:
    """How far a real file may lie from :func:`checkpoint_bytes` (either way)."""
    return s.tensors * CHECKPOINT_SLACK_PER_TENSOR + CHECKPOINT_SLACK_BYTES
