"""The report: typed records that serialise to the JSON contract (schema_version 1).

``schema.json`` beside this file is that contract; the tests validate every command's JSON with
it. Later versions add keys, never rename them. Optional sections (``peers``, ``budget``,
``sweep``, ``measured``, ``effective_receptive_field``) are present only when computed.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..ops import LayerKind
from ..records import asdict, field, record
from .sizing import Bench, Roofline, Storage, Traffic

SCHEMA_VERSION = 1
TOOL_NAME = "vgg-inspect"
MODULE_CONFIG = "module"  # ModelInfo.config of a report taken from an nn.Module (your own model)
FILE_CONFIG = "file"  # ModelInfo.config of a report read from another framework's file (Keras, ONNX)

AxisValue = Any  # a scalar, or [H, W] where the axes differ


def tool_info() -> dict[str, str]:
    return {"name": TOOL_NAME, "version": __version__}


def document(body: dict[str, Any]) -> dict[str, Any]:
    """A JSON document of this tool: schema version and tool first, then the body."""
    return {"schema_version": SCHEMA_VERSION, "tool": tool_info(), **body}


@record
class ModelInfo:
    name: str
    config: str  # paper letter, "custom", "module" for a user's nn.Module, "file" for a Keras or ONNX file
    layers: str | None  # the layer list in --config syntax (None for a module)
    batch_norm: bool | None
    num_classes: int | None
    in_channels: int | None
    weight_layers: int
    head: str | None = None  # "fc" (torchvision) or "conv" (the paper's dense evaluation); None for a module
    layout: str = "NCHW"  # the model's own layout (NHWC: a channels-last Keras model), in which tables print shapes

    @property
    def from_module(self) -> bool:
        """Taken from an nn.Module (your own model), not from a layer spec."""
        return self.config in (MODULE_CONFIG, FILE_CONFIG)

    @property
    def from_file(self) -> bool:
        """Read from another framework's file (a Keras config, an ONNX export)."""
        return self.config == FILE_CONFIG


@record
class InputInfo:
    shape: list[int]
    dtype: str
    device: str | None  # None: analytical (no device)
    analysis: str  # "analytical" | "instantiated"


@record
class Coverage:
    """What each total covers. ``partial``: some operation has no formula (``not_counted``: its type and
    how many calls), or a field is not one chain; params are always complete (read from the module tree)."""

    status: dict[str, str] = field(default_factory=dict)  # params, macs, flops, train_flops, receptive_field,
    # saved_bytes, inference_memory
    not_counted: dict[str, int] = field(default_factory=dict)


@record
class Options:
    include: list[str]  # --include categories added to FLOPs
    optimizer: str  # optimizer state in the training total
    saved_convention: str  # whose kernels the saved-for-backward rules follow: cpu | cuda | meta


@record
class LayerRow:
    name: str  # the paper's name: conv3_2, pool3, lrn1, fc6
    module: str  # module path in torchvision's layout: features.12
    type: str  # the operator's class name
    kind: LayerKind  # conv | fc | pool | avgpool | relu | norm | lrn | dropout | flatten | ... (its value in JSON)
    input_shape: list[int]
    output_shape: list[int]
    params: int
    trainable_params: int
    buffers: int
    params_formula: str | None
    macs: int | None  # None: no formula for this layer type
    flops: int | None  # 2 x macs, plus any --include'd operations
    train_flops: int | None  # flops + backward (2 x gradient MACs w.r.t. input and weights)
    extra_flops: dict[str, int]  # what each --include category would add (bias, relu, pool, norm)
    activation_bytes: int  # bytes of this layer's output for the dtype and batch
    saved_bytes: int  # bytes autograd keeps for backward first claimed by this layer (train mode)
    receptive_field: AxisValue = None
    jump: AxisValue = None
    start: AxisValue = None
    effective_padding: AxisValue = None
    covers_input: bool | None = None
    field_status: AxisValue = None  # local | irregular | global | unknown (per axis where they differ)


@record
class ParamsByKind:
    conv: int = 0
    fc: int = 0
    norm: int = 0
    other: int = 0


@record
class MacsByKind:
    conv: int = 0
    fc: int = 0


@record
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    params_by_kind: ParamsByKind
    weight_bytes: int
    buffer_bytes: int
    macs: int
    flops: int
    train_flops: int
    macs_by_kind: MacsByKind
    activation_bytes: int
    inference_peak_bytes: int
    inference_required_bytes: int
    training_saved_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int
    training_total_bytes: int


@record
class Peer:
    tool: str
    value: int | None  # the peer's own number; None when skipped
    reproduced: int  # the same number from vgg-inspect's per-layer data
    convention: str
    difference_explained: str
    status: str  # agrees | differs | skipped
    reason: str | None = None
    requested: bool = False  # named explicitly by the user (a skip then fails the command)


@record
class Budget:
    bytes: int
    inference_batch: int
    training_batch: int
    inference_margin_bytes: int


@record
class SweepPoint:
    input: list[int]
    macs: int
    flops: int
    macs_by_kind: MacsByKind


@record
class Measured:
    mode: str
    resident_bytes: int
    max_memory_allocated: int
    estimate: int
    gap_percent: float


@record
class EffectiveField:
    layer: str
    module: str
    mode: str
    seed: int
    samples: int
    unit: list[int]
    centre: list[float]
    theoretical_rf: list[int]
    theoretical_box: list[int]  # [y0, y1, x0, x1], inclusive, clipped to the input
    support_box: list[int] | None
    support_matches_theory: bool
    mass_squares: dict[str, int]
    heatmap: list[list[float]]


@record
class Group:
    """Subtotals of consecutive or related rows: a VGG block, or a module path at a depth."""

    name: str
    layers: list[str]
    params: int
    trainable_params: int
    macs: int
    flops: int
    activation_bytes: int
    saved_bytes: int
    complete: bool  # every row had MAC formulas (else macs and flops count the known ones)


@record
class Held:
    """Parameters and buffers a module holds that no layer row counts: on the model itself, or in a
    module the forward never calls (an auxiliary head). They are in the totals all the same."""

    owner: str  # module path ("" for the model itself)
    type: str
    names: list[str]
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    called: bool  # the forward called this module (its tensors were read some other way, or not at all)


@record
class ShapeMismatch:
    """A checkpoint tensor whose shape differs from the architecture's."""

    key: str
    expected: list[int]
    found: list[int]

    @staticmethod
    def text(shape: list[int]) -> str:
        return "x".join(map(str, shape)) or "scalar"


@record
class WeightsCheck:
    """A checkpoint against the architecture (--weights)."""

    path: str
    params: int  # parameters in the file (BatchNorm running statistics apart)
    tensors: int
    missing: list[str]
    unexpected: list[str]
    misshaped: list[str]  # "key: expected AxB, got CxD", for people (``mismatches`` holds the shapes)
    notes: list[str]
    matches: bool
    mismatches: list[ShapeMismatch] = field(default_factory=list)


@record
class Identification:
    """Which VGG a state dict belongs to (identify)."""

    path: str
    variant: str | None
    config: str | None
    how: str  # "torchvision key layout", "sequence of weight shapes (keys renamed)", or the closest variant
    num_classes: int | None
    batch_norm: bool
    in_channels: int | None
    params: int
    differences: list[str]
    notes: list[str]
    features: str | None = None  # the variant whose features the file holds ("vgg19 up to conv5_1")
    head: str = ""  # "fc6–fc8", "one Linear 512→10", "none (the file holds features only)"
    base_variant: str | None = None  # the variant the features are (or start as), even where variant is None
    cut_after: str | None = None  # a feature extractor: the last conv it keeps (conv5_1)
    followed_by: int = 0  # convs after the base variant's (an encoder-decoder's decoder)
    standard_head: bool = False  # the head is fc6-fc8

    def to_dict(self) -> dict[str, Any]:
        return document(asdict(self))


@record
class Report:
    model: ModelInfo
    input: InputInfo
    layers: list[LayerRow]
    totals: Totals
    conventions: dict[str, str]
    options: Options
    warnings: list[str] = field(default_factory=list)
    peers: list[Peer] | None = None
    budget: Budget | None = None
    sweep: list[SweepPoint] | None = None
    measured: Measured | None = None
    effective_receptive_field: EffectiveField | None = None
    weights: WeightsCheck | None = None
    coverage: Coverage = field(default_factory=Coverage)
    traffic: Traffic | None = None
    roofline: Roofline | None = None
    storage: Storage | None = None
    bench: Bench | None = None
    held: list[Held] | None = None
    groups: list[Group] | None = None

    def layer(self, key: str) -> LayerRow:
        """A layer by paper name (conv5_3) or module path (features.28)."""
        for row in self.layers:
            if key in (row.name, row.module):
                return row
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in asdict(self).items() if v is not None}
        return document(body)

    def to_json(self, indent: int | None = 2) -> str:
        import json  # here, not at the top: a table never pays for it

        return json.dumps(self.to_dict(), indent=indent)

    # How a report shows itself (print, rich, a notebook): the summary table. The renderers are
    # installed by the package (``VIEWS``), since the core may not import them.
    def __str__(self) -> str:
        return str(VIEWS["text"](self))

    def __repr__(self) -> str:
        t = self.totals
        shape = "x".join(map(str, self.input.shape))
        return (f"<Report {self.model.name}: input {shape} {self.input.dtype}, {len(self.layers)} layers, "
                f"{t.params:,} params, {t.macs:,} MACs; print() shows the table>")  # fmt: skip

    def __rich__(self) -> Any:
        return VIEWS["rich"](self)

    def _repr_html_(self) -> str:
        return str(VIEWS["html"](self))


VIEWS: dict[str, Any] = {}  # "text" | "rich" | "html" -> a function of a Report (vgg_inspect/__init__.py)
