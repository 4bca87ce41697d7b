"""Real measurements on a device: CUDA's allocator peak for one forward (and backward)."""

from __future__ import annotations

from . import require

require("torch", "measuring memory on a device")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..errors import AnalysisError, VggInspectError  # noqa: E402


def measure_cuda(model: nn.Module, input_shape: tuple[int, ...], *, train: bool) -> dict[str, int]:
    """A real forward (and backward with ``train``) on CUDA; torch.cuda.max_memory_allocated."""
    device = next(model.parameters()).device
    if device.type != "cuda":
        raise VggInspectError("{param} needs a cuda device (it reads torch.cuda.max_memory_allocated)", param="measure")
    dtype = next(model.parameters()).dtype
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    resident = torch.cuda.memory_allocated(device)  # weights and buffers
    torch.cuda.reset_peak_memory_stats(device)
    try:
        x = torch.randn(input_shape, device=device, dtype=dtype)
        if train:
            model.train()
            out = model(x)
            (out[0] if isinstance(out, tuple) else out).float().sum().backward()
        else:
            model.eval()
            with torch.no_grad():
                model(x)
    except (RuntimeError, ValueError) as exc:  # out of memory, or a model that refuses the input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AnalysisError(f"the real run on {device} failed: {type(exc).__name__}: {first}") from None
    torch.cuda.synchronize(device)
    return {"resident_bytes": resident, "max_memory_allocated": torch.cuda.max_memory_allocated(device)}
