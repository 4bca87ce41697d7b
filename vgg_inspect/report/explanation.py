"""``explain``: the VGG16 figures in circulation checked against a report, and the quantities
that produce each figure the user brought (pure)."""

from __future__ import annotations

from ..metrics import circulating_figures
from .documents import Explanation
from .model import Report, Totals

STANDARD_INPUT = [1, 3, 224, 224]


def is_standard_vgg16(report: Report) -> bool:
    """Config D as the figures in circulation mean it: 1000 classes, 224x224 RGB, batch 1, fc head."""
    m = report.model
    return (m.config, m.batch_norm, m.num_classes, m.in_channels, m.head, report.input.shape) == (
        "D", False, 1000, 3, "fc", STANDARD_INPUT,
    )  # fmt: skip


def explanation(report: Report, vgg16: Totals, figures: list[str] | tuple[str, ...] = ()) -> Explanation:
    """``vgg16``: the built-in VGG16's totals, against which a model of your own is recognised."""
    standard = is_standard_vgg16(report)
    warnings = list(report.warnings)
    if report.model.from_module and report.input.shape == STANDARD_INPUT:  # your model: is it VGG16?
        if (report.totals.params, report.totals.macs) == (vgg16.params, vgg16.macs):
            standard = True
            warnings.append(f"{report.model.name} has VGG16's {vgg16.params:,} parameters and {vgg16.macs:,} MACs: "
                            "the figures in circulation about VGG16 apply to it")  # fmt: skip
    if not standard and not figures:
        warnings.append("the figures in circulation are about VGG16 (config D, 1000 classes, 224x224 RGB, batch 1); "
                        "give figures to trace them in this model")  # fmt: skip
    known = circulating_figures.circulation(report) if standard else None
    claims = known if not figures else None
    found = [circulating_figures.match(f, report, known) for f in figures] if figures else None
    return Explanation(report.model, report.input, claims, found, warnings)
