"""`check`: expectations and golden files, for CI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ... import api
from ...errors import VggInspectError
from ...request import Request
from ..options import Command, Output, emit, examples, model_options, presenters

if TYPE_CHECKING:
    from ...render.views import View


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect check vgg16 --expect params=138357544 --expect conv5_3.params=2359808",
        "vgg-inspect check --config 64,M,128,M --baseline golden.json --update",
        "vgg-inspect check --config 64,M,128,M --baseline golden.json --tolerance macs=2%",
    ),
)
@model_options()
@click.option(
    "--expect",
    "expects",
    multiple=True,
    metavar="KEY=VALUE",
    help="params=138357544, conv5_3.params=2359808, macs=15.47G (precision as written), "
    "fc6.receptive_field=global. Repeatable.",
)
@click.option(
    "--expect-file",
    metavar="FILE",
    help="Compare every value of a saved report (model, input, totals, layers) exactly.",
)
@click.option("--write-golden", metavar="FILE", help="Save this report as a golden JSON file (for --expect-file).")
@click.option(
    "--baseline",
    metavar="FILE",
    help="Compare the totals with a saved report, within --tolerance; print only what moved.",
)
@click.option(
    "--tolerance",
    metavar="TOL",
    help="With --baseline: one relative tolerance for every metric (1%, "
    "0.01) or per metric (macs=2%,params=0; others exact). Default: exact.",
)
@click.option("--strict-layers", is_flag=True, help="With --baseline: also compare every layer row exactly.")
@click.option(
    "--update", is_flag=True, help="With --baseline: write (or rewrite) the baseline from this report; exit 0."
)
def check(
    out: Output,
    all_layers: bool,
    expects: tuple[str, ...],
    expect_file: str | None,
    write_golden: str | None,
    baseline: str | None,
    tolerance: str | None,
    strict_layers: bool,
    update: bool,
    req: Request,
) -> None:
    """For CI: exit 0 when every expectation holds, 1 when any fails, 2 on usage errors."""
    from ...render.output import write
    from ...report.documents import CheckResult, Outcome
    from ...report.expectations import (
        check_expectations,
        check_golden,
        compare_baseline,
        load_report_file,
        parse_tolerance,
        recorded_for,
    )

    for flag, value in (("--tolerance", tolerance), ("--strict-layers", strict_layers), ("--update", update)):
        if value and not baseline:
            raise VggInspectError(f"{flag} goes with --baseline FILE")
    if not (expects or expect_file or write_golden or baseline or req.weights):
        raise VggInspectError(
            "nothing to check: give --expect KEY=VALUE, --expect-file FILE, --baseline FILE, --weights FILE or "
            "--write-golden FILE"
        )
    tolerances = parse_tolerance(tolerance)
    report = api.analyze_request(req)
    data = report.to_dict()
    if write_golden:
        write(report.to_json() + "\n", write_golden)
        click.echo(f"wrote {write_golden}", err=True)
    if baseline and update:
        write(report.to_json() + "\n", baseline)
        click.echo(f"wrote baseline {baseline}", err=True)
        baseline = None
    outcomes = check_expectations(data, list(expects))
    sections: list[tuple[list[Any], str, bool]] = []  # outcomes, title, only failures
    if expects:
        sections.append((list(outcomes), f"check {report.model.name}", False))
    if report.weights is not None:
        w = report.weights
        found = [Outcome(f"weights: {k}", "present", "missing", False) for k in w.missing]
        found += [Outcome(f"weights: {k}", "absent", "present", False) for k in w.unexpected]
        found += [Outcome(f"weights: {m.key}", m.expected, m.found, False) for m in w.mismatches]
        found = found or [Outcome("weights", "fit the architecture", f"{w.params:,} parameters fit", True)]
        outcomes += found
        sections.append((found, f"checkpoint {w.path} against {report.model.name}", False))
    comparisons: tuple[tuple[str | None, str, Callable[[Any], list[Outcome]]], ...] = (
        (expect_file, f"check against {expect_file} (failures shown)", lambda b: check_golden(data, b)),
        (baseline, f"what moved against {baseline}", lambda b: compare_baseline(data, b, tolerances, strict_layers)),
    )
    for path, title, compare in comparisons:
        if path:
            saved = load_report_file(path)
            was, now = recorded_for(saved.get("model", {})), recorded_for(data["model"])
            if was != now:  # said first: every difference below follows from it
                click.echo(f"{path} was recorded for {was}; you are checking {now}", err=True)
            found = compare(saved)
            outcomes += found
            sections.append((found, title, True))
    ok = all(o.ok for o in outcomes)

    def check_views() -> list[View]:
        return [presenters.check_view(found, title, only_failures=only) for found, title, only in sections]

    if sections:
        emit(out, CheckResult(ok, len(outcomes), outcomes), check_views)
    if not ok:
        sys.exit(1)
