"""The module a report is taken from, out of what people hand the tool: the model inside a
``torch.compile``, ``DataParallel`` or DDP wrapper, and lazy modules materialised by one forward
on meta tensors (no storage). A TorchScript module is refused in one line: its Python forward and
module hooks are gone."""

from __future__ import annotations

import copy

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .. import errors  # noqa: E402
from ..errors import AnalysisError  # noqa: E402
from .instantiate import TORCH_DTYPES  # noqa: E402
from .recorder import ShortcutMode  # noqa: E402


def unwrap(module: nn.Module, notes: list[str]) -> nn.Module:
    """The model inside its wrappers, each named in ``notes``."""
    while True:
        if isinstance(module, torch.jit.ScriptModule):
            raise AnalysisError(
                "a TorchScript module (torch.jit.script or torch.jit.trace) keeps no Python forward and takes no "
                "module hooks, so it cannot be traced layer by layer; give the nn.Module it was made from"
            )
        inner = module._modules.get("_orig_mod") if type(module).__name__ == "OptimizedModule" else None
        if isinstance(inner, nn.Module):  # torch.compile: no import of torch._dynamo needed to see it
            notes.append("the model is compiled with torch.compile: the module inside (_orig_mod) is analysed")
            module = inner
            continue
        if isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            notes.append(f"the model is wrapped in {type(module).__name__}: the module inside (.module) is analysed")
            module = module.module
            continue
        return module


def is_lazy(module: nn.Module) -> bool:
    return any(isinstance(t, nn.parameter.UninitializedTensorMixin) for t in [*module.parameters(), *module.buffers()])


def _meta_copy(module: nn.Module) -> nn.Module:
    """A copy on meta. ``.to("meta")`` would turn a lazy parameter into an empty one: each is made
    anew, uninitialised, on meta (its materialisation then allocates nothing)."""
    made = copy.deepcopy(module)
    for m in made.modules():
        for table in (m._parameters, m._buffers):
            for key, t in list(table.items()):
                if t is None:
                    continue
                if isinstance(t, nn.parameter.UninitializedParameter):
                    table[key] = nn.parameter.UninitializedParameter(t.requires_grad, device="meta", dtype=t.dtype)
                elif isinstance(t, nn.parameter.UninitializedBuffer):
                    table[key] = nn.parameter.UninitializedBuffer(t.requires_grad, device="meta", dtype=t.dtype)
                elif isinstance(t, nn.Parameter):
                    table[key] = nn.Parameter(torch.empty_like(t, device="meta"), t.requires_grad)
                else:
                    table[key] = torch.empty_like(t, device="meta")
    return made


def materialise(module: nn.Module, shape: tuple[int, ...], dtype: str, notes: list[str]) -> nn.Module:
    """A lazy module's shapes found by one forward on meta tensors at ``shape`` (a meta copy when the
    module is elsewhere, so that nothing is allocated and the caller's module is left as it was)."""
    if not is_lazy(module):
        return module
    on_meta = all(t.is_meta for t in [*module.parameters(), *module.buffers()])
    built = module if on_meta else _meta_copy(module)
    try:
        with torch.no_grad(), ShortcutMode():
            built(torch.empty(shape, dtype=TORCH_DTYPES[dtype], device="meta"))
    except Exception as exc:  # the model's own code: one line
        first = errors.first_line(exc) or type(exc).__name__
        raise errors.code_failed(f"the lazy modules could not be materialised at input {tuple(shape)}: {first}",
                                 exc) from None  # fmt: skip
    notes.append(
        f"lazy modules (LazyConv2d, LazyLinear...) were materialised by one forward on meta tensors at input "
        f"{tuple(shape)}: their sizes hold for that input"
    )
    return built
