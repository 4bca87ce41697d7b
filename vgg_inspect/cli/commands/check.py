"""`check`: expectations and golden files, for CI."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ... import api
from ...errors import VggInspectError
from ...render.output import emit
from ..options import model_options, request

if TYPE_CHECKING:
    from ...render.views import View


@click.command()
@model_options()
@click.option(
    "--expect",
    "expects",
    multiple=True,
    metavar="KEY=VALUE",
    help="params=138357544, conv5_3.params=2359808, macs=15.47G (precision as written).",
)
@click.option("--expect-file", type=click.Path(exists=True, dir_okay=False), help="Check a whole saved report.")
@click.option("--write-golden", type=click.Path(dir_okay=False), help="Save this report as a golden JSON file.")
def check(
    fmt: str,
    output: str | None,
    all_layers: bool,
    expects: tuple[str, ...],
    expect_file: str | None,
    write_golden: str | None,
    **kw: Any,
) -> None:
    """For CI: exit 0 when every expectation holds, 1 when any fails, 2 on usage errors."""
    from ...report.check import check_expectations, check_golden
    from ...report.documents import CheckResult

    if not (expects or expect_file or write_golden):
        raise VggInspectError("nothing to check: give --expect KEY=VALUE, --expect-file FILE or --write-golden FILE")
    report = api.analyze_request(request(kw))
    data = report.to_dict()
    if write_golden:
        with open(write_golden, "w", encoding="utf-8") as fh:
            fh.write(report.to_json() + "\n")
        click.echo(f"wrote {write_golden}", err=True)
    outcomes = check_expectations(data, list(expects))
    sections: list[tuple[list[Any], str, bool]] = []  # outcomes, title, only failures
    if expects:
        sections.append((list(outcomes), f"check {report.model.name}", False))
    if expect_file:
        import json

        try:
            with open(expect_file, encoding="utf-8") as fh:
                golden = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise VggInspectError(f"{expect_file} is not a JSON report: {exc}") from None
        golden_outcomes = check_golden(data, golden)
        outcomes += golden_outcomes
        sections.append((golden_outcomes, f"check against {expect_file} (failures shown)", True))
    ok = all(o.ok for o in outcomes)

    def check_views() -> list[View]:
        from ...render import presenters

        return [presenters.check_view(found, title, only_failures=only) for found, title, only in sections]

    if sections:
        emit(fmt, output, CheckResult(ok, len(outcomes), outcomes), check_views)
    if not ok:
        sys.exit(1)
