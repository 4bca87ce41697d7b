"""Checkpoints: load a state dict safely (``weights_only``: never pickled code), check it against an
architecture, and tell which VGG a state dict belongs to."""

from __future__ import annotations

import os
import re
from typing import Any

from . import require

require("torch", "reading a checkpoint")
import torch  # noqa: E402

from ..errors import VggInspectError  # noqa: E402
from ..network import ModelSpec  # noqa: E402
from ..report.identify import identify_shapes  # noqa: E402
from ..report.model import Identification, ShapeMismatch, WeightsCheck  # noqa: E402
from .instantiate import VGG  # noqa: E402

WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")
STATS = ("running_mean", "running_var", "num_batches_tracked")


def load_state(path: str, param: str = "weights") -> tuple[dict[str, Any], list[str]]:
    """The state dict in ``path`` (memory-mapped where the format allows: shapes, not data, are
    read), and notes on how it was unwrapped."""
    if not os.path.isfile(path):
        raise VggInspectError(f"{{param}} '{path}' does not exist (or is not a file)", param=param)
    if path.endswith(".py"):  # source code, not a checkpoint: say what the command takes instead
        raise VggInspectError(f"{path} is Python source, not a checkpoint: {{param}} takes a state dict (.pt, .pth), "
                              "a Keras or an ONNX file; your own model's class is analysed with "
                              f"vgg-inspect summary {path}:Name", param=param)  # fmt: skip
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # the legacy (non-zip) format cannot be memory-mapped
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling error, a truncated file, not a checkpoint at all
        raise VggInspectError(_unloadable(path, exc)) from None
    notes: list[str] = []
    for key in WRAPPERS:
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            notes.append(f"the state dict is under the key '{key}'")
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise VggInspectError(f"{path} holds no state dict (a mapping of names to tensors)")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
        notes.append("the 'module.' prefix of DataParallel was removed")
    return dict(obj), notes


def _unloadable(path: str, exc: Exception) -> str:
    """Why ``path`` did not load, in one plain sentence: torch's own first sentence without its
    terminal colours, never cut mid-word."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    if "Weights only load failed" in text:
        return (
            f"{path} holds pickled Python objects that weights_only=True refuses (a whole model saved with "
            "torch.save(model)? save model.state_dict() instead); vgg-inspect never runs pickled code"
        )
    first = re.split(r"(?<=[.!?])\s", text.splitlines()[0] if text else type(exc).__name__)[0].rstrip(".")
    return f"{path} is not a torch checkpoint that loads with weights_only=True: {first}"


def _aliases(state: dict[str, Any]) -> dict[str, str]:
    """Keys naming a tensor already stored under an earlier key (a module reachable by two names:
    ``conv1`` and ``encoder.0``), each with that key: torch.save stores the tensor once."""
    first: dict[tuple[int, int, tuple[int, ...]], str] = {}
    out = {}
    for k, v in state.items():
        if v.numel() == 0:
            continue
        where = (v.untyped_storage().data_ptr(), int(v.storage_offset()), tuple(v.shape))
        if where in first:
            out[k] = first[where]
        else:
            first[where] = k
    return out


def _params(state: dict[str, Any]) -> int:
    """The values the file holds, each stored tensor once (running statistics are no parameters)."""
    aliases = _aliases(state)
    return sum(int(v.numel()) for k, v in state.items() if not k.endswith(STATS) and k not in aliases)


def check_weights(path: str, model: ModelSpec | torch.nn.Module) -> WeightsCheck:
    """Missing, unexpected and mis-shaped keys of the file against the architecture (a built-in's
    spec, or any module: only its state dict's names and shapes are read)."""
    state, notes = load_state(path)
    module = VGG(model) if isinstance(model, ModelSpec) else model
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    mismatches = [ShapeMismatch(k, list(expected[k]), list(found[k])) for k in expected
                  if k in found and expected[k] != found[k]]  # fmt: skip
    misshaped = [f"{m.key}: expected {m.text(m.expected)}, got {m.text(m.found)}" for m in mismatches]
    return WeightsCheck(path, _params(state), len(state), missing, unexpected, misshaped, notes,
                        not (missing or unexpected or misshaped), mismatches)  # fmt: skip


def identify(path: str) -> Identification:
    """Which VGG a state dict belongs to (``report.identify``: features by key layout or weight
    shapes, then the head and the depth)."""
    state, notes = load_state(path, param="file")
    aliases = _aliases(state)
    if aliases:
        k, v = next(iter(aliases.items()))
        notes.append(f"{len(aliases)} key(s) name tensors stored under another key ({k} is {v}): each counted once, "
                     "as torch.save stores it")  # fmt: skip
    shapes = {k: tuple(int(n) for n in v.shape) for k, v in state.items() if k not in aliases}
    return identify_shapes(path, shapes, _params(state), notes)
