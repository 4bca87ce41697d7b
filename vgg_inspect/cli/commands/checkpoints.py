"""`identify`: which VGG a checkpoint belongs to."""

from __future__ import annotations

import click

from ... import api
from ..options import Command, Output, emit, examples, output_options, presenters
from ..progress import working


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect identify vgg16-397923af.pth",
        "vgg-inspect identify my_checkpoint.pt --format json",
    ),
)
@click.argument("path", metavar="FILE")
@output_options
def identify(out: Output, path: str) -> None:
    """Name the variant, class count, BatchNorm use and input channels of a state dict (loaded
    with weights_only=True: never pickled code), from torchvision's key layout or, for renamed
    keys, the sequence of weight shapes; otherwise the closest variant and where it differs."""
    with working(f"reading {path}"):
        found = api.identify(path)
    emit(out, found, lambda: presenters.identify_view(found))
