"""`params` and `summary`: the per-layer tables."""

from __future__ import annotations

import click

from ... import api
from ...request import Request
from ..options import Output, emit, examples, model_options, presenters


@click.command(
    epilog=examples(
        "vgg-inspect params vgg16",
        "vgg-inspect params C --batch-norm --num-classes 10 --in-channels 1",
        "vgg-inspect params --config 64,M,128,M,256,256,M --input 32",
    )
)
@model_options()
def params(out: Output, all_layers: bool, req: Request) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = api.analyze_request(req)
    emit(out, report, lambda: presenters.params_views(report, all_layers))


@click.command(
    epilog=examples(
        "vgg-inspect summary vgg19 --input 320x480",
        "vgg-inspect summary vgg16 --head conv --input 384",
        "vgg-inspect summary vgg16 --device cpu --dtype bfloat16",
    )
)
@model_options()
def summary(out: Output, all_layers: bool, req: Request) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field."""
    report = api.analyze_request(req)
    emit(out, report, lambda: presenters.summary_views(report, all_layers))
