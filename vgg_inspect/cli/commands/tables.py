"""`params` and `summary`: the per-layer tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ... import api
from ..options import Output, emit, model_options, request, views

if TYPE_CHECKING:
    pass


@click.command()
@model_options()
def params(out: Output, all_layers: bool, **kw: Any) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = api.analyze_request(request(kw))
    emit(out, report, views("params_views", report, all_layers))


@click.command()
@model_options()
def summary(out: Output, all_layers: bool, **kw: Any) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field."""
    report = api.analyze_request(request(kw))
    emit(out, report, views("summary_views", report, all_layers))
