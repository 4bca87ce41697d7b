"""`flops`: MACs and FLOPs, peers and input sweeps."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

import click

from ... import api, validate
from ...request import Request
from ..options import Command, Output, emit, examples, model_options, presenters
from ..progress import working

if TYPE_CHECKING:
    from ...render.views import View


INCLUDE_HELP = (
    "Add to FLOPs any of bias,relu,pool,norm,elementwise (comma-separated): bias 1 per output element of a biased "
    "layer; relu 1 per output element; pool k*k-1 per max-pool output, window size per adaptive-avg-pool output; "
    "norm 2 per BatchNorm element, n+5 per LRN element, 5 per GroupNorm/LayerNorm/InstanceNorm element (4 without "
    "affine); elementwise (your model's other activations, arithmetic, softmax, reductions, bilinear upsampling) "
    "as the README says."
)


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect flops vgg16",
        "vgg-inspect flops vgg16 --include bias,relu --train",
        "vgg-inspect flops vgg16 --compare --input 224,448",
        "vgg-inspect flops vgg19 --train --input-requires-grad",
    ),
)
@model_options(multi_input=True)
@click.option("--include", default="", metavar="LIST", help=INCLUDE_HELP)
@click.option("--train", is_flag=True, help="Also forward + backward FLOPs per layer.")
@click.option(
    "--input-requires-grad",
    is_flag=True,
    help="The input needs a gradient (a perceptual loss: the generated image does, a frozen VGG's weights do not); "
    "--train then charges the first layer an input gradient too.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Run FlopCounterMode, fvcore and torchinfo and reconcile; a peer skipped (for size, or on meta) is reported "
    "and the exit stays 0.",
)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    type=click.Choice(["flopcounter", "fvcore", "torchinfo"]),
    help="Compare with this peer only (repeatable); if it has to be skipped, the exit is 1.",
)
def flops(
    out: Output,
    all_layers: bool,
    include: str,
    train: bool,
    input_requires_grad: bool,
    compare: bool,
    peers: tuple[str, ...],
    req: Request,
) -> None:
    """MACs and FLOPs per layer, with the convention stated; several --input sizes compare growth."""
    req = req.replace(input_requires_grad=input_requires_grad)
    sizes = validate.input_sizes(req.input_size)
    running = "running FlopCounterMode, fvcore and torchinfo on the model" if compare or peers else ""
    with working(running) if running else contextlib.nullcontext(lambda what: None) as on_step:
        report = api.flops(req.replace(input_size=sizes[0]), include=include, compare=compare, peers=peers,
                           sizes=sizes, train=train, on_step=on_step)  # fmt: skip

    def flops_views() -> list[View]:
        found = presenters.flops_views(report, all_layers, train)
        found += [presenters.peers_view(report.peers)] if report.peers is not None else []
        return found + ([presenters.sweep_view(report)] if report.sweep else [])

    emit(out, report, flops_views)
    skipped = [p.tool for p in report.peers or [] if p.requested and p.status == "skipped"]
    if skipped:
        click.echo(f"Error: the peer you asked for was skipped: {', '.join(skipped)} (the reason is in the table)",
                   err=True)  # fmt: skip
        sys.exit(1)
