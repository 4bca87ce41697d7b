"""The paper's configurations as a declarative table, and parsing of model names and layer lists.

Tokens (the same syntax as ``--config``): an integer N is a 3x3 conv with N output channels,
``1x1-N`` a 1x1 conv, ``M`` a 2x2 stride-2 max-pool, ``LRN`` Krizhevsky's local response norm.
"""

from __future__ import annotations

import re

from ..errors import VggInspectError, did_you_mean
from ..records import record

# Simonyan & Zisserman, Table 1. Names follow torchvision where torchvision has the variant.
_TABLE: tuple[tuple[str, str, str], ...] = (
    # name, paper config, layer list
    ("vgg11", "A", "64,M,128,M,256,256,M,512,512,M,512,512,M"),
    ("vgg11_lrn", "A-LRN", "64,LRN,M,128,M,256,256,M,512,512,M,512,512,M"),
    ("vgg13", "B", "64,64,M,128,128,M,256,256,M,512,512,M,512,512,M"),
    ("vgg16_c", "C", "64,64,M,128,128,M,256,256,1x1-256,M,512,512,1x1-512,M,512,512,1x1-512,M"),
    ("vgg16", "D", "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M"),
    ("vgg19", "E", "64,64,M,128,128,M,256,256,256,256,M,512,512,512,512,M,512,512,512,512,M"),
)


@record(frozen=True)
class Conv:
    """A conv token: ``kernel`` x ``kernel``, padding keeps the spatial size."""

    out_channels: int
    kernel: int = 3


class Pool:
    """The ``M`` token."""

    def __repr__(self) -> str:
        return "M"


class Lrn:
    """The ``LRN`` token."""

    def __repr__(self) -> str:
        return "LRN"


POOL = Pool()
LRN = Lrn()
Token = Conv | Pool | Lrn


@record(frozen=True)
class Variant:
    name: str
    config: str
    layers: str
    batch_norm: bool

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.config + "-BN",) if self.batch_norm else (self.config,)

    @property
    def tokens(self) -> tuple[Token, ...]:
        return parse_config(self.layers)


def _variants() -> dict[str, Variant]:
    out: dict[str, Variant] = {}
    for name, letter, layers in _TABLE:
        out[name] = Variant(name, letter, layers, False)
        out[name + "_bn"] = Variant(name + "_bn", letter, layers, True)
    return out


VARIANTS: dict[str, Variant] = _variants()


def _lookup_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for v in VARIANTS.values():
        keys[v.name] = v.name
        for alias in v.aliases:
            keys[alias.lower()] = v.name
    return keys


_KEYS = _lookup_keys()


def resolve_model(name: str, batch_norm: bool = False) -> Variant:
    """Find a variant by name or paper letter, case-insensitively; ``batch_norm`` picks the _bn form."""
    if not isinstance(name, str) or not name.strip():
        raise VggInspectError(f"{{param}} must be a variant name such as 'vgg16', got {name!r}", param="model")
    key = name.strip().lower()
    found = _KEYS.get(key) or _KEYS.get(key.replace("-", "_"))
    if found is None:
        choices = list(VARIANTS) + [a for v in VARIANTS.values() for a in v.aliases]
        hint = did_you_mean(key, choices) or "; run 'vgg-inspect list' to see every variant"
        raise VggInspectError(f"unknown model '{name}'{hint}", param="model")
    variant = VARIANTS[found]
    if batch_norm and not variant.batch_norm:
        variant = VARIANTS[variant.name + "_bn"]
    return variant


_CONV_RE = re.compile(r"^(?:(\d+)x(\d+)-)?(\d+)$", re.IGNORECASE)


def parse_config(text: str) -> tuple[Token, ...]:
    """Parse ``"64,64,M,1x1-256,LRN"``; raise a VggInspectError naming the bad token."""
    raw = [t.strip() for t in text.split(",")]
    if not text.strip() or all(not t for t in raw):
        raise VggInspectError("empty {param}: give a comma-separated layer list such as '64,M,128,M'", param="config")
    tokens: list[Token] = []
    for pos, tok in enumerate(raw, start=1):
        if tok.upper() == "M":
            tokens.append(POOL)
            continue
        if tok.upper() == "LRN":
            tokens.append(LRN)
            continue
        m = _CONV_RE.match(tok)
        if m:
            kh, kw, ch = m.groups()
            kernel = int(kh) if kh else 3
            if kh and (kh != kw or int(kh) not in (1, 3)):
                m = None
            elif int(ch) <= 0:
                m = None
            else:
                tokens.append(Conv(int(ch), kernel))
                continue
        raise VggInspectError(
            f"malformed {{param}} token '{tok}' at position {pos}: expected a positive integer "
            "(3x3 conv with that many channels), '1x1-N' or '3x3-N', 'M' (max-pool) or 'LRN'",
            param="config",
        )
    return tuple(tokens)


def format_config(tokens: tuple[Token, ...]) -> str:
    parts = []
    for t in tokens:
        if isinstance(t, Conv):
            parts.append(str(t.out_channels) if t.kernel == 3 else f"{t.kernel}x{t.kernel}-{t.out_channels}")
        else:
            parts.append(repr(t))
    return ",".join(parts)
