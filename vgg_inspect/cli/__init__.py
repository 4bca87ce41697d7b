"""The click layer (the only package that imports click): options are parsed here and handed to
``vgg_inspect.api``; renderers in ``vgg_inspect.render`` print the result. A new command is one
function in a module of ``commands/``, registered in ``COMMANDS`` (loaded only when it runs)."""

from __future__ import annotations

import os
import sys

import click

from .group import Group


def _debug(value: bool) -> None:
    from .. import errors

    errors.DEBUG = value  # set on every call: one run's --debug must not outlive it (CliRunner, the API)


def _version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from .._version import __version__

    try:
        torch = version("torch")  # read from the package metadata: torch itself is not imported
    except PackageNotFoundError:
        torch = "not installed"
    click.echo(f"vgg-inspect {__version__}\ntorch {torch}\nPython {platform.python_version()}")
    ctx.exit()


COMMANDS = {
    "list": "catalog:list_cmd",
    "params": "tables:params",
    "summary": "tables:summary",
    "check": "check:check",
    "flops": "flops:flops",
    "memory": "memory:memory",
    "receptive-field": "receptive:receptive_field",
    "variants": "paper:variants",
    "explain": "paper:explain",
    "diagram": "pictures:diagram",
    "report": "pictures:report",
    "identify": "checkpoints:identify",
    "diff": "diff:diff",
    "roofline": "speed:roofline",
    "storage": "speed:storage",
    "bench": "speed:bench",
}

# What each command answers, in one line of the top-level help (click would cut the first
# sentence of each command's own help mid-phrase).
SHORT_HELP = {
    "list": "every variant, its aliases and weight layers",
    "params": "parameters per layer, with formula and share",
    "summary": "the per-layer table: shapes, params, MACs, memory, fields",
    "check": "CI: exit 1 when an expectation or a baseline fails",
    "flops": "MACs and FLOPs per layer, the convention stated",
    "memory": "activation, saved, weight and optimizer bytes; --budget",
    "receptive-field": "fields per layer, or why VGG stacks 3x3 convs",
    "variants": "Table 1 and 2 of the paper: A to E side by side",
    "explain": "where the figures that circulate for VGG16 come from",
    "diagram": "the classic VGG figure, drawn from the numbers",
    "report": "one self-contained HTML page with everything",
    "identify": "which VGG a checkpoint, Keras or ONNX file holds",
    "diff": "two models' layers aligned, differences in red",
    "roofline": "bytes moved, FLOPs per byte, the bound on a device",
    "storage": "the weights' size per number format, the file's size",
    "bench": "time forward passes or training steps for real",
}

EPILOG = """\b
Examples:
  vgg-inspect params vgg16
  vgg-inspect flops --input 224,448
  vgg-inspect check vgg16 --expect params=138357544
\b
Shell completion (click's), e.g. in ~/.bashrc:
  eval "$(_VGG_INSPECT_COMPLETE=bash_source vgg-inspect)"
  (zsh: zsh_source in ~/.zshrc; fish: _VGG_INSPECT_COMPLETE=fish_source vgg-inspect | source)
"""


@click.group(
    epilog=EPILOG,
    cls=Group,
    lazy=COMMANDS,
    lines=SHORT_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _debug(value),
    help="Errors raised by your own model's code also print its traceback.",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the versions of vgg-inspect, torch (if installed) and Python, and exit.",
)
def cli() -> None:
    """Architecture analysis for VGG networks: shapes, parameters, MACs/FLOPs, memory and
    receptive fields, every number with its convention.

    MODEL is a variant name (vgg11, vgg11_lrn, vgg13, vgg16_c, vgg16, vgg19, each also _bn) or a
    paper letter (A, A-LRN, B, C, D, E); it defaults to vgg16.
    """


def main() -> None:
    try:
        cli(prog_name="vgg-inspect")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    # Output is flushed, files are closed: skip tearing down torch's module graph (~0.1-0.2 s)
    # when torch was loaded. A process-level choice, so only here, never in the Python API.
    if "torch" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


__all__ = ["cli", "main"]
