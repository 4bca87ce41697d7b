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
from ..network import VARIANTS, Conv, ModelSpec, format_config, parse_config  # noqa: E402
from ..report.model import Identification, ShapeMismatch, WeightsCheck  # noqa: E402
from .instantiate import VGG  # noqa: E402

WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")
STATS = ("running_mean", "running_var", "num_batches_tracked")


def load_state(path: str, param: str = "weights") -> tuple[dict[str, Any], list[str]]:
    """The state dict in ``path`` (memory-mapped where the format allows: shapes, not data, are
    read), and notes on how it was unwrapped."""
    if not os.path.isfile(path):
        raise VggInspectError(f"{{param}} '{path}' does not exist (or is not a file)", param=param)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # the legacy (non-zip) format cannot be memory-mapped
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling error, a truncated file, not a checkpoint at all
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VggInspectError(
            f"{path} is not a state dict that loads with weights_only=True ({first[:160]}); "
            "vgg-inspect never runs pickled code"
        ) from None
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


def _params(state: dict[str, Any]) -> int:
    return sum(int(v.numel()) for k, v in state.items() if not k.endswith(STATS))


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


def _torchvision_layers(state: dict[str, Any]) -> tuple[str, bool, int] | None:
    """(layer list, batch norm, input channels) read from torchvision's key layout, where the
    module indices of ``features`` reveal the pools (and an LRN) between the convs."""
    convs = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"features\.(\d+)\.weight", k))
                   and state[k].dim() == 4)  # fmt: skip
    if not convs:
        return None
    bn = any(re.fullmatch(r"features\.\d+\.running_mean", k) for k in state)
    step = 3 if bn else 2  # conv (+ BN) + ReLU
    tokens = []
    for i, index in enumerate(convs):
        weight = state[f"features.{index}.weight"]
        out, _, k, _ = weight.shape
        tokens.append(str(out) if k == 3 else f"{k}x{k}-{out}")
        gap = (convs[i + 1] - index - step) if i + 1 < len(convs) else 1  # the last pool is not in the keys
        tokens += ["M"] * gap if gap <= 1 else ["LRN"] + ["M"] * (gap - 1)
    first = state[f"features.{convs[0]}.weight"]
    return ",".join(tokens), bn, int(first.shape[1])


def _conv_signature(state: dict[str, Any]) -> list[tuple[int, int]]:
    """(out channels, kernel) of every 4-D weight in key order: a layout-independent fingerprint."""
    return [(int(v.shape[0]), int(v.shape[2])) for k, v in state.items() if k.endswith("weight") and v.dim() == 4]


def _classes(state: dict[str, Any]) -> int | None:
    linear = [v for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    return int(linear[-1].shape[0]) if linear else None


def identify(path: str) -> Identification:
    """Which VGG a state dict belongs to: by torchvision's key layout, else by the sequence of
    weight shapes; otherwise the closest variant and where it differs."""
    state, notes = load_state(path, param="file")
    classes = _classes(state)
    bn = any(k.endswith("running_mean") for k in state)
    layout = _torchvision_layers(state)
    in_channels = layout[2] if layout else next((int(v.shape[1]) for v in state.values() if v.dim() == 4), None)
    signature = _conv_signature(state)
    best: tuple[int, str] | None = None
    for name, v in VARIANTS.items():
        if v.batch_norm != bn:
            continue
        want = _convs(v.layers)
        if layout and parse_config(layout[0]) == parse_config(v.layers):
            return Identification(path, name, v.config, "torchvision key layout", classes, bn, in_channels,
                                  _params(state), [], notes)  # fmt: skip
        if not layout and signature == want:
            if v.config == "A":
                notes.append("A and A-LRN have the same weights (LRN has none): renamed keys cannot tell them apart")
            return Identification(path, name, v.config, "sequence of weight shapes (keys renamed)", classes, bn,
                                  in_channels, _params(state), [], notes)  # fmt: skip
        distance = _distance(signature, want)
        if best is None or distance < best[0]:
            best = (distance, name)
    if best is None:
        return Identification(path, None, None, "no VGG variant matches", classes, bn, in_channels, _params(state),
                              ["no variant with this BatchNorm setting"], notes)  # fmt: skip
    closest = VARIANTS[best[1]]
    want = _convs(closest.layers)
    differences = _differences(signature, want)
    if layout:
        theirs = format_config(parse_config(closest.layers))
        differences.insert(0, f"its layer list is {layout[0]}, {closest.name}'s is {theirs}")
    return Identification(path, None, None, f"closest: {closest.name} (config {closest.config})", classes, bn,
                          in_channels, _params(state), differences, notes)  # fmt: skip


def _convs(layers: str) -> list[tuple[int, int]]:
    return [(t.out_channels, t.kernel) for t in parse_config(layers) if isinstance(t, Conv)]


def _distance(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


def _differences(have: list[tuple[int, int]], want: list[tuple[int, int]]) -> list[str]:
    out = []
    if len(have) != len(want):
        out.append(f"{len(have)} convolutions instead of {len(want)}")
    for i, (h, w) in enumerate(zip(have, want), start=1):
        if h != w:
            out.append(f"conv {i}: {h[1]}x{h[1]} with {h[0]} channels instead of {w[1]}x{w[1]} with {w[0]}")
    return out[:8]
