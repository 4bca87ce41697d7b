"""`memory`: the memory conventions, budgets and measurements."""

from __future__ import annotations

import click

from ... import api
from ...request import Request
from .. import completion
from ..options import Command, Output, emit, examples, model_options, presenters


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect memory vgg16",
        "vgg-inspect memory vgg16_bn --budget 16GiB --optimizer adam",
        "vgg-inspect memory vgg16 --device-spec l4 --dtype bfloat16",
        "vgg-inspect memory vgg19 --device cuda --measure --train",
    ),
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
@click.option(
    "--device-spec", shell_complete=completion.device_specs, metavar="NAME",
    help="A card from the data sheets (h100-sxm, a100-40gb, l4...): its capacity, less a stated 10% margin for "
    "what CUDA adds, is the budget.",
)  # fmt: skip
@click.option("--measure", is_flag=True, help="With --device cuda: run for real, report max_memory_allocated.")
@click.option("--train", is_flag=True, help="With --measure: forward and backward in train mode.")
def memory(
    out: Output,
    all_layers: bool,
    optimizer: str,
    budget: str | None,
    device_spec: str | None,
    measure: bool,
    train: bool,
    req: Request,
) -> None:
    """Activation, saved-for-backward, weight, gradient and optimizer memory, each convention apart."""
    from ...render.units import parse_bytes

    limit = parse_bytes(budget) if budget else None
    report = api.memory(req, optimizer=optimizer, limit=limit, measured=measure, train=train, device_spec=device_spec)
    emit(out, report, lambda: presenters.memory_views(report, all_layers))
