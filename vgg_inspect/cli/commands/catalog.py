"""`list`: every variant of the paper."""

from __future__ import annotations

import click

from ... import api
from ..options import Command, Output, emit, examples, output_options, presenters


@click.command(
    "list",
    cls=Command,
    epilog=examples(
        "vgg-inspect list",
        "vgg-inspect list --format json",
    ),
)
@output_options
def list_cmd(out: Output) -> None:
    """Every variant with its aliases, weight layers and parameters."""
    variants = api.variants()
    emit(out, variants, lambda: presenters.list_view(variants.variants))
