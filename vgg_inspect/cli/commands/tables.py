"""`params` and `summary`: the per-layer tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ... import api
from ..options import Output, emit, examples, model_options, request, views

if TYPE_CHECKING:
    pass


@click.command(
    epilog=examples(
        "vgg-inspect params vgg16",
        "vgg-inspect params C --batch-norm --num-classes 10 --in-channels 1",
        "vgg-inspect params --config 64,M,128,M,256,256,M --input 32",
    )
)
@model_options()
def params(out: Output, all_layers: bool, **kw: Any) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = api.analyze_request(request(kw))
    emit(out, report, views("params_views", report, all_layers))


@click.command(
    epilog=examples(
        "vgg-inspect summary vgg19 --input 320x480",
        "vgg-inspect summary vgg16 --head conv --input 384",
        "vgg-inspect summary vgg16 --device cpu --dtype bfloat16",
    )
)
@model_options()
def summary(out: Output, all_layers: bool, **kw: Any) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field."""
    report = api.analyze_request(request(kw))
    emit(out, report, views("summary_views", report, all_layers))
