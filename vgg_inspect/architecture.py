"""A model description (variant or custom layer list + options) expanded into torchvision's layout.

``layer_defs`` is the single source of a VGG's structure: the analytical path computes on it and
``torch_backend`` builds the ``nn.Module`` from it, with torchvision's module paths
(``features.N``, ``avgpool``, ``classifier.N``) so that torchvision checkpoints load.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ops
from .configs import Conv, Lrn, Pool, Token, Variant, format_config, parse_config, resolve_model
from .errors import VggInspectError

HIDDEN = 4096
POOLED = (7, 7)
# Paper's LRN (k=2, n=5, alpha=1e-4, beta=0.75, alpha*sum) in PyTorch's alpha/n convention.
PAPER_LRN = ops.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    config: str  # paper letter, or "custom"
    tokens: tuple[Token, ...]
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3

    @property
    def layers(self) -> str:
        return format_config(self.tokens)

    @property
    def weight_layers(self) -> int:
        return sum(isinstance(t, Conv) for t in self.tokens) + 3


@dataclass(frozen=True)
class LayerDef:
    module: str
    op: ops.Op


def model_spec(
    model: str | None = None,
    *,
    config: str | None = None,
    batch_norm: bool = False,
    num_classes: int = 1000,
    in_channels: int = 3,
) -> ModelSpec:
    """Resolve a variant name or a custom ``config`` layer list, with options, into a ModelSpec."""
    if num_classes <= 0:
        raise VggInspectError(f"--num-classes must be at least 1, got {num_classes}")
    if in_channels <= 0:
        raise VggInspectError(f"--in-channels must be at least 1, got {in_channels}")
    if config is not None:
        if model is not None:
            raise VggInspectError(f"give either a MODEL ('{model}') or --config, not both")
        tokens = parse_config(config)
        name = "custom_bn" if batch_norm else "custom"
        return ModelSpec(name, "custom", tokens, batch_norm, num_classes, in_channels)
    variant: Variant = resolve_model(model or "vgg16", batch_norm)
    return ModelSpec(variant.name, variant.config, variant.tokens, variant.batch_norm, num_classes, in_channels)


def layer_defs(spec: ModelSpec) -> list[LayerDef]:
    """Every module of the network in forward order, with torchvision's module paths."""
    defs: list[LayerDef] = []
    channels = spec.in_channels
    for tok in spec.tokens:
        i = len(defs)
        if isinstance(tok, Pool):
            defs.append(LayerDef(f"features.{i}", ops.MaxPool2d()))
        elif isinstance(tok, Lrn):
            defs.append(LayerDef(f"features.{i}", PAPER_LRN))
        elif isinstance(tok, Conv):
            pad = tok.kernel // 2
            conv = ops.Conv2d(channels, tok.out_channels, (tok.kernel,) * 2, (1, 1), (pad, pad))
            defs.append(LayerDef(f"features.{i}", conv))
            if spec.batch_norm:
                defs.append(LayerDef(f"features.{i + 1}", ops.BatchNorm2d(tok.out_channels)))
            defs.append(LayerDef(f"features.{len(defs)}", ops.ReLU()))
            channels = tok.out_channels
    defs.append(LayerDef("avgpool", ops.AdaptiveAvgPool2d(POOLED)))
    flat = channels * POOLED[0] * POOLED[1]
    head: list[ops.Op] = [
        ops.Linear(flat, HIDDEN), ops.ReLU(), ops.Dropout(0.5),
        ops.Linear(HIDDEN, HIDDEN), ops.ReLU(), ops.Dropout(0.5),
        ops.Linear(HIDDEN, spec.num_classes),
    ]
    defs.extend(LayerDef(f"classifier.{j}", op) for j, op in enumerate(head))
    return defs


def paper_names(kinds: list[str], modules: list[str]) -> list[str]:
    """The paper's layer names (conv3_2, pool3, lrn1, fc6...) from the sequence of layer kinds.

    Blocks end at each max-pool; fully connected layers are numbered on from the last block, so
    five blocks give fc6, fc7, fc8. ReLU/BN/Dropout take the number of the layer they follow.
    Layers of unknown kind keep their module path.
    """
    names: list[str] = []
    block, index, fc = 1, 0, 0
    last = ""  # suffix of the last weight layer, for relu/bn/dropout names
    for kind, module in zip(kinds, modules):
        if kind == "conv":
            index += 1
            last = f"{block}_{index}"
            name = f"conv{last}"
        elif kind == "pool":
            name = f"pool{block}"
            block, index = block + 1, 0
        elif kind == "lrn":
            name = f"lrn{block}"
        elif kind == "fc":
            fc = fc + 1 if fc else (block if index == 0 else block + 1)
            last = str(fc)
            name = f"fc{fc}"
        elif kind in ("relu", "norm", "dropout") and last:
            name = {"relu": "relu", "norm": "bn", "dropout": "drop"}[kind] + last
        elif kind == "avgpool":
            name = "avgpool"
        else:
            name = module or kind
        names.append(name)
    return _unique(names)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}#{seen[n]}")
        else:
            seen[n] = 1
            out.append(n)
    return out


__all__ = ["ModelSpec", "LayerDef", "model_spec", "layer_defs", "paper_names", "parse_config"]
