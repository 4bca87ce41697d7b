"""Option parsing shared by the commands: the model and output options, the help's sections, and
error rendering (the group that loads commands: group.py; progress on a terminal: progress.py)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .. import validate
from ..errors import VggInspectError
from ..records import record
from ..render.output import FORMATS
from ..request import Request
from . import completion

if TYPE_CHECKING:
    from ..render import presenters as presenters  # (re-exported: the commands name presenters from it)
    from ..render.views import View
else:

    class _Presenters:
        """``render.presenters``, imported on first use: only a human format needs it (and rich)."""

        def __getattr__(self, name: str) -> Any:
            from ..render import presenters

            return getattr(presenters, name)

    presenters = _Presenters()

# The API names a bad argument by its Python name; the CLI says which option it came from.
OPTION_NAMES = {
    "model": "MODEL",
    "config": "--config",
    "batch_norm": "--batch-norm",
    "num_classes": "--num-classes",
    "in_channels": "--in-channels",
    "out_channels": "--out-channels",
    "input_size": "--input",
    "batch": "--batch",
    "dtype": "--dtype",
    "device": "--device",
    "init": "--init",
    "include": "--include",
    "optimizer": "--optimizer",
    "budget": "--budget",
    "kernel": "--kernel",
    "layer": "--layer",
    "mode": "--mode",
    "samples": "--samples",
    "measure": "--measure",
    "seed": "--seed",
    "head": "--head",
    "weights": "--weights",
    "file": "FILE",
    "kwargs": "--kwargs",
    "figure": "FIGURE",
    "output": "--output",
    "device_spec": "--device-spec",
    "by": "--by",
    "depth": "--depth",
    "peak_tflops": "--peak-tflops",
    "bandwidth": "--bandwidth",
    "warmup": "--warmup",
    "iterations": "--iterations",
    "train": "--train",
    "tf32": "--tf32",
    "refresh": "--refresh",
    "channels_last": "--channels-last",
    "compile": "--compile",
    "per_layer": "--per-layer",
    "measured": "--measure",
}


def message(exc: VggInspectError) -> str:
    return exc.render(OPTION_NAMES)


OWN_EMPTY = ("config", "dtype", "input_size", "batch")  # their own checks say "malformed" or "empty"
# What an empty value of an option with this metavar should have been.
_WANTED = {"FILE": "a file name", "NAME": "a name", "SIZE": "a size such as 16GiB", "TEXT": "a value"}


# The options every model command shares, listed after the command's own in its help.
MODEL_OPTION_NAMES = frozenset({"config", "batch_norm", "num_classes", "in_channels", "input_size", "batch", "dtype",
                                "device", "init", "head", "kwargs", "weights", "all_layers"})  # fmt: skip
OUTPUT_OPTION_NAMES = frozenset({"fmt", "format", "output", "wide", "export_svg", "export_html"})


class Command(click.Command):
    """A command whose text options refuse an empty value typed on the command line (``--plot ''``,
    ``--budget ''``) instead of taking it as "not given": every command is made with ``cls=Command``.
    Options that say more about their own empty value (--config) keep their message. Its help lists
    the command's own options first, then the model and input options every command shares, then
    the output's."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Options": [], "Model and input": [], "Output": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name = param.name or ""
            title = "Output" if name in OUTPUT_OPTION_NAMES else "Model and input" if name in MODEL_OPTION_NAMES \
                else "Options"  # fmt: skip
            sections[title].append(record)
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for param in self.params:
            value = ctx.params.get(param.name or "")
            values = value if isinstance(value, tuple) else (value,)
            typed = ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.COMMANDLINE
            if isinstance(param, click.Option) and typed and param.name not in OWN_EMPTY and "" in values:
                wanted = _WANTED.get(param.metavar or "TEXT", f"a value ({param.metavar})")
                if param.name == "output":
                    wanted += ", or - for standard output"
                raise VggInspectError(f"{param.opts[0]} needs {wanted}, got an empty string")
        return rest


def fail(ctx: click.Context, text: str, code: int) -> None:
    # One line, whatever the user typed: control characters are shown escaped (\r, \x1e).
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    click.echo(f"Error: {shown}", err=True)
    ctx.exit(code)


@record(frozen=True)
class Output:
    """Where and how a command's result goes: --format, --output (- for stdout), --wide."""

    fmt: str
    path: str | None
    wide: bool
    exports: dict[str, str] | None = None


def emit(out: Output, document: Any, make_views: Callable[[], list[View] | View]) -> None:
    """``document`` in the chosen format; ``make_views`` (the command's presenter) runs only for a
    human format."""
    from ..render.output import emit as render

    def made() -> list[View]:
        found = make_views()
        return found if isinstance(found, list) else [found]

    render(out.fmt, out.path, document, made, out.wide, out.exports)


# A file's extension names its format: -o report.csv writes CSV unless --format says otherwise.
EXTENSION_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                     ".htm": "html", ".txt": "table"}  # fmt: skip


def format_for(fmt: str, output: str | None) -> str:
    """The format written: --format where given; else the --output file's extension (report.csv:
    csv); else the table. A --format that contradicts the extension is an error, not a surprise."""
    ctx = click.get_current_context(silent=True)
    given = ctx is not None and ctx.get_parameter_source("fmt") is click.core.ParameterSource.COMMANDLINE
    implied = EXTENSION_FORMATS.get(os.path.splitext(output or "")[1].lower()) if output and output != "-" else None
    if given and implied and implied != fmt:
        ext = {"markdown": "md", "table": "txt"}.get(fmt, fmt)
        raise VggInspectError(f"--format {fmt} contradicts --output {output}, whose extension means {implied}: "
                              f"drop one, or name the file .{ext}")  # fmt: skip
    return implied if implied and not given else fmt


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--format, --output and --wide, handed to the command as one ``out: Output``."""

    @functools.wraps(f)
    def command(
        *args: Any, fmt: str, output: str | None, wide: bool, export_svg: str | None, export_html: str | None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        for flag, value in (("--output", output), ("--export-svg", export_svg), ("--export-html", export_html)):
            if value is not None and not value.strip():
                raise VggInspectError(
                    f"{flag} needs a file name" + (", or - for standard output" if flag == "--output" else "")
                )
        from ..render.writes import check_destination

        for path in (output, export_svg, export_html):
            if path is not None:
                check_destination(path)  # before the work, not after it
        exports = {k: v for k, v in (("svg", export_svg), ("html", export_html)) if v}
        return f(*args, out=Output(format_for(fmt, output), output, wide, exports or None), **kwargs)

    command = click.option("--export-html", metavar="FILE", help="Also save the table as rich draws it, as HTML.")(
        command
    )
    command = click.option("--export-svg", metavar="FILE", help="Also save the table as rich draws it, as SVG.")(
        command
    )

    command = click.option(
        "--wide", is_flag=True, help="Tables: show every column at full width, even past the terminal's edge."
    )(command)
    command = click.option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to FILE (atomically) instead of standard output; - is stdout. Its extension (.json, .csv, .md, "
        ".html) sets the format unless --format says otherwise.",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format: rich table, JSON report, CSV, Markdown, or a self-contained HTML page (with the "
        "diagram and charts for a model).",
    )(command)


def model_options(
    multi_input: bool = False,
    in_channels_help: str | None = None,
    argument: bool = True,
    outputs: bool = True,
    tables: bool = True,
    multi_batch: bool = False,
    multi_dtype: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """MODEL and the options that describe the network and its input (``request`` gathers them).
    Values are checked by the API, whose errors name the option; that keeps every error one line.
    ``argument=False``: the command reads MODEL from its own arguments."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        opts = [
            *([click.argument("model", required=False, shell_complete=completion.models)] if argument else []),
            click.option(
                "--config",
                help="Custom layer list, e.g. '64,64,M,128,1x1-128,M,LRN' "
                "(N: 3x3 conv, 1x1-N: 1x1 conv, M: max-pool, LRN).",
            ),
            click.option("--batch-norm", is_flag=True, help="BatchNorm after every conv (same as the _bn name)."),
            click.option("--num-classes", type=int, default=1000, show_default=True, help="Classes of the last layer."),
            click.option(
                "--in-channels",
                type=int,
                default=None if in_channels_help else 3,
                show_default=not in_channels_help,
                help=in_channels_help or "Input channels (1 for grayscale, more for multispectral).",
            ),
            click.option(
                "--input",
                "input_size",
                default="224",
                show_default=True,
                metavar="SIZE",
                help="Input size S or HxW" + (", or a comma list to compare sizes." if multi_input else "."),
            ),
            click.option("--batch", default="1", show_default=True, metavar="N", help="Batch size.")
            if not multi_batch
            else click.option(
                "--batch", default="1", show_default=True, metavar="N[,N...]", help="Batch size, or a comma list."
            ),
            click.option(
                "--dtype",
                shell_complete=completion.dtypes,
                default="float32",
                show_default=True,
                metavar="DTYPE[,DTYPE...]" if multi_dtype else "TEXT",
                help="float32, float16 or bfloat16" + (", or a comma list." if multi_dtype else "."),
            ),
            click.option(
                "--device",
                help="Instantiate the model on cpu, cuda, cuda:N, mps or meta and analyse the "
                "module itself (default: closed-form analysis, no torch).",
            ),
            click.option(
                "--init",
                is_flag=True,
                help="With --device: initialise the weights (torchvision's scheme; your own code for your model).",
            ),
            click.option(
                "--head",
                type=click.Choice(["fc", "conv"]),
                default="fc",
                show_default=True,
                help="fc: torchvision's adaptive pool + linear layers; conv: the paper's test-time dense "
                "evaluation (fc6 a 7x7 conv, fc7/fc8 1x1 convs, the score map averaged).",
            ),
            click.option(
                "--kwargs",
                metavar="NAME=VALUE,...",
                help="For your own model (path/to/file.py:Name or package.module:Name, whose code this runs): "
                "arguments for its class or factory, as Python literals: --kwargs \"cfg=[64,'M',128],name='a,b'\".",
            ),
            click.option(
                "--weights",
                metavar="FILE",
                help="A checkpoint (state dict, loaded with weights_only=True): report its missing, unexpected and "
                "mis-shaped keys against this architecture.",
            ),
            *(
                [click.option("--all-layers", is_flag=True, help="Show ReLU, Dropout and flatten rows too.")]
                if tables
                else []
            ),
        ]

        @functools.wraps(f)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k, None) for k in REQUEST_FIELDS}
            _one_value_here(values, multi_input, multi_batch, multi_dtype)
            if multi_batch:  # the command receives every batch; the request holds the first
                kwargs["batches"] = batches = validate.counts(values["batch"], "batch")
                values["batch"] = batches[0]
            else:
                values["batch"] = _one_count(values["batch"])
            if multi_dtype:  # likewise: every dtype to the command, the first in the request
                kwargs["dtypes"] = dtypes = validate.names(values["dtype"], "dtype", "float32,bfloat16")
                values["dtype"] = dtypes[0]
            return f(*args, req=Request(**values), **kwargs)

        for opt in reversed(opts):
            command = opt(command)
        return output_options(command) if outputs else command

    return decorate


# The commands that take a comma list for an option, where a sweep makes sense.
LISTS = {"input_size": ("--input", "flops", "224,320"), "batch": ("--batch", "roofline and bench", "1,8"),
         "dtype": ("--dtype", "bench", "float32,bfloat16")}  # fmt: skip


def _one_value_here(values: dict[str, Any], *multi: bool) -> None:
    """A comma list given to a command that takes one value: say so, and which commands take one."""
    ctx = click.get_current_context()
    for (field, (option, takers, example)), takes_list in zip(LISTS.items(), multi, strict=True):
        value = values.get(field)
        if not takes_list and isinstance(value, str) and "," in value:
            raise click.UsageError(f"{ctx.info_name} takes one {option} value, not the list '{value}'; "
                                   f"{takers} take{'s' if ' and ' not in takers else ''} a comma list "
                                   f"({option} {example}) to compare them")  # fmt: skip


def _one_count(text: str) -> int | str:
    """--batch where one value is taken: an integer in ASCII digits (the API says if it is below 1),
    else the text itself, which the API refuses saying what it expected ('+-5', '٣', '2.5')."""
    return int(text) if re.fullmatch(r"\s*[+-]?\d+\s*", text, re.ASCII) else text


# The model options, gathered into the Request a command receives as ``req``.
REQUEST_FIELDS = ("model", "config", "batch_norm", "num_classes", "in_channels", "input_size", "batch", "dtype",
                  "device", "init", "head", "weights", "kwargs")  # fmt: skip


def given(ctx: click.Context, name: str) -> bool:
    """Did the user type this option (not its default)?"""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def examples(*lines: str) -> str:
    """A command's epilog: its examples, printed at the end of --help as written."""
    return "\b\nExamples:\n" + "".join(f"  {line}\n" for line in lines)
