"""The paper's tables as data: Table 1's layout (derived from the configurations), and the
published figures of Tables 2-4 and torchvision's retrained weights, which are quoted, never
computed (sources: Simonyan & Zisserman, ICLR 2015; torchvision's model documentation)."""

from __future__ import annotations

from ..records import record
from .config import VARIANTS, Conv, Lrn, Pool, Token, parse_config

CONFIGS = ("A", "A-LRN", "B", "C", "D", "E")
NAMES = {"A": "vgg11", "A-LRN": "vgg11_lrn", "B": "vgg13", "C": "vgg16_c", "D": "vgg16", "E": "vgg19"}

# Table 2: number of parameters, in millions.
TABLE2_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}


@record(frozen=True)
class Published:
    """A published top-1 / top-5 error (%) or accuracy (%), with where it comes from."""

    source: str  # "Table 3", "Table 4", "torchvision"
    setting: str  # training / test scales, or the weights' name
    values: tuple[tuple[str, float, float], ...]  # (config, top-1, top-5)
    metric: str = "error"  # "error" (the paper) or "accuracy" (torchvision)


# Table 3: single test scale (Q = S for fixed S; Q = 384 for S in [256; 512]), top-1 / top-5 val. error.
TABLE3 = (
    Published("Table 3", "train S=256, test Q=256",
              (("A", 29.6, 10.4), ("A-LRN", 29.7, 10.5), ("B", 28.7, 9.9), ("C", 28.1, 9.4), ("D", 27.0, 8.8),
               ("E", 27.3, 9.0))),
    Published("Table 3", "train S=384, test Q=384", (("C", 28.1, 9.3), ("D", 26.8, 8.7), ("E", 26.9, 8.7))),
    Published("Table 3", "train S=[256;512], test Q=384", (("C", 27.3, 8.8), ("D", 25.6, 8.1), ("E", 25.5, 8.0))),
)  # fmt: skip
# Table 4: multi-scale testing, scale-jittered training.
TABLE4 = (Published("Table 4", "train S=[256;512], multi-scale test", (("D", 24.8, 7.5), ("E", 24.8, 7.5))),)
# torchvision's ImageNet weights (retrained with a simplified recipe), acc@1 / acc@5.
TORCHVISION = (
    Published("torchvision", "IMAGENET1K_V1 weights",
              (("A", 69.020, 88.628), ("B", 69.928, 89.246), ("D", 71.592, 90.382), ("E", 72.376, 90.876)),
              "accuracy"),
)  # fmt: skip
TORCHVISION_BN = (
    Published("torchvision", "IMAGENET1K_V1 weights, BatchNorm",
              (("A", 70.370, 89.810), ("B", 71.586, 90.374), ("D", 73.360, 91.516), ("E", 74.218, 91.842)),
              "accuracy"),
)  # fmt: skip


@record(frozen=True)
class LayoutRow:
    """One position of Table 1: a cell per configuration ("" where it has no layer there), and
    the configurations whose cell is new against their left neighbour (the paper's bold)."""

    group: str  # "input", "block 1".."block N", "pool", "head"
    cells: tuple[str, ...]
    new: tuple[bool, ...]


def _label(tok: Token) -> str:
    if isinstance(tok, Conv):
        return f"conv{tok.kernel}-{tok.out_channels}"
    return "LRN" if isinstance(tok, Lrn) else "maxpool"


def _blocks(tokens: tuple[Token, ...]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for tok in tokens:
        if isinstance(tok, Pool):
            blocks.append([])
        else:
            blocks[-1].append(_label(tok))
    return blocks[:-1] if not blocks[-1] else blocks


def table1(configs: tuple[str, ...] = CONFIGS, num_classes: int = 1000, image: str = "224×224 RGB") -> list[LayoutRow]:
    """Table 1 laid out as the paper prints it: blocks of convs, each followed by a max-pool row."""
    per_config = [_blocks(parse_config(VARIANTS[NAMES[c]].layers)) for c in configs]
    rows = [LayoutRow("input", (image,) * len(configs), (False,) * len(configs))]

    def add(group: str, cells: list[str]) -> None:
        new = [bool(cell) and i > 0 and cells[i - 1] != cell for i, cell in enumerate(cells)]
        rows.append(LayoutRow(group, tuple(cells), tuple(new)))

    for b in range(max(len(blocks) for blocks in per_config)):
        depth = max(len(blocks[b]) if b < len(blocks) else 0 for blocks in per_config)
        for k in range(depth):
            add(
                f"block {b + 1}",
                [blocks[b][k] if b < len(blocks) and k < len(blocks[b]) else "" for blocks in per_config],
            )
        add("pool", ["maxpool"] * len(configs))
    for label in ("FC-4096", "FC-4096", f"FC-{num_classes}", "soft-max"):
        add("head", [label] * len(configs))
    return rows
