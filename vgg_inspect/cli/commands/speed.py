"""`roofline`, `storage` and `bench`: time, throughput and size, for sizing a backbone."""

from __future__ import annotations

import click

from ... import api
from ...metrics.devices import DEVICES
from ...request import Request
from .. import completion
from ..options import Command, Output, emit, examples, model_options
from ..progress import progress_bar


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect roofline vgg16 --device-spec h100-sxm --dtype bfloat16 --batch 1,8,64,256",
        "vgg-inspect roofline vgg16 --device-spec cpu --batch 8",
        "vgg-inspect roofline vgg19 --peak-tflops 100 --bandwidth 1.5 --train --batch 32",
        "vgg-inspect roofline vgg16 --device-spec l4 --dtype float16 --plot vgg16-l4.png",
    ),
)
@model_options(multi_batch=True)
@click.option(
    "--device-spec",
    shell_complete=completion.device_specs,
    metavar="NAME",
    help=f"The device (required: a roofline is a device's): one from the data sheets ({', '.join(DEVICES)}), or "
    "cpu: this machine's peaks, measured once and cached; or --peak-tflops and --bandwidth for any other.",
)
@click.option(
    "--peak-tflops", type=float, help="Any other device: its dense peak TFLOP/s at the dtype (with --bandwidth)."
)
@click.option("--bandwidth", type=float, metavar="TB/S", help="Any other device: its memory bandwidth in TB/s.")
@click.option("--tf32", is_flag=True, help="float32 at the TF32 tensor-core peak (cuDNN's default for convs).")
@click.option("--train", is_flag=True, help="A training step: forward + backward FLOPs and bytes.")
@click.option("--refresh", is_flag=True, help="With --device-spec cpu: measure this CPU's peaks again.")
@click.option("--plot", metavar="FILE", help="Also draw the roofline (.png, .svg or .pdf): the layers on the roofs.")
def roofline(
    out: Output,
    all_layers: bool,
    device_spec: str | None,
    peak_tflops: float | None,
    bandwidth: float | None,
    tf32: bool,
    train: bool,
    refresh: bool,
    plot: str | None,
    batches: list[int],
    req: Request,
) -> None:
    """Bytes moved, FLOPs per byte and the bound of every layer on a device, the latency bound and the
    images/s ceiling per batch, and the batch at which each memory-bound layer turns compute-bound."""
    from ...render.writes import check_destination
    from ..options import presenters

    if device_spec is None and peak_tflops is None and bandwidth is None:
        from ...errors import VggInspectError

        raise VggInspectError(f"a roofline is a device's: give --device-spec NAME ({', '.join(DEVICES)}, or cpu for "
                              "this machine's measured peaks), or --peak-tflops and --bandwidth")  # fmt: skip
    if plot:
        check_destination(plot)
    report = api.roofline(req, device_spec=device_spec, peak_tflops=peak_tflops, bandwidth_tbs=bandwidth,
                          batches=batches, train=train, tf32=tf32, refresh=refresh)  # fmt: skip
    if plot:
        from ...render.output import write_bytes
        from ...render.roofline_plot import draw_roofline

        write_bytes(draw_roofline(report, plot.rsplit(".", 1)[-1].lower()), plot)
        click.echo(f"wrote {plot}", err=True)
    emit(out, report, lambda: presenters.roofline_views(report, all_layers))


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect storage vgg16",
        "vgg-inspect storage vgg16_bn --num-classes 10 --format json",
        "vgg-inspect storage my_vgg.py:VGG16",
    ),
)
@model_options(tables=False)
def storage(out: Output, req: Request) -> None:
    """The weights at fp32, fp16, bf16, fp8, int8 and int4 (per-channel scales), in bytes, MB and
    MiB, and the size of the checkpoint torch.save writes."""
    from ..options import presenters

    report = api.storage(req)
    emit(out, report, lambda: presenters.storage_views(report))


@click.command(
    cls=Command,
    epilog=examples(
        "vgg-inspect bench vgg11 --device cpu --input 64 --batch 1,8 --dtype float32,bfloat16",
        "vgg-inspect bench --config 64,M,128,M --device cpu --input 32 --per-layer",
        "vgg-inspect bench vgg16 --device cuda --dtype bfloat16 --batch 256 --compile --channels-last",
        "vgg-inspect bench vgg19 --device cuda --train --batch 64",
    ),
)
@model_options(multi_batch=True, multi_dtype=True)
@click.option("--train", is_flag=True, help="Time training steps: forward, backward and an SGD-momentum step.")
@click.option("--warmup", type=int, default=3, show_default=True, help="Untimed iterations first.")
@click.option("--iterations", type=int, default=10, show_default=True, help="Timed iterations per batch.")
@click.option("--channels-last", is_flag=True, help="Weights and input in channels-last memory format.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model first (its compile time untimed).")
@click.option("--per-layer", is_flag=True, help="Also time each module (hooks) beside the roofline's prediction.")
@click.option(
    "--device-spec",
    metavar="NAME",
    help="Whose peak the fraction is of (default: cpu measures this CPU; a CUDA GPU is looked up by its name).",
)
@click.option("--refresh", is_flag=True, help="Measure this CPU's peaks again instead of reading the cache.")
def bench(
    out: Output,
    all_layers: bool,
    train: bool,
    warmup: int,
    iterations: int,
    channels_last: bool,
    compile_: bool,
    per_layer: bool,
    device_spec: str | None,
    refresh: bool,
    batches: list[int],
    dtypes: list[str],
    req: Request,
) -> None:
    """Time forward passes (or training steps) for real, for each --dtype and --batch: median and p90
    latency, images/s, achieved FLOP/s and the fraction of the device's dense peak at that dtype, and
    the measured peak memory beside the estimate. Ctrl-C stops with the iterations done so far."""
    from ..options import presenters

    with progress_bar("timing", len(dtypes) * len(batches) * (warmup + iterations)) as on_step:
        report = api.bench(req, batches=batches, dtypes=dtypes, train=train, warmup=warmup, iterations=iterations,
                           channels_last=channels_last, compile=compile_, per_layer=per_layer,
                           device_spec=device_spec, refresh=refresh, on_step=on_step)  # fmt: skip
    emit(out, report, lambda: presenters.bench_views(report, all_layers))
