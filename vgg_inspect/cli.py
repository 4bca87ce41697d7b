"""The click layer: parse options, call the analysis, hand data to a renderer. Nothing else."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from . import presenters, views
from .errors import VggInspectError

FORMATS = ("table", "json", "csv", "markdown")


class Group(click.Group):
    """Turns the tool's own errors into one line on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VggInspectError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # e.g. --output into a missing folder
            click.echo(f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            ctx.exit(1)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
                     help="Write to FILE instead of the terminal.")(f)
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                     help="Output format: rich table, JSON report, CSV or Markdown.")(f)
    return f


def model_options(multi_input: bool = False, in_channels_help: str | None = None
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        opts = [
            click.argument("model", required=False),
            click.option("--config", help="Custom layer list, e.g. '64,64,M,128,1x1-128,M,LRN' "
                         "(N: 3x3 conv, 1x1-N: 1x1 conv, M: max-pool, LRN)."),
            click.option("--batch-norm", is_flag=True, help="BatchNorm after every conv (same as the _bn name)."),
            click.option("--num-classes", type=int, default=1000, show_default=True),
            click.option("--in-channels", type=int, default=None if in_channels_help else 3,
                         show_default=not in_channels_help,
                         help=in_channels_help or "Input channels (1 for grayscale, more for multispectral)."),
            click.option("--input", "input_size", default="224", show_default=True,
                         help="Input size S or HxW" + (", or a comma list to compare sizes." if multi_input else ".")),
            click.option("--batch", type=int, default=1, show_default=True),
            click.option("--dtype", default="float32", show_default=True, help="float32, float16 or bfloat16."),
            click.option("--device", help="Instantiate the model on cpu, cuda, cuda:N, mps or meta and analyse the "
                         "module itself (default: closed-form analysis, no torch)."),
            click.option("--init", is_flag=True, help="With --device: apply torchvision's weight initialisation."),
            click.option("--all-layers", is_flag=True, help="Show ReLU and Dropout rows too."),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return output_options(f)
    return decorate


def _analyze(kw: dict[str, Any], **extra: Any) -> Any:
    from .analysis import analyze

    extra = {k: v for k, v in extra.items() if v is not None}
    return analyze(
        kw["model"], config=kw["config"], batch_norm=kw["batch_norm"], num_classes=kw["num_classes"],
        in_channels=kw["in_channels"], input_size=kw["input_size"], batch=kw["batch"], dtype=kw["dtype"],
        device=kw["device"], init=kw["init"], **extra,
    )


def _spec(kw: dict[str, Any]) -> Any:
    """The ModelSpec the model options describe (for commands that instantiate it themselves)."""
    from .architecture import model_spec

    return model_spec(kw["model"], config=kw["config"], batch_norm=kw["batch_norm"], num_classes=kw["num_classes"],
                      in_channels=kw["in_channels"])


def emit(fmt: str, output: str | None, data: Any, view_list: Sequence[views.View]) -> None:
    """Render ``data`` (JSON) or the views (table, CSV, Markdown) to stdout or ``output``."""
    if fmt == "json":
        text = data.to_json() if hasattr(data, "to_json") else json.dumps(data, indent=2)
        _write(text + "\n", output)
    elif fmt == "csv":
        _write(views.to_csv(view_list), output)
    elif fmt == "markdown":
        _write(views.to_markdown(view_list), output)
    else:
        from rich.console import Console

        if output:
            with open(output, "w", encoding="utf-8") as fh:
                views.to_rich(view_list, Console(file=fh, width=200, color_system=None))
        else:
            console = Console()
            if not console.is_terminal:  # piped: never truncate cells to a guessed 80 columns
                console = Console(width=200)
            views.to_rich(view_list, console)


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vgg-inspect", prog_name="vgg-inspect")
def cli() -> None:
    """Architecture analysis for VGG networks: shapes, parameters, MACs/FLOPs, memory and
    receptive fields, every number with its convention.

    MODEL is a variant name (vgg11, vgg11_lrn, vgg13, vgg16_c, vgg16, vgg19, each also _bn) or a
    paper letter (A, A-LRN, B, C, D, E); it defaults to vgg16.
    """


@cli.command("list")
@output_options
def list_cmd(fmt: str, output: str | None) -> None:
    """Every variant with its aliases, weight layers and parameters."""
    from .analysis import analyze
    from .configs import VARIANTS

    rows = []
    for v in VARIANTS.values():
        r = analyze(v.name)
        rows.append({"name": v.name, "aliases": list(v.aliases), "config": v.config, "batch_norm": v.batch_norm,
                     "weight_layers": r.model["weight_layers"], "params": r.totals["params"], "layers": v.layers})
    emit(fmt, output, {"schema_version": 1, "variants": rows}, [presenters.list_view(rows)])


@cli.command()
@model_options()
def params(fmt: str, output: str | None, all_layers: bool, **kw: Any) -> None:
    """Parameters per layer with their formula, share and running total."""
    report = _analyze(kw)
    emit(fmt, output, report, presenters.params_views(report, all_layers))


@cli.command()
@model_options()
def summary(fmt: str, output: str | None, all_layers: bool, **kw: Any) -> None:
    """The full per-layer table: shapes, parameters, MACs, activation memory, receptive field."""
    report = _analyze(kw)
    emit(fmt, output, report, presenters.summary_views(report, all_layers))


@cli.command()
@model_options()
@click.option("--expect", "expects", multiple=True, metavar="KEY=VALUE",
              help="params=138357544, conv5_3.params=2359808, macs=15.47G (precision as written).")
@click.option("--expect-file", type=click.Path(exists=True, dir_okay=False), help="Check a whole saved report.")
@click.option("--write-golden", type=click.Path(dir_okay=False), help="Save this report as a golden JSON file.")
def check(fmt: str, output: str | None, all_layers: bool, expects: tuple[str, ...], expect_file: str | None,
          write_golden: str | None, **kw: Any) -> None:
    """For CI: exit 0 when every expectation holds, 1 when any fails, 2 on usage errors."""
    from .check import check_expectations, check_golden

    if not (expects or expect_file or write_golden):
        raise VggInspectError("nothing to check: give --expect KEY=VALUE, --expect-file FILE or --write-golden FILE")
    report = _analyze(kw)
    data = report.to_dict()
    if write_golden:
        with open(write_golden, "w", encoding="utf-8") as fh:
            fh.write(report.to_json() + "\n")
        click.echo(f"wrote {write_golden}", err=True)
    outcomes = check_expectations(data, list(expects))
    view_list = []
    if expects:
        view_list.append(presenters.check_view(outcomes, f"check {data['model']['name']}"))
    if expect_file:
        try:
            with open(expect_file, encoding="utf-8") as fh:
                golden = json.load(fh)
        except json.JSONDecodeError as exc:
            raise VggInspectError(f"{expect_file} is not a JSON report: {exc}") from None
        golden_outcomes = check_golden(data, golden)
        outcomes += golden_outcomes
        view_list.append(presenters.check_view(golden_outcomes, f"check against {expect_file} (failures shown)",
                                               only_failures=True))
    if view_list:
        result = {"ok": all(o.ok for o in outcomes), "checked": len(outcomes),
                  "outcomes": [o.__dict__ for o in outcomes]}
        emit(fmt, output, result, view_list)
    if not all(o.ok for o in outcomes):
        sys.exit(1)


INCLUDE_HELP = "Add to FLOPs: any of bias,relu,pool,norm (comma-separated; rules in the README)."


@cli.command()
@model_options(multi_input=True)
@click.option("--include", default="", metavar="LIST", help=INCLUDE_HELP)
@click.option("--train", is_flag=True, help="Also forward + backward FLOPs per layer.")
@click.option("--compare", is_flag=True, help="Run fvcore, torchinfo and FlopCounterMode and reconcile.")
def flops(fmt: str, output: str | None, all_layers: bool, include: str, train: bool, compare: bool,
          **kw: Any) -> None:
    """MACs and FLOPs per layer, with the convention stated; several --input sizes compare growth."""
    from .configs import parse_input_sizes

    sizes = parse_input_sizes(kw.pop("input_size"))
    reports = [_analyze({**kw, "input_size": size}, include=include.split(",")) for size in sizes]
    report = reports[0]
    view_list = presenters.flops_views(report, all_layers, train)
    if compare:
        report.peers = _peers(report, kw)
        view_list.append(presenters.peers_view(report.peers))
    if len(reports) > 1:
        report.extra["sweep"] = [{"input": r.input["shape"], "macs": r.totals["macs"], "flops": r.totals["flops"],
                                  "macs_by_kind": r.totals["macs_by_kind"]} for r in reports]
        view_list.append(presenters.sweep_view(reports))
    emit(fmt, output, report, view_list)


def _peers(report: Any, kw: dict[str, Any]) -> list[dict[str, Any]]:
    from . import peers, torch_backend

    spec = _spec(kw)
    meta_model = torch_backend.instantiate(spec, device="meta", dtype=report.input["dtype"])
    on_meta = kw["device"] == "meta"
    cpu_model = None if on_meta else torch_backend.instantiate(spec, device="cpu", dtype=report.input["dtype"])
    return peers.compare(report, cpu_model, meta_model)


@cli.command()
@model_options()
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam"]), default="momentum", show_default=True,
              help="Optimizer state in the training total (the paper used SGD with momentum).")
@click.option("--budget", metavar="SIZE", help="Memory budget such as 16GiB or 8GB: the largest batch that fits.")
@click.option("--measure", is_flag=True, help="With --device cuda: run for real, report max_memory_allocated.")
@click.option("--train", is_flag=True, help="With --measure: forward and backward in train mode.")
def memory(fmt: str, output: str | None, all_layers: bool, optimizer: str, budget: str | None, measure: bool,
           train: bool, **kw: Any) -> None:
    """Activation, saved-for-backward, weight, gradient and optimizer memory, each convention apart."""
    from . import memory as mem
    from .units import parse_bytes

    limit = parse_bytes(budget) if budget else None
    if measure and not (kw["device"] or "").startswith("cuda"):
        raise VggInspectError("--measure needs --device cuda (it reads torch.cuda.max_memory_allocated)")
    if train and not measure:
        raise VggInspectError("--train goes with --measure; the estimates always cover training")
    # On a device, execute on meta tensors so saved-for-backward tensors are measured by hooks.
    report = _analyze(kw, optimizer=optimizer, execute=True if kw["device"] else None)
    if limit is not None:
        @functools.lru_cache(maxsize=None)  # both searches probe the same batches
        def totals_at(batch: int) -> dict[str, Any]:
            return _analyze({**kw, "batch": batch, "device": None}, optimizer=optimizer).totals

        report.extra["budget"] = {
            "bytes": limit,
            "inference_batch": mem.largest_batch(lambda b: mem.inference_bytes(totals_at(b)) <= limit),
            "training_batch": mem.largest_batch(lambda b: totals_at(b)["training_total_bytes"] <= limit),
        }
    if measure:
        report.extra["measured"] = _measure(report, kw, train)
    emit(fmt, output, report, presenters.memory_views(report, all_layers))


def _measure(report: Any, kw: dict[str, Any], train: bool) -> dict[str, Any]:
    from . import memory as mem
    from . import torch_backend

    spec = _spec(kw)
    model = torch_backend.instantiate(spec, device=kw["device"], dtype=report.input["dtype"], init=True)
    got = torch_backend.measure_cuda(model, tuple(report.input["shape"]), train=train)
    t = report.totals
    # One forward + backward allocates no optimizer state: the training total without it.
    estimate = t["training_total_bytes"] - t["optimizer_state_bytes"] if train else mem.inference_bytes(t)
    return {"mode": "train forward + backward" if train else "inference forward", **got, "estimate": estimate,
            "gap_percent": 100 * (got["max_memory_allocated"] - estimate) / estimate}


@cli.command("receptive-field")
@model_options(in_channels_help="Image channels with a MODEL (default 3); C_in of the comparison without one.")
@click.option("--model", "compare_model", metavar="MODEL", help="Compare each block of MODEL with one conv.")
@click.option("--channels", type=int, help="C_in = C_out for the comparison table (default 512).")
@click.option("--out-channels", type=int, help="C_out for the comparison table.")
@click.option("--kernel", type=int, help="Compare up to this single kernel size (odd; default 7).")
@click.option("--bias", is_flag=True, help="Count biases in the comparison table.")
@click.option("--effective", is_flag=True, help="Measure the field empirically from input gradients (runs the model).")
@click.option("--layer", help="With --effective: the layer whose centre unit is traced (default: the last conv).")
@click.option("--mode", type=click.Choice(["effective", "support"]), default="effective", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--samples", type=int, default=4, show_default=True, help="Random inputs averaged in effective mode.")
def receptive_field(fmt: str, output: str | None, all_layers: bool, compare_model: str | None,
                    channels: int | None, out_channels: int | None, kernel: int | None, bias: bool,
                    effective: bool, layer: str | None, mode: str, seed: int, samples: int, **kw: Any) -> None:
    """Receptive field per layer (with MODEL), or why VGG stacks 3x3 convs (without one)."""
    has_model = kw["model"] is not None or kw["config"] is not None
    table_opts = {"--channels": channels, "--out-channels": out_channels, "--kernel": kernel,
                  "--bias": bias or None}
    if has_model or compare_model:
        given = [k for k, v in table_opts.items() if v is not None]
        if given:
            raise VggInspectError(f"{', '.join(given)} apply to the comparison table, without a MODEL")
    if effective and not has_model:
        raise VggInspectError("--effective needs a MODEL, e.g. vgg-inspect receptive-field vgg16 --effective")
    if compare_model and has_model:
        raise VggInspectError("give a MODEL (per-layer fields) or --model (block comparison), not both")

    image_channels = 3 if kw["in_channels"] is None else kw["in_channels"]
    if has_model:
        kw["in_channels"] = image_channels
        report = _analyze(kw)
        if effective:
            report.extra["effective_receptive_field"] = _effective(report, kw, layer, mode, seed, samples)
            view_list = [presenters.effective_view(report.extra["effective_receptive_field"], report)]
        else:
            view_list = presenters.receptive_views(report, all_layers)
        emit(fmt, output, report, view_list)
        return

    from . import kernels

    if compare_model:
        kw.update(model=compare_model, in_channels=image_channels)
        report = _analyze(kw)
        blocks = kernels.block_table(report)
        data = {"schema_version": 1, "model": report.model, "input": report.input,
                "blocks": kernels.as_dicts(blocks)}
        emit(fmt, output, data, [presenters.block_view(blocks, report)])
        return
    width = 512 if channels is None else channels
    cin = width if kw["in_channels"] is None else kw["in_channels"]
    cout = width if out_channels is None else out_channels
    kernel = 7 if kernel is None else kernel
    rows = kernels.stack_table(cin, cout, kernel, bias)
    data = {"schema_version": 1, "in_channels": cin, "out_channels": cout, "kernel": kernel, "bias": bias,
            "rows": kernels.as_dicts(rows)}
    emit(fmt, output, data, [presenters.stack_view(rows, cin, cout, bias)])


def _effective(report: Any, kw: dict[str, Any], layer: str | None, mode: str, seed: int,
               samples: int) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from . import effective

    spec = _spec(kw)
    effective.pick_layer(report, layer)  # a bad --layer fails before any work
    steps = 1 + (1 if mode == "support" else samples)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("gradients of the input", total=steps)
        return effective.effective_field(spec, report, layer=layer, mode=mode, seed=seed, samples=samples,
                                         on_step=lambda what: progress.update(task, advance=1, description=what))


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


if __name__ == "__main__":
    main()
