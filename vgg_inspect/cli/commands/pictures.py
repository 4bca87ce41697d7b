"""`diagram` and `report`: the network drawn with its numbers, and a self-contained HTML report."""

from __future__ import annotations

import os

import click

from ... import api
from ...errors import VggInspectError
from ...render.diagram import ANNOTATIONS
from ...request import Request
from .. import completion
from ..options import Command, examples, model_options

PICTURE_FORMATS = ("svg", "png", "pdf")


def _target(output: str, allowed: tuple[str, ...]) -> str:
    if output == "-":
        return allowed[0]
    extension = os.path.splitext(output)[1].lstrip(".").lower()
    if extension not in allowed:
        raise VggInspectError(f"--output '{output}': the file name must end in {', '.join('.' + a for a in allowed)}")
    from ...render.writes import check_destination

    check_destination(output)
    return extension


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect diagram vgg16 -o vgg16.svg",
        "vgg-inspect diagram vgg11_bn --annotate macs -o vgg11_bn.png",
        "vgg-inspect diagram --config 64,M,128,M,256,M --head conv --input 96 -o small.pdf",
    ),
)
@model_options(outputs=False, tables=False)
@click.option("--annotate", type=click.Choice(ANNOTATIONS),
              help="Write this figure under each layer (per-block totals are always shown).")  # fmt: skip
@click.option("--output", "-o", required=True, metavar="FILE", help="Where to draw: FILE.svg, .png or .pdf (- : SVG "
              "on standard output).")  # fmt: skip
def diagram(output: str, annotate: str | None, req: Request) -> None:
    """The classic VGG figure, drawn from the report: a slab per conv, pool and FC layer, its
    height following the spatial size and its thickness the channels, grouped by block with each
    block's parameters, MACs and receptive field."""
    from ...render.diagram import diagram as draw
    from ...render.output import write_bytes

    fmt = _target(output, PICTURE_FORMATS)
    report = api.analyze_request(req)
    write_bytes(draw(report, annotate, fmt), output)
    if output != "-":
        click.echo(f"wrote {output}", err=True)


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect report vgg16 -o vgg16.html",
        "vgg-inspect report vgg19_bn --input 320x480 --batch 8 -o vgg19_bn.html",
        "vgg-inspect report vgg16 --dtype bfloat16 --device-spec h100-sxm -o vgg16-h100.html",
    ),
)
@model_options(outputs=False)
@click.option("--output", "-o", required=True, metavar="FILE", help="The HTML file to write (- : standard output).")
@click.option(
    "--device-spec",
    shell_complete=completion.device_specs,
    metavar="NAME",
    help="Also the roofline on this device (see roofline): its plot and table.",
)
def report(output: str, all_layers: bool, device_spec: str | None, req: Request) -> None:
    """One self-contained HTML page to mail or attach to a CI run: conventions, the diagram, charts
    of parameters, MACs, memory and the receptive field per layer, and every table (parameters,
    compute, memory, receptive fields) with exact numbers."""
    from ...render import presenters
    from ...render.html import page
    from ...render.output import write

    _target(output, ("html", "htm"))
    result = (
        api.roofline(req, device_spec=device_spec, batches=[req.batch]) if device_spec else api.analyze_request(req)
    )
    views = [
        *presenters.summary_views(result, all_layers),
        *presenters.params_views(result, all_layers),
        *presenters.flops_views(result, all_layers, train=True),
        *presenters.memory_views(result, all_layers),
        *presenters.receptive_views(result, all_layers),
        *(presenters.roofline_views(result, all_layers) if result.roofline else []),
    ]
    write(page(views, result), output)
    if output != "-":
        click.echo(f"wrote {output}", err=True)
