"""Meta results of the common ops, made directly instead of by their meta kernels.

Several of those kernels are Python refs wrapped in dynamo.disable, whose first call imports
torch._dynamo (0.7 s, most of a user-model analysis), and the windowed ones call torch._check,
which imports sympy (0.25 s). Each op's binding says what may be assumed of it; every shortcut is
tested against torch's own meta kernel, and any case it does not cover is left to the kernel."""

from __future__ import annotations

from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402

from . import bindings  # noqa: E402


def meta_result(name: str, args: tuple[Any, ...], kwargs: Any) -> Any:
    """The meta result of aten ``name`` on ``args``; None: let the op's own meta kernel run."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if kwargs or not tensors or any(not t.is_meta or t.dtype != tensors[0].dtype for t in tensors):
        return None
    x = tensors[0]
    if bindings.same_shape(name):
        if name.endswith("_"):  # in place: the other operands must broadcast to x
            return x if all(bindings.broadcasts(t.shape, x.shape) for t in tensors[1:]) else None
        return x.new_empty(x.shape) if x.is_contiguous() else None  # (empty_like is a Python ref too)
    if name == "mul" and len(tensors) == 2 == len(args) and x.shape == tensors[1].shape and x.is_contiguous():
        return x.new_empty(x.shape)  # the dropout's x * mask
    binding = bindings.for_aten(name)
    return binding.meta(name, args, x) if binding is not None and binding.meta is not None else None
