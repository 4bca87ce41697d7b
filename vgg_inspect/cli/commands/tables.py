"""`params` and `summary`: the per-layer tables."""

from __future__ import annotations

import click

from ... import api
from ...request import Request
from ..options import Command, Output, emit, examples, model_options, presenters


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect params vgg16",
        "vgg-inspect params C --batch-norm --num-classes 10 --in-channels 1",
        "vgg-inspect params --config 64,M,128,M,256,256,M --input 32",
    ),
)
@model_options()
def params(out: Output, all_layers: bool, req: Request) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = api.analyze_request(req)
    emit(out, report, lambda: presenters.params_views(report, all_layers))


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect summary vgg19 --input 320x480",
        "vgg-inspect summary vgg16 --head conv --input 384",
        "vgg-inspect summary vgg16_bn --by block",
        "vgg-inspect summary my_vgg.py:VGG16 --depth 2",
    ),
)
@model_options()
@click.option(
    "--by",
    type=click.Choice(["block", "module"]),
    help="Also subtotals per VGG block (conv3_1..pool3 is block 3; the classifier, head) or per module path.",
)
@click.option("--depth", type=int, help="Subtotals per module path cut at this depth (features.12 at 1: features).")
def summary(out: Output, all_layers: bool, by: str | None, depth: int | None, req: Request) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field; with
    --by or --depth, subtotals per group as well."""
    if by is None and depth is None:
        report = api.analyze_request(req)
    else:
        report = api.by_group(req, by=by or "module", depth=1 if depth is None else depth)
    emit(out, report, lambda: presenters.summary_views(report, all_layers))
