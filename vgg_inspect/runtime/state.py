"""A module's state dict as data (``network/state.ModelState``): keys, shapes, dtypes and which
storage each tensor lives in (tied weights share one), read from the module (on meta: no memory)."""

from __future__ import annotations

from . import require

require("torch", "reading a module's state dict")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..network.state import ITEMSIZES, ModelState, StateTensor  # noqa: E402

QUANTISABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def state_of(module: nn.Module) -> ModelState:
    """What ``module.state_dict()`` holds; entries that are not tensors (extra state) are named apart."""
    storages: dict[int, int] = {}
    tensors, not_counted = [], []
    for key, t in module.state_dict(keep_vars=True).items():
        dtype = str(t.dtype).removeprefix("torch.") if isinstance(t, torch.Tensor) else ""
        if dtype not in ITEMSIZES:
            not_counted.append(key)
            continue
        storage = t.untyped_storage()
        index = storages.setdefault(storage._cdata, len(storages))
        owner, _, name = key.rpartition(".")
        quantisable = name == "weight" and isinstance(module.get_submodule(owner), QUANTISABLE)
        tensors.append(StateTensor(key, tuple(t.shape), dtype, index, storage.nbytes() // t.element_size(), quantisable,
                                   tuple(t.stride()), int(t.storage_offset())))  # fmt: skip
    modules = [(path, getattr(m, "_version", 1)) for path, m in module.named_modules()]
    return ModelState(tensors, modules, not_counted)
