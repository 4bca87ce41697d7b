"""`receptive-field`: per-layer fields, the empirical field and the 3x3-stack comparisons."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import click

from ... import api
from ...errors import VggInspectError
from ...request import Request
from ..options import Command, Output, emit, examples, given, model_options, presenters
from ..progress import progress_bar

# receptive-field has four modes; each option belongs to the modes listed here.
RF_MODES = {
    "layers": "per-layer fields of MODEL",
    "effective": "MODEL --effective",
    "blocks": "--model MODEL",
    "stack": "the comparison table (no MODEL)",
}
RF_OPTION_MODES = {
    "channels": ("stack",),
    "out_channels": ("stack",),
    "kernel": ("stack",),
    "bias": ("stack",),
    "layer": ("effective",),
    "mode": ("effective",),
    "seed": ("effective",),
    "samples": ("effective",),
    "all_layers": ("layers",),
    "init": ("layers",),
    "device": ("layers",),
    "config": ("layers", "effective"),
    "batch_norm": ("layers", "effective", "blocks"),
    "num_classes": ("layers", "effective", "blocks"),
    "input_size": ("layers", "effective", "blocks"),
    "batch": ("layers", "effective", "blocks"),
    "dtype": ("layers", "effective", "blocks"),
    "head": ("layers", "effective", "blocks"),
    "weights": ("layers",),
}


@click.command(
    "receptive-field",
    cls=Command,
    epilog=examples(
        "vgg-inspect receptive-field vgg16 --input 320x480",
        "vgg-inspect receptive-field --in-channels 64 --out-channels 1 --kernel 11 --bias",
        "vgg-inspect receptive-field --model vgg16",
        "vgg-inspect receptive-field vgg16 --effective --layer conv4_3 --samples 8",
    ),
)
@model_options(in_channels_help="Image channels with a MODEL (default 3); C_in of the comparison without one.")
@click.option("--model", "compare_model", metavar="MODEL", help="Compare each block of MODEL with one conv.")
@click.option("--channels", type=int, help="C_in = C_out for the comparison table (default 512).")
@click.option("--out-channels", type=int, help="C_out for the comparison table.")
@click.option("--kernel", type=int, help="Compare up to this single kernel size (odd; default 7).")
@click.option("--bias", is_flag=True, help="Count biases in the comparison table.")
@click.option("--effective", is_flag=True, help="Measure the field empirically from input gradients (runs the model).")
@click.option("--layer", help="With --effective: the layer whose centre unit is traced (default: the last conv).")
@click.option(
    "--mode",
    type=click.Choice(["effective", "support"]),
    default="effective",
    show_default=True,
    help="With --effective: random weights (effective) or the exact support check (support).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="With --effective: the random seed.")
@click.option("--samples", type=int, default=4, show_default=True, help="Random inputs averaged in effective mode.")
@click.pass_context
def receptive_field(
    ctx: click.Context,
    out: Output,
    all_layers: bool,
    compare_model: str | None,
    channels: int | None,
    out_channels: int | None,
    kernel: int | None,
    bias: bool,
    effective: bool,
    layer: str | None,
    mode: str,
    seed: int,
    samples: int,
    req: Request,
) -> None:
    """Receptive field per layer (with MODEL), or why VGG stacks 3x3 convs (without one)."""
    has_model = req.model is not None or req.config is not None
    if compare_model and has_model:
        raise VggInspectError("give a MODEL (per-layer fields) or --model (block comparison), not both")
    chosen = "blocks" if compare_model else ("effective" if effective else "layers") if has_model else "stack"
    if effective and not has_model:
        raise VggInspectError("--effective needs a MODEL, e.g. vgg-inspect receptive-field vgg16 --effective")
    for name, modes in RF_OPTION_MODES.items():
        if chosen not in modes and given(ctx, name):
            option = "--" + name.replace("_", "-").replace("input-size", "input")
            wanted = " or ".join(RF_MODES[m] for m in modes)
            raise VggInspectError(f"{option} applies to {wanted}, not to {RF_MODES[chosen]}")

    if chosen == "stack":
        width = 512 if channels is None else channels
        cin = width if req.in_channels is None else req.in_channels
        table = api.stack_comparison(cin, width if out_channels is None else out_channels,
                                     7 if kernel is None else kernel, bias)  # fmt: skip
        emit(out, table, lambda: presenters.stack_view(table.rows, table.in_channels, table.out_channels, bias))
        return
    req = req.replace(in_channels=3 if req.in_channels is None else req.in_channels)
    if chosen == "blocks":
        blocks = api.block_comparison(req.replace(model=compare_model))
        emit(out, blocks, lambda: presenters.block_view(blocks.blocks, blocks.model, blocks.input))
        return
    if chosen == "layers":
        report = api.analyze_request(req)
        emit(out, report, lambda: presenters.receptive_views(report, all_layers))
        return
    with _progress(mode, samples) as on_step:
        report = api.receptive_field(req, effective=True, layer=layer, mode=mode, seed=seed, samples=samples,
                                     on_step=on_step)  # fmt: skip
    field = report.effective_receptive_field
    assert field is not None  # asked for, so computed
    emit(out, report, lambda: presenters.effective_view(field, report))


def _progress(mode: str, samples: int) -> AbstractContextManager[Callable[[str], None]]:
    """A progress bar on stderr while the gradients are taken (gone when they are)."""
    return progress_bar("gradients of the input", 1 + (1 if mode == "support" else samples))
