"""`params` and `summary`: the per-layer tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ... import api
from ...render.output import emit
from ..options import model_options, request, views

if TYPE_CHECKING:
    pass


@click.command()
@model_options()
def params(fmt: str, output: str | None, all_layers: bool, **kw: Any) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = api.analyze_request(request(kw))
    emit(fmt, output, report, views("params_views", report, all_layers))


@click.command()
@model_options()
def summary(fmt: str, output: str | None, all_layers: bool, **kw: Any) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field."""
    report = api.analyze_request(request(kw))
    emit(fmt, output, report, views("summary_views", report, all_layers))
