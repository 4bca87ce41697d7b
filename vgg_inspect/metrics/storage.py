"""What the weights take on disk or in a device's storage, per number format, from the state dict
(``network/state.ModelState``): every tensor counts once, whatever holds it (a layer, the model
itself, a module the forward never calls), and a storage two keys share counts once.

* fp32, fp16, bf16: every floating-point parameter and buffer at that width; integer tensors
  (BatchNorm's ``num_batches_tracked``, int64) keep theirs, as torch keeps them.
* fp8, int8, int4: the conv and linear *weights* at that width (int4 packs two to a byte), with one
  float32 scale per output channel (symmetric per-channel quantisation, no zero point); biases,
  norm parameters and buffers stay float32, as PyTorch's quantised kernels keep them.
* ``torch.save(model.state_dict(), "model.pt")``: exact, from ``metrics/torch_save.py``.
"""

from __future__ import annotations

from ..network.state import FLOATS, ITEMSIZES, ModelState
from ..records import record

SCALE_BYTES = 4  # one float32 scale per output channel
FORMATS = (("fp32", 32), ("fp16", 16), ("bf16", 16), ("fp8", 8), ("int8", 8), ("int4", 4))
QUANTISED = ("fp8", "int8", "int4")


@record(frozen=True)
class WeightSplit:
    quantisable: int  # conv and linear weights
    channels: int  # their output channels (one scale each)
    other_values: int  # every other floating-point value: biases, norm parameters, running statistics
    fixed_bytes: int  # integer tensors, at their own width in every format (num_batches_tracked)
    tensors: int  # storages, each counted once


def split(state: ModelState) -> WeightSplit:
    """The model's tensors by what each format does with them, each storage once."""
    quantisable = channels = other = fixed = 0
    seen: set[int] = set()
    for t in state.tensors:
        if t.storage in seen:
            continue
        seen.add(t.storage)
        if t.dtype not in FLOATS:
            fixed += t.storage_numel * ITEMSIZES[t.dtype]
        elif t.quantisable and t.shape:
            quantisable += t.storage_numel
            channels += t.shape[0]
        else:
            other += t.storage_numel
    return WeightSplit(quantisable, channels, other, fixed, len(seen))


def format_bytes(s: WeightSplit, fmt: str, bits: int) -> tuple[int, int]:
    """(weight bytes with their scales, everything else) at ``fmt``."""
    if fmt in QUANTISED:
        weights = (s.quantisable * bits + 7) // 8 + s.channels * SCALE_BYTES
        return weights, s.other_values * 4 + s.fixed_bytes
    width = bits // 8
    return s.quantisable * width, s.other_values * width + s.fixed_bytes
