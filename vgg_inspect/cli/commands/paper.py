"""`variants`: the paper's Tables 1-4 side by side, computed where a number can be computed."""

from __future__ import annotations

import click

from ... import api
from ...errors import VggInspectError
from ...request import Request
from ..options import Command, Output, emit, examples, model_options, output_options, presenters


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect variants",
        "vgg-inspect variants --input 384 --bn",
        "vgg-inspect variants --format markdown -o table1.md",
    ),
)
@click.option(
    "--input",
    "input_size",
    default="224",
    show_default=True,
    metavar="SIZE",
    help="Input size S or HxW for the computed rows.",
)
@click.option("--num-classes", type=int, default=1000, show_default=True, help="Classes of the last layer.")
@click.option("--batch", type=int, default=1, show_default=True, help="Batch size for the memory rows.")
@click.option("--bn", is_flag=True, help="Add the BatchNorm forms and torchvision's published BN accuracies.")
@output_options
def variants(out: Output, input_size: str, num_classes: int, batch: int, bn: bool) -> None:
    """The configurations A, A-LRN, B, C, D, E as columns, laid out like the paper's Table 1,
    with parameters, MACs, memory and receptive fields computed below, and the paper's published
    results (Tables 2-4) marked as such.

    """
    table = api.paper_table(input_size=input_size, num_classes=num_classes, batch=batch, bn=bn)
    emit(out, table, lambda: presenters.paper_view(table))


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect explain",
        "vgg-inspect explain vgg16 1728 30.94G 93MB 527.8MiB",
        "vgg-inspect explain vgg19 --input 320 143.67M",
    ),
)
@click.argument("args", nargs=-1, metavar="[MODEL] [FIGURE]...")
@model_options(argument=False)
def explain(out: Output, all_layers: bool, args: tuple[str, ...], req: Request) -> None:
    """The figures that circulate for VGG16 (138M, 15.5 vs 30.9 GFLOPs, 93 MB per image...), each
    traced to what it counts, with the right figure and a verdict; or, given FIGUREs, which
    quantity of MODEL produces each (which layer or total, with or without bias, MACs or FLOPs,
    which memory convention and dtype, MB or MiB), or the nearest one.
    """
    if all_layers:
        raise VggInspectError("--all-layers applies to the per-layer tables, not to explain")
    model = args[0] if args and not args[0][:1].isdigit() else None
    figures = args[1:] if model is not None else args
    result = api.explain(req.replace(model=model), figures)
    emit(out, result, lambda: presenters.explain_views(result))
