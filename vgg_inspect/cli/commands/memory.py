"""`memory`: the memory conventions, budgets and measurements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ... import api
from ...errors import VggInspectError
from ..options import Output, emit, examples, model_options, request, views

if TYPE_CHECKING:
    pass


@click.command(
    epilog=examples(
        "vgg-inspect memory vgg16",
        "vgg-inspect memory vgg16_bn --budget 16GiB --optimizer adam",
        "vgg-inspect memory vgg19 --device cuda --measure --train",
    )
)
@model_options()
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "adam"]),
    default="momentum",
    show_default=True,
    help="Optimizer state in the training total (the paper used SGD with momentum).",
)
@click.option("--budget", metavar="SIZE", help="Memory budget such as 16GiB or 8GB: the largest batch that fits.")
@click.option("--measure", is_flag=True, help="With --device cuda: run for real, report max_memory_allocated.")
@click.option("--train", is_flag=True, help="With --measure: forward and backward in train mode.")
def memory(
    out: Output,
    all_layers: bool,
    optimizer: str,
    budget: str | None,
    measure: bool,
    train: bool,
    **kw: Any,
) -> None:
    """Activation, saved-for-backward, weight, gradient and optimizer memory, each convention apart."""
    from ...render.units import parse_bytes

    limit = parse_bytes(budget) if budget else None
    req = request(kw)
    if measure and not (req.device or "").startswith("cuda"):
        raise VggInspectError("--measure needs --device cuda (it reads torch.cuda.max_memory_allocated)")
    if train and not measure:
        raise VggInspectError("--train goes with --measure; the estimates always cover training")
    report = api.analyze_request(req, optimizer=optimizer)
    if limit is not None:
        report.budget = api.budget(req, limit, optimizer)
    if measure:
        report.measured = api.measure(req, report, train)
    emit(out, report, views("memory_views", report, all_layers))
