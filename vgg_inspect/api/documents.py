"""The API's documents beyond a model report: 3x3 stacks and block comparisons, the variant list
and the paper's tables, explanations of figures in circulation, checkpoints, and diffs
(``vgg_inspect.api`` re-exports them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..guard import containing
from ..request import Request, checked
from . import analyze, analyze_request
from .analysis import _analysis

if TYPE_CHECKING:
    from ..report.documents import BlockComparison, Diff, Explanation, PaperTable, StackComparison, VariantList
    from ..report.model import Identification


@containing
def block_comparison(req: Request) -> BlockComparison:
    req = checked(req)
    from ..metrics import kernels
    from ..report.documents import BlockComparison

    report, traces = _analysis(req.replace(device=None, init=False))
    return BlockComparison(report.model, report.input, kernels.block_table(traces))


def stack_comparison(in_channels: int, out_channels: int, kernel: int = 7, bias: bool = False) -> StackComparison:
    from ..metrics import kernels
    from ..report.documents import StackComparison

    rows = kernels.stack_table(in_channels, out_channels, kernel, bias)
    return StackComparison(in_channels, out_channels, kernel, bias, rows)


def variants() -> VariantList:
    from ..network import VARIANTS
    from ..report.documents import VariantList, VariantRow

    rows = []
    for v in VARIANTS.values():
        r = analyze(v.name)
        rows.append(VariantRow(v.name, list(v.aliases), v.config, v.batch_norm, r.model.weight_layers,
                               r.totals.params, v.layers))  # fmt: skip
    return VariantList(rows)


def paper_table(
    input_size: Any = 224, num_classes: Any = 1000, batch: Any = 1, in_channels: Any = 3, bn: bool = False
) -> PaperTable:
    """The paper's Tables 1-4 side by side: layout, figures computed at this input, and the
    published results (quoted, never computed)."""
    from ..network import paper
    from ..report import paper_table as table

    base = Request(num_classes=num_classes, in_channels=in_channels, input_size=input_size, batch=batch)
    reports = {c: analyze_request(base.replace(model=paper.NAMES[c])) for c in paper.CONFIGS}
    with_bn = (
        {c: analyze_request(base.replace(model=paper.NAMES[c], batch_norm=True)) for c in paper.CONFIGS} if bn else None
    )
    return table.paper_table(reports, with_bn)


def explain(req: Request, figures: list[str] | tuple[str, ...] = ()) -> Explanation:
    """The VGG16 figures in circulation checked against the report, and the quantities that
    produce each figure the user brought."""
    req = checked(req)
    from ..report.explanation import explanation

    report = analyze_request(req)
    vgg16 = analyze("vgg16").totals if report.model.from_module else report.totals
    return explanation(report, vgg16, figures)


def identify(path: str) -> Identification:
    """Which VGG (variant, classes, BatchNorm, input channels) a state dict, or a Keras or ONNX
    file, belongs to."""
    from ..network.reference import framework_of

    framework = framework_of(path)
    if framework is not None:
        from .frameworks import identify_file

        return identify_file(path, framework)
    from ..runtime import checkpoint

    return checkpoint.identify(path)


@containing
def diff(a: Request, b: Request) -> Diff:
    """Two models' weight and pooling layers aligned in execution order, field by field."""
    a, b = checked(a, "a"), checked(b, "b")
    from ..report.diff import diff_reports

    (ra, ta), (rb, tb) = _analysis(a), _analysis(b)
    return diff_reports(ra, ta, rb, tb)
