"""A model description (variant or custom layer list + options) expanded into torchvision's layout.

``layer_defs`` is the single source of a VGG's structure: the analytical path computes on it and
the torch runtime builds the ``nn.Module`` from it, with torchvision's module paths
(``features.N``, ``avgpool``, ``classifier.N``) so that torchvision checkpoints load. The flatten
before the classifier is part of the structure (an explicit ``Flatten`` op), not of ``Linear``.
"""

from __future__ import annotations

from typing import Any

from .. import ops, validate
from ..errors import VggInspectError
from ..ops import LayerKind, Shape
from ..records import record
from .config import Conv, Lrn, Pool, Token, format_config, parse_config, resolve_model

HIDDEN = 4096
POOLED = (7, 7)
# Paper's LRN (k=2, n=5, alpha=1e-4, beta=0.75, alpha*sum) in PyTorch's alpha/n convention.
PAPER_LRN = ops.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0)
FLATTEN_MODULE = "flatten"
HEADS = ("fc", "conv")


@record(frozen=True)
class ModelSpec:
    name: str
    config: str  # paper letter, or "custom"
    tokens: tuple[Token, ...]
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    head: str = "fc"  # "fc": torchvision's adaptive pool + linear layers; "conv": the paper's dense evaluation

    @property
    def layers(self) -> str:
        return format_config(self.tokens)

    @property
    def weight_layers(self) -> int:
        return sum(isinstance(t, Conv) for t in self.tokens) + 3


@record(frozen=True)
class LayerDef:
    """One module of the network: its path in torchvision's layout and its operator."""

    module: str
    op: ops.Op
    feature: bool = False  # in the ``features`` Sequential (its index there is its index in the list)


def model_spec(
    model: str | None = None,
    *,
    config: str | None = None,
    batch_norm: Any = False,
    num_classes: Any = 1000,
    in_channels: Any = 3,
    head: Any = "fc",
) -> ModelSpec:
    """Resolve a variant name or a custom ``config`` layer list, with options, into a ModelSpec."""
    head = validate.choice(head, "head", HEADS)
    num_classes = validate.count(num_classes, "num_classes")
    in_channels = validate.count(in_channels, "in_channels")
    if not isinstance(batch_norm, bool):
        raise VggInspectError(f"{{param}} must be True or False, got {batch_norm!r}", param="batch_norm")
    if config is not None:
        if model is not None:
            raise VggInspectError(f"give either a model ('{model}') or {{param}}, not both", param="config")
        if not isinstance(config, str):
            raise VggInspectError(
                f"{{param}} must be a layer list such as '64,M,128,M', got {config!r}", param="config"
            )
        tokens = parse_config(config)
        name = "custom_bn" if batch_norm else "custom"
        return ModelSpec(name, "custom", tokens, batch_norm, num_classes, in_channels, head)
    variant = resolve_model("vgg16" if model is None else model, batch_norm)
    return ModelSpec(variant.name, variant.config, variant.tokens, variant.batch_norm, num_classes, in_channels, head)


def layer_defs(spec: ModelSpec) -> list[LayerDef]:
    """Every operation of the network in forward order, with torchvision's module paths."""
    defs: list[LayerDef] = []
    channels = spec.in_channels
    for tok in spec.tokens:
        i = len(defs)
        if isinstance(tok, Pool):
            defs.append(LayerDef(f"features.{i}", ops.MaxPool2d(), feature=True))
        elif isinstance(tok, Lrn):
            defs.append(LayerDef(f"features.{i}", PAPER_LRN, feature=True))
        elif isinstance(tok, Conv):
            pad = tok.kernel // 2
            conv = ops.Conv2d(channels, tok.out_channels, (tok.kernel,) * 2, (1, 1), (pad, pad))
            defs.append(LayerDef(f"features.{i}", conv, feature=True))
            if spec.batch_norm:
                defs.append(LayerDef(f"features.{i + 1}", ops.BatchNorm2d(tok.out_channels), feature=True))
            defs.append(LayerDef(f"features.{len(defs)}", ops.ReLU(), feature=True))
            channels = tok.out_channels
    if spec.head == "conv":
        defs.extend(_conv_head(channels, spec.num_classes))
        return defs
    defs.append(LayerDef("avgpool", ops.AdaptiveAvgPool2d(POOLED)))
    defs.append(LayerDef(FLATTEN_MODULE, ops.Flatten(1)))
    flat = channels * POOLED[0] * POOLED[1]
    head: list[ops.Op] = [
        ops.Linear(flat, HIDDEN), ops.ReLU(), ops.Dropout(0.5),
        ops.Linear(HIDDEN, HIDDEN), ops.ReLU(), ops.Dropout(0.5),
        ops.Linear(HIDDEN, spec.num_classes),
    ]  # fmt: skip
    defs.extend(LayerDef(f"classifier.{j}", op) for j, op in enumerate(head))
    return defs


def _conv_head(channels: int, classes: int) -> list[LayerDef]:
    """The paper's dense evaluation: fc6 a 7x7 conv, fc7 and fc8 1x1 convs (same parameters as the
    linear layers, reshaped), a class score map that is then averaged over space."""
    k, _ = POOLED

    def conv(cin: int, cout: int, size: int) -> ops.Conv2d:
        return ops.Conv2d(cin, cout, (size, size), (1, 1), (0, 0))

    head: list[ops.Op] = [
        conv(channels, HIDDEN, k), ops.ReLU(), ops.Dropout(0.5),
        conv(HIDDEN, HIDDEN, 1), ops.ReLU(), ops.Dropout(0.5),
        conv(HIDDEN, classes, 1),
    ]  # fmt: skip
    defs = [LayerDef(f"classifier.{j}", op) for j, op in enumerate(head)]
    return [*defs, LayerDef("average", ops.AdaptiveAvgPool2d((1, 1))), LayerDef(FLATTEN_MODULE, ops.Flatten(1))]


def minimum_input(defs: list[LayerDef]) -> int:
    """Smallest square input every layer accepts, computed backwards through the layers
    (for the paper's five 2x2 pools: 32). Only conv and pool layers shrink the input."""
    need = 1  # smallest output size along one axis
    for d in reversed(defs):
        op = d.op
        if isinstance(op, (ops.Conv2d, ops.MaxPool2d)):
            k, s, p, dil = op.kernel_size[0], op.stride[0], op.padding[0], op.dilation[0]
            # out = floor((size + 2p - dil(k-1) - 1) / s) + 1 >= need  <=>  size >= (need-1)s + dil(k-1) + 1 - 2p
            need = max(1, (need - 1) * s + dil * (k - 1) + 1 - 2 * p)
    return need


def layer_names(
    kinds: list[LayerKind], modules: list[str], vgg_shaped: bool, shapes: list[tuple[Shape, Shape]] | None = None
) -> list[str]:
    """The paper's names for a network shaped like VGG (one chain of known layers), module paths
    for any other (two parallel convs are not conv1_1 and conv1_2)."""
    return paper_names(kinds, modules, shapes) if vgg_shaped else _unique(list(modules))


def head_start(kinds: list[LayerKind], shapes: list[tuple[Shape, Shape]] | None) -> int:
    """Where the head begins: after the last pool that ends a block, unless the convs after it keep
    the map's size (a conv block with no pool after it). A head's convs (fc6 as a 7x7 conv, fc7 as
    a 1x1 conv: the paper's dense evaluation, timm, FCN) shrink the map or are 1x1."""
    pools = [i for i, k in enumerate(kinds) if k is LayerKind.POOL]
    if not pools or shapes is None:
        return len(kinds)
    start = pools[-1] + 1
    first_conv = next((i for i in range(start, len(kinds)) if kinds[i] is LayerKind.CONV), None)
    if first_conv is None:
        return len(kinds)
    (_, _, h, w), out = shapes[first_conv][0], shapes[first_conv][1]
    return start if (len(out) == 4 and (out[2], out[3]) != (h, w)) or (h, w) == (1, 1) else len(kinds)


def paper_names(
    kinds: list[LayerKind], modules: list[str], shapes: list[tuple[Shape, Shape]] | None = None
) -> list[str]:
    """The paper's layer names (conv3_2, pool3, lrn1, fc6...) from the sequence of layer kinds.

    Blocks end at each max-pool; a pool that changes nothing right after another (an
    ``AvgPool2d(1, 1)``) ends none and is the avgpool. Fully connected layers are numbered on from
    the last block, so five blocks give fc6, fc7, fc8, and so are the convs of a conv head
    (``shapes``: each layer's input and output shape, to tell a head from a last conv block).
    ReLU/BN/Dropout and other activations take the number of the layer they follow. Layers of
    unknown kind keep their module path.
    """
    names: list[str] = []
    block, index, fc = 1, 0, 0
    last = ""  # suffix of the last weight layer, for relu/bn/dropout names
    follower = {LayerKind.RELU: "relu", LayerKind.NORM: "bn", LayerKind.DROPOUT: "drop", LayerKind.ACTIVATION: "act",
                LayerKind.GROUP_NORM: "norm"}  # fmt: skip
    head = head_start(kinds, shapes)
    for i, (kind, module) in enumerate(zip(kinds, modules)):
        if kind is LayerKind.CONV and (module.startswith("classifier.") or i >= head):
            kind = LayerKind.FC  # the conv head: fc6..fc8 as convolutions
        same = shapes is not None and len(shapes[i][0]) == 4 and tuple(shapes[i][0]) == tuple(shapes[i][1])
        if kind is LayerKind.POOL and same and index == 0 and block > 1:
            kind = LayerKind.AVGPOOL  # a no-op pool after the last one ends no block
        if kind is LayerKind.CONV:
            index += 1
            last = f"{block}_{index}"
            name = f"conv{last}"
        elif kind is LayerKind.POOL:
            name = f"pool{block}"
            block, index = block + 1, 0
        elif kind is LayerKind.LRN:
            name = f"lrn{block}"
        elif kind is LayerKind.FC:
            fc = fc + 1 if fc else (block if index == 0 else block + 1)
            last = str(fc)
            name = f"fc{fc}"
        elif kind in follower and last:
            name = follower[kind] + last
        elif kind is LayerKind.AVGPOOL:
            name = "score_average" if fc else "avgpool"
        elif kind is LayerKind.FLATTEN:
            name = "flatten"
        else:
            name = module or kind.value
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
