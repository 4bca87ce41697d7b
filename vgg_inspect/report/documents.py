"""The JSON documents of commands that are not a model report: the variant list, a check's
outcomes, and the two 3x3-stack comparison tables. Each is described in ``schema.json``."""

from __future__ import annotations

from typing import Any

from ..metrics.circulating_figures import Claim, Match
from ..metrics.kernels import BlockRow, StackRow
from ..records import asdict, field, record
from .model import InputInfo, ModelInfo, document


class Document:
    """A command's JSON document: schema version and tool first, then the record's fields."""

    def to_dict(self) -> dict[str, Any]:
        return document(asdict(self))


@record
class VariantRow:
    name: str
    aliases: list[str]
    config: str
    batch_norm: bool
    weight_layers: int
    params: int
    layers: str


@record
class VariantList(Document):
    variants: list[VariantRow]


@record
class Outcome:
    """One checked value: ``expected`` as written (an --expect) or as recorded (a golden file),
    ``actual`` the report's raw value (a number stays a number), ``change`` how far a number moved."""

    key: str
    expected: Any
    actual: Any
    ok: bool
    change: str | None = None  # "+1.70%": a number that moved (within its tolerance or not)
    tolerance: str | None = None  # "macs=2%": the tolerance it was held to, where it had one


@record
class CheckResult(Document):
    ok: bool
    checked: int
    outcomes: list[Outcome]


@record
class StackComparison(Document):
    in_channels: int
    out_channels: int
    kernel: int
    bias: bool
    rows: list[StackRow]


@record
class BlockComparison(Document):
    model: ModelInfo
    input: InputInfo
    blocks: list[BlockRow]


@record
class PaperRow:
    section: str  # "Table 1" (layout), "computed" (by this tool), "published" (quoted, never computed)
    label: str
    unit: str  # text | count | millions | macs | bytes | rf | error | accuracy
    values: list[Any]  # one per configuration; None where it has none
    new: list[bool]  # Table 1: the layer is new against the left neighbour (the paper's bold)
    source: str | None = None  # where a published figure comes from


@record
class PaperTable(Document):
    configs: list[str]
    input: list[int]  # [N, C, H, W] of the computed rows
    batch_norm: bool
    rows: list[PaperRow]


@record
class Explanation(Document):
    model: ModelInfo
    input: InputInfo
    claims: list[Claim] | None  # the figures in circulation (VGG16 at 224 only)
    figures: list[Match] | None  # the figures the user brought
    warnings: list[str]


@record
class DiffRow:
    a: str | None  # the layer's name in A (None: only in B)
    b: str | None
    kind: str
    fields: dict[str, list[Any]]  # field -> [value in A, value in B], for the fields compared
    differs: bool
    neutral: bool  # changes nothing (ReLU, Dropout, an identity pool): shown, never a difference


@record
class DiffSection:
    a: ModelInfo
    b: ModelInfo
    input: list[int]
    rows: list[DiffRow]
    totals: dict[str, list[int]]  # params, macs -> [A, B]
    same: bool
    # what differs without counting as a difference: a layer only one side has that neither holds
    # parameters nor changes a shape (a softmax at the end), a file's own layout
    notes: list[str] = field(default_factory=list)


@record
class Diff(Document):
    diff: DiffSection
