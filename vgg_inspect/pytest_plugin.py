"""A pytest plugin, loaded by pytest through the ``pytest11`` entry point when vgg-inspect is
installed: the ``vgg_report`` fixture and ``assert_report``, for architecture tests in a project's
own suite::

    from vgg_inspect.pytest_plugin import assert_report

    def test_backbone(vgg_report):
        report = vgg_report("vgg16", num_classes=10)
        assert_report(report, params=134_301_514, macs=pytest.approx(15.47e9, rel=0.01))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .report.expectations import lookup
from .report.model import Report


def assert_report(report: Report, **expected: Any) -> None:
    """Every keyword is a totals key (``params``, ``macs``, ``params_by_kind__fc``) or a layer value
    written ``conv5_3__params``; a value may be ``pytest.approx(...)``. All mismatches are listed."""
    data = report.to_dict()
    problems = []
    for key, want in expected.items():
        path = key.replace("__", ".")
        try:
            got = lookup(data, path)
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if got != want:
            shown = f"{got:,}" if isinstance(got, int) and not isinstance(got, bool) else repr(got)
            expected_text = f"{want:,}" if isinstance(want, int) and not isinstance(want, bool) else repr(want)
            problems.append(f"{path}: expected {expected_text}, got {shown}")
    if problems:
        name = report.model.name
        raise AssertionError(f"{name} (input {'x'.join(map(str, report.input.shape))}):\n  " + "\n  ".join(problems))


@pytest.fixture
def vgg_report() -> Callable[..., Report]:
    """``vgg_report(model, **options)``: ``vgg_inspect.analyze`` (closed form, no torch unless a device
    is named)."""
    from . import analyze

    return analyze
