"""Which VGG a state dict belongs to, from its keys and shapes alone (pure).

The features are read from torchvision's or timm's key layout (the indices of ``features`` reveal
the pools, and an LRN, between the convs), else from the sequence of conv shapes (keys renamed);
they are matched against every variant whole, or as a prefix (a feature extractor cut after some
conv). The head is read separately and compared with fc6-fc8 (torchvision's three Linear layers,
timm's pre-logits 7x7 and 1x1 convs with ``head.fc``, or the dense-evaluation convs): a variant is
named only when both match."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..network import VARIANTS, Conv, Pool, Token, Variant, format_config
from ..network.config import LRN, POOL
from ..ops import LayerKind
from .model import Identification

Shapes = dict[str, tuple[int, ...]]
Module = tuple[str, LayerKind, tuple[int, ...]]  # (key prefix, CONV / FC / NORM, weight shape)
HIDDEN = 4096  # fc6 and fc7 of every variant


def _modules(shapes: Shapes) -> list[Module]:
    """(prefix, kind, weight shape) of each weight module in key order: conv (4-D weight), linear
    (2-D), norm (running statistics); other 1-D weights (an L2Norm scale, PReLU) are left out."""
    out: list[Module] = []
    seen: set[str] = set()
    for key, shape in shapes.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix in seen:
            continue
        if leaf == "weight" and len(shape) == 4:
            kind = LayerKind.CONV
        elif leaf == "weight" and len(shape) == 2:
            kind = LayerKind.FC
        elif leaf == "running_mean" or (leaf == "weight" and len(shape) == 1 and f"{prefix}.running_mean" in shapes):
            kind, shape = LayerKind.NORM, shapes.get(f"{prefix}.running_mean", shape)
        else:
            continue
        seen.add(prefix)
        out.append((prefix, kind, shape))
    return out


def _layout(shapes: Shapes) -> str | None:
    """torchvision's (or timm's) layout: convs at ``features.N``, and nothing else under ``features``
    (a ``features.block1.conv`` of one's own is read as renamed keys)."""
    inside = [k for k in shapes if k.startswith("features.")]
    if not any(len(shapes[k]) == 4 and re.fullmatch(r"features\.\d+\.weight", k) for k in inside):
        return None
    if not all(re.fullmatch(r"features\.\d+\.[^.]+", k) for k in inside):
        return None
    return "timm" if any(k.startswith(("pre_logits.", "head.fc.")) for k in shapes) else "torchvision"


def _split(modules: list[Module], layout: str | None) -> tuple[list[Module], list[Module]]:
    """Features and head: by the ``features.`` prefix in a known layout; else the head starts at
    the first Linear, or at a conv of 7x7 or more (fc6 as a conv: no variant has one)."""
    if layout:
        inside = [m[0].startswith("features.") for m in modules]
        return [m for m, f in zip(modules, inside) if f], [m for m, f in zip(modules, inside) if not f]
    heads = (
        i for i, (_, kind, s) in enumerate(modules) if kind == LayerKind.FC or (kind == LayerKind.CONV and s[2] >= 7)
    )
    start = next(heads, len(modules))
    return modules[:start], modules[start:]


def _layer_tokens(features: list[Module]) -> list[Token]:
    """The layer list of torchvision's ``features.N`` keys up to the last conv (a pool after it has no
    keys: whether one follows cannot be read)."""
    bn = any(kind == LayerKind.NORM for _, kind, _ in features)
    step = 3 if bn else 2  # conv (+ BN) + ReLU
    convs = [(int(p.split(".")[1]), s) for p, kind, s in features if kind == LayerKind.CONV]
    tokens: list[Token] = []
    for i, (index, shape) in enumerate(convs):
        tokens.append(Conv(shape[0], shape[2]))
        if i + 1 < len(convs):
            gap = convs[i + 1][0] - index - step
            tokens += [POOL] * gap if gap <= 1 else [LRN, *[POOL] * (gap - 1)]
    return tokens


def _convs(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    return [(t.out_channels, t.kernel) for t in tokens if isinstance(t, Conv)]


def _conv_name(tokens: Sequence[Token], n: int) -> str:
    """The paper name of the n-th conv (1-based) in a layer list: conv5_1."""
    block, index = 1, 0
    for t in tokens:
        if isinstance(t, Pool):
            block, index = block + 1, 0
        elif isinstance(t, Conv):
            index += 1
            n -= 1
            if n == 0:
                return f"conv{block}_{index}"
    return f"conv {n}"


def _describe(head: list[Module]) -> str:
    """The head as summary names its layers: the weight layers after the features are fc6, fc7...
    in order (a single Linear is fc6, as a summary of the model shows it)."""
    parts = []
    for _, kind, s in head:
        if kind == LayerKind.FC and len(head) == 1:
            parts.append(f"Linear {s[1]}→{s[0]} (fc6, as summary names it)")
        elif kind == LayerKind.FC:
            parts.append(f"Linear {s[1]}→{s[0]}")
        elif kind == LayerKind.CONV:
            parts.append(f"{s[2]}x{s[3]} conv {s[1]}→{s[0]}")
        else:
            parts.append(f"BatchNorm1d {s[0]}")
    return "one " + parts[0] if len(parts) == 1 else ", ".join(parts)


def _standard_head(head: list[Module], channels: int) -> bool:
    """fc6-fc8: three Linear (25088→4096→4096→classes), or fc6 as a 7x7 conv and fc7 as a 1x1 conv
    (timm's pre-logits, the paper's dense evaluation) with fc8 a Linear or a 1x1 conv."""
    if len(head) != 3 or any(kind == LayerKind.NORM for _, kind, _ in head):
        return False
    (k6, s6), (k7, s7), (k8, s8) = ((kind, s) for _, kind, s in head)
    linear = k6 == k7 == LayerKind.FC and s6 == (HIDDEN, channels * 49) and s7 == (HIDDEN, HIDDEN)
    conv = k6 == k7 == LayerKind.CONV and s6 == (HIDDEN, channels, 7, 7) and s7 == (HIDDEN, HIDDEN, 1, 1)
    fc8_linear = k8 == LayerKind.FC and s8[1] == HIDDEN
    fc8_conv = k8 == LayerKind.CONV and s8[1:] == (HIDDEN, 1, 1)
    return (linear and fc8_linear) or (conv and (fc8_linear or fc8_conv))


def identify_shapes(path: str, shapes: Shapes, params: int, notes: list[str]) -> Identification:
    """The identification of a state dict given as key → shape."""
    modules = _modules(shapes)
    layout = _layout(shapes)
    features, head = _split(modules, layout)
    bn = any(kind == LayerKind.NORM for _, kind, _ in features)
    convs_in = [s for _, kind, s in features if kind == LayerKind.CONV]
    in_channels = convs_in[0][1] if convs_in else None
    last_out = head[-1][2][0] if head else None
    tokens = _layer_tokens(features) if layout else None
    have = _convs(tokens) if tokens is not None else [(s[0], s[2]) for s in convs_in]
    how_found = f"{layout} key layout" if layout else "sequence of weight shapes (keys renamed)"

    def same(v: Variant) -> bool:
        if tokens is None:
            return have == _convs(v.tokens)
        want = list(v.tokens)
        return tokens == want[: len(tokens)] and want[len(tokens) :] == [POOL]

    def prefix(v: Variant) -> bool:
        want = list(v.tokens)
        if tokens is not None:
            return len(tokens) < len(want) - 1 and tokens == want[: len(tokens)]
        return len(have) < len(_convs(want)) and have == _convs(want)[: len(have)]

    candidates = [v for v in VARIANTS.values() if v.batch_norm == bn]
    exact = [v for v in candidates if same(v)]
    channels = have[-1][0] if have else 0
    standard = _standard_head(head, channels)
    head_text = _describe(head) if head else "none (the file holds features only)"
    unbiased = [p for p, kind, s in features if kind == LayerKind.CONV and not _has_bias(shapes, p, s[0])]
    if exact:
        v = exact[0]
        if len(exact) > 1 or (v.config == "A" and not layout):
            notes.append("A and A-LRN have the same weights (LRN has none): renamed keys cannot tell them apart")
        # the file's own count says so too: a model zoo's BN VGG without conv biases is no exact vgg16_bn
        bias = [f"convs without bias ({len(unbiased)} of {len(convs_in)}): {_bias_values(features, unbiased):,} "
                f"parameters fewer than {v.name}"] if unbiased else []  # fmt: skip
        if standard and not bias:
            return Identification(path, v.name, v.config, how_found, last_out, bn, in_channels, params, [], notes,
                                  v.name, "fc6–fc8", v.name, standard_head=True)  # fmt: skip
        if standard:
            return Identification(path, None, None, f"{v.name}'s layers, its convs without bias ({how_found})",
                                  last_out, bn, in_channels, params, bias, notes, v.name, "fc6–fc8", v.name,
                                  standard_head=True)  # fmt: skip
        differs = f"head: {head_text} instead of fc6–fc8" if head else "no classifier (fc6–fc8 are not in the file)"
        return Identification(path, None, None, f"features match {v.name} ({how_found}); the head differs",
                              last_out if head else None, bn, in_channels, params, [differs, *bias], notes, v.name,
                              head_text, v.name)  # fmt: skip
    cut = [v for v in candidates if prefix(v)]
    if cut and not head:
        after = _conv_name(cut[0].tokens, len(have))
        names = ", ".join(v.name for v in cut)
        how = f"{cut[0].name} cut after {after}" if len(cut) == 1 else f"cut after {after}: the start of {names}"
        text = f"the first {len(have)} convs of {names}" + ("" if len(cut) == 1 else " (which one cannot be told)")
        one = cut[0].name if len(cut) == 1 else None
        return Identification(path, None, None, f"{how} ({how_found})", None, bn, in_channels, params,
                              [f"a feature extractor: {text}"], notes, f"{one} up to {after}" if one else None,
                              head_text, one, after)  # fmt: skip
    # An encoder-decoder: a whole variant's convs, then more (a decoder): named by its exact prefix,
    # not by the variant nearest in edit distance, whose per-position differences would mislead.
    starts = [v for v in candidates if len(_convs(v.tokens)) < len(have) and have[: len(_convs(v.tokens))] ==
              _convs(v.tokens)]  # fmt: skip
    if starts:
        v = max(starts, key=lambda c: len(_convs(c.tokens)))
        more = len(have) - len(_convs(v.tokens))
        last = _conv_name(v.tokens, len(_convs(v.tokens)))
        extra = [f"{c}x{c} with {n}" for n, c in have[len(_convs(v.tokens)) :]]
        shown = ", ".join(extra[:6]) + (f" and {len(extra) - 6} more" if len(extra) > 6 else "")
        return Identification(path, None, None, f"{v.name}'s convs, then {more} more ({how_found})", last_out, bn,
                              in_channels, params, [f"{more} convs after {v.name}'s {last} (a decoder?): {shown}"],
                              notes, f"{v.name}, then {more} convs", head_text, v.name, None, more,
                              standard)  # fmt: skip
    if not candidates:
        return Identification(path, None, None, "no VGG variant matches", last_out, bn, in_channels, params,
                              ["no variant with this BatchNorm setting"], notes, None, head_text)  # fmt: skip
    closest = min(candidates, key=lambda v: _distance(have, _convs(v.tokens)))
    differences = _differences(have, _convs(closest.tokens))
    if tokens is not None:
        ours = format_config((*tokens, POOL))
        differences.insert(0, f"its layer list is {ours}, {closest.name}'s is {format_config(closest.tokens)}")
    if head and not standard:
        differences.append(f"head: {head_text} instead of fc6–fc8")
    return Identification(path, None, None, f"closest: {closest.name} (config {closest.config})", last_out, bn,
                          in_channels, params, differences, notes, None, head_text)  # fmt: skip


def _has_bias(shapes: Shapes, prefix: str, channels: int) -> bool:
    """A conv's bias: under its own prefix, or (renamed keys, one tensor a prefix) the key right after
    its weight, a bias of its channels."""
    if f"{prefix}.bias" in shapes:
        return True
    keys = list(shapes)
    at = keys.index(f"{prefix}.weight") if f"{prefix}.weight" in shapes else -1
    following = keys[at + 1] if 0 <= at < len(keys) - 1 else ""
    return following.endswith("bias") and shapes[following] == (channels,)


def _bias_values(features: list[Module], unbiased: list[str]) -> int:
    """The conv biases a file lacks: one per output channel of each conv without bias."""
    return sum(s[0] for p, kind, s in features if kind == LayerKind.CONV and p in unbiased)


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
        out.append(f"{len(have)} convolution{'s' if len(have) != 1 else ''} instead of {len(want)}")
    for i, (h, w) in enumerate(zip(have, want), start=1):
        if h != w:
            out.append(f"conv {i}: {h[1]}x{h[1]} with {h[0]} channels instead of {w[1]}x{w[1]} with {w[0]}")
    return out[:8]
