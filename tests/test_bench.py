"""`bench`: real CPU timings, the CUDA timing path with torch.cuda mocked, Ctrl-C, bad input."""

import json
import statistics

import pytest
from click.testing import CliRunner

from vgg_inspect.api import Request, analyze, bench
from vgg_inspect.cli import cli

torch = pytest.importorskip("torch")

SMALL = dict(config="8,M,16,M", input_size=32)


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    """This CPU's peaks measured once for the module, in a folder of its own (never the user's cache)."""
    from vgg_inspect.runtime import peaks

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "bench-cache"))
    monkeypatch.setattr(peaks, "SECONDS", 0.05)


def test_cpu_bench_figures_follow_from_its_times():
    report = bench(Request(**SMALL), batches=[1, 3], iterations=4, warmup=1, per_layer=True)
    b = report.bench
    assert b.device == "cpu" and "perf_counter" in b.method and b.peak_flops and "measured here" in b.peak_source
    for run in b.runs:
        totals = analyze(**SMALL, batch=run.batch).totals  # the closed-form report at that batch
        assert run.iterations == 4 and not run.stopped
        assert 0 < run.median_s <= run.p90_s
        assert run.images_per_s == pytest.approx(run.batch / run.median_s)
        assert run.achieved_flops == pytest.approx(totals.flops / run.median_s)
        assert run.peak_percent == pytest.approx(100 * run.achieved_flops / b.peak_flops)
        assert run.estimate_bytes == totals.inference_required_bytes
        # tensors alive at once (profiler events): the weights and the input at least, and within the
        # inference estimate, which the memory tests prove is never below a real CPU forward
        assert totals.weight_bytes + 4 * 3 * 32 * 32 * run.batch <= run.peak_memory_bytes <= run.estimate_bytes
        names = {x.name for x in run.layers}
        assert {"conv1_1", "pool1", "conv2_1", "fc3", "fc5"} <= names
        for x in run.layers:
            assert x.measured_s > 0 and (x.ratio is None or x.ratio == pytest.approx(x.measured_s / x.predicted_s))


def test_train_bench_counts_train_flops():
    report = bench(Request(**SMALL, batch=2), batches=[2], train=True, iterations=2, warmup=1)
    run = report.bench.runs[0]
    assert report.bench.train and run.achieved_flops == pytest.approx(report.totals.train_flops / run.median_s)
    assert run.estimate_bytes == report.totals.training_total_bytes


def test_float32_on_a_gpu_is_measured_against_the_tf32_peak_while_cudnn_runs_tf32(monkeypatch):
    from vgg_inspect.render.presenters import bench_views
    from vgg_inspect.runtime import bench as b

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert torch.backends.cudnn.allow_tf32  # torch's default: cuDNN convolutions at TF32
    assert (b.float32_math(cuda), b.float32_math(cpu)) == ("tf32", "fp32")
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    assert b.float32_math(cuda) == "fp32"
    # the fraction is of the peak the math runs at, and the table says which
    report = bench(Request(**SMALL), batches=[1], iterations=1, warmup=0, device_spec="h100-sxm")
    assert report.bench.peak_math == "fp32" and report.bench.peak_flops == pytest.approx(66.9e12)
    report.bench.runs[0].peak_math, report.bench.runs[0].peak_flops = "tf32", 494.7e12
    text = " ".join(" ".join(bench_views(report)[0].notes).split())
    assert "dense tf32" in text and "float32 convolutions run as TF32" in text


def test_refresh_measures_the_cpu_again(tmp_path, monkeypatch):
    from vgg_inspect.runtime import peaks

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # its own cache: the fake peak stays here
    bench(Request(**SMALL), batches=[1], iterations=1, warmup=0)  # the cache now holds this CPU
    calls = []
    monkeypatch.setattr(peaks, "measure", lambda dtype: calls.append(dtype) or {"flops": 1e9, "bandwidth": 1e9})
    bench(Request(**SMALL), batches=[1], iterations=1, warmup=0)
    assert calls == []
    res = CliRunner().invoke(cli, ["bench", "--config", "8,M", "--input", "16", "--iterations", "1", "--refresh",
                                   "--format", "json"])  # fmt: skip
    assert res.exit_code == 0 and calls == ["float32"], res.output
    assert json.loads(res.output)["bench"]["peak_flops"] == pytest.approx(1e9)


def test_each_dtype_is_timed_against_its_own_peak_and_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    report = bench(Request(**SMALL), batches=[1, 2], dtypes=["float32", "bf16"], iterations=2, warmup=1)
    b = report.bench
    assert [(r.dtype, r.batch) for r in b.runs] == [("float32", 1), ("float32", 2), ("bfloat16", 1), ("bfloat16", 2)]
    assert (b.dtype, report.input.dtype) == ("float32", "float32")  # the report's other sections: the first dtype
    cache = json.loads((tmp_path / "vgg-inspect" / "cpu-peaks.json").read_text())  # what this CPU measured
    measured = {key.rsplit("|", 1)[-1]: v["flops"] for key, v in cache.items()}  # keyed by machine|...|dtype
    assert set(measured) == {"float32", "bfloat16"}
    for run in b.runs:
        totals = analyze(**SMALL, batch=run.batch, dtype=run.dtype).totals
        assert run.estimate_bytes == totals.inference_required_bytes
        assert run.peak_math == {"float32": "fp32", "bfloat16": "bf16"}[run.dtype]
        assert run.peak_flops == pytest.approx(measured[run.dtype], rel=1e-12)
        assert run.peak_percent == pytest.approx(100 * totals.flops / run.median_s / run.peak_flops)
    assert b.runs[0].peak_flops != b.runs[2].peak_flops  # two dtypes, two measured peaks
    # the model was really built at 16 bits: the weights dominate the measured peak, which halves
    fp32, bf16 = b.runs[0].peak_memory_bytes, b.runs[2].peak_memory_bytes
    assert 0.45 < bf16 / fp32 < 0.55


def test_cli_takes_a_dtype_list():
    res = CliRunner().invoke(cli, ["bench", *"--config 8,M --input 16 --iterations 1 --warmup 0 --format json".split(),
                                   "--dtype", "float32,bfloat16"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert [r["dtype"] for r in json.loads(res.output)["bench"]["runs"]] == ["float32", "bfloat16"]
    res = CliRunner().invoke(cli, ["bench", "--config", "8,M", "--input", "16", "--dtype", "float32,fp12"])
    assert res.exit_code == 2 and "unknown dtype 'fp12'" in res.output and "Traceback" not in res.output
    for text in (",", "float32,,bf16", ""):
        res = CliRunner().invoke(cli, ["bench", "--config", "8,M", "--input", "16", "--dtype", text])
        assert res.exit_code == 2 and f"malformed --dtype '{text}'" in res.output, (text, res.output)


@pytest.mark.parametrize("dtypes, message", [(5, "a dtype name or a list"), ([], "at least one dtype"),
                                             (["fp12"], "unknown dtype 'fp12'")])  # fmt: skip
def test_api_dtypes_bad_input(dtypes, message):
    from vgg_inspect.errors import VggInspectError

    with pytest.raises(VggInspectError, match=message):
        bench(Request(**SMALL), dtypes=dtypes, iterations=1, warmup=0)


def test_median_and_p90_nearest_rank():
    from vgg_inspect.runtime.bench import summary

    times = [float(t) for t in range(1, 11)]  # 1..10
    assert summary(times) == (statistics.median(times), 9.0)
    assert summary([3.0]) == (3.0, 3.0)


def test_cuda_clock_reads_events_after_the_end_event(monkeypatch):
    """No GPU here: torch.cuda's events are mocked; the step runs on CPU."""
    from vgg_inspect.runtime import bench as b

    log = []

    class Event:
        def __init__(self, enable_timing=False):
            assert enable_timing
            self.at = None

        def record(self):
            log.append("record")
            self.at = len(log)

        def synchronize(self):
            log.append("synchronize")

        def elapsed_time(self, end):
            assert log[-1] == "synchronize"  # read only once the end event completed
            return 12.5  # milliseconds

    monkeypatch.setattr(torch.cuda, "Event", Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: log.append("sync"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: log.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 123_456)
    clock = b.CudaClock(torch.device("cuda"))
    model = torch.nn.Conv2d(3, 4, 3)
    got = b.run(model, torch.zeros(1, 3, 8, 8), clock, train=False, warmup=2, iterations=3)
    assert got.times == [0.0125] * 3 and got.peak_memory == 123_456
    assert log[0] == "reset" and log.count("record") == 6 and "sync" in log


def test_cuda_device_names_map_to_the_table(monkeypatch):
    from vgg_inspect.runtime import bench as b

    for name, spec in (("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"),
                       ("NVIDIA H200", "h200"), ("NVIDIA A100-SXM4-80GB", "a100-80gb"),
                       ("NVIDIA A100-PCIE-40GB", "a100-40gb"), ("NVIDIA L4", "l4"),
                       ("NVIDIA GeForce RTX 4090", "rtx-4090"), ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
                       # other parts, whose peaks or bandwidths are not the table's: no match
                       ("Tesla T4", None), ("NVIDIA L40S", None), ("NVIDIA L40", None), ("NVIDIA GH200 480GB", None),
                       ("NVIDIA H100 NVL", None), ("NVIDIA H200 NVL", None), ("NVIDIA A100 80GB PCIe", None),
                       ("NVIDIA GeForce RTX 4090 D", None), ("NVIDIA GeForce RTX 4090 Laptop GPU", None)):  # fmt: skip
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None, n=name: n)
        assert b.spec_for_cuda(torch.device("cuda")) == spec


def test_ctrl_c_keeps_the_iterations_done(monkeypatch):
    from vgg_inspect.runtime import bench as b

    calls = []

    class Stops(torch.nn.Module):
        def forward(self, x):
            calls.append(1)
            if len(calls) == 4:  # 1 warm-up, 2 timed, then Ctrl-C
                raise KeyboardInterrupt
            return x

    got = b.run(Stops(), torch.zeros(1, 3, 4, 4), b.CpuClock(), train=False, warmup=1, iterations=10)
    assert got.stopped and len(got.times) == 2


def test_ctrl_c_in_a_later_warm_up_keeps_the_runs_done():
    """Ctrl-C while batch 2 warms up (nothing of it timed): batch 1's run is kept, the table says the
    runs after it were not made; the CLI prints it (exit 0) rather than losing it."""
    steps = []

    def on_step(what):
        steps.append(what)
        if len(steps) == 4:  # batch 1: 1 warm-up + 2 timed; then batch 2's first warm-up step
            raise KeyboardInterrupt

    report = bench(Request(**SMALL), batches=[1, 2], dtypes=["float32", "bfloat16"], iterations=2, warmup=1,
                   on_step=on_step)  # fmt: skip
    runs = report.bench.runs
    assert [(r.batch, r.dtype, r.iterations, r.stopped) for r in runs] == [(1, "float32", 2, True)]
    from vgg_inspect.render.presenters import bench_views

    notes = " ".join(n for v in bench_views(report, False) for n in v.notes)
    assert "Stopped by Ctrl-C" in notes and "were not made" in notes


def test_ctrl_c_before_anything_is_timed_is_an_interruption():
    def on_step(what):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench(Request(**SMALL), batches=[1], iterations=2, warmup=1, on_step=on_step)


def test_bench_bad_input():
    for args, message in (
        (["--device", "cuda"], "is not available"),
        (["--device", "meta"], "--device for bench is cpu or cuda"),
        (["--iterations", "0"], "--iterations must be at least 1"),
        (["--compile", "--per-layer"], "--per-layer times each module"),
        (["--device-spec", "h10"], "unknown device spec 'h10'"),
    ):
        res = CliRunner().invoke(cli, ["bench", "--config", "8,M", "--input", "16", *args])
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, (args, res.output)


def test_a_batch_that_will_not_fit_is_refused_before_it_runs(monkeypatch):
    from vgg_inspect.runtime import bench as b
    from vgg_inspect.runtime import instantiate

    monkeypatch.setattr(instantiate, "available_bytes", lambda device: 200 * 2**20)
    monkeypatch.setattr(b, "run", lambda *a, **k: pytest.fail("ran"))
    res = CliRunner().invoke(cli, ["bench", "vgg11", "--device", "cpu", "--batch", "512"])
    assert res.exit_code == 1 and "needs" in res.output and "GiB" in res.output
    # vgg11's float32 weights alone (531 MB) do not fit 200 MiB, and bf16's (266 MB) neither; at 400 MiB
    # bf16 at batch 1 fits and float32 does not: the whole list is refused before bf16 runs
    monkeypatch.setattr(instantiate, "available_bytes", lambda device: 400 * 2**20)
    res = CliRunner().invoke(cli, ["bench", "vgg11", "--device", "cpu", "--dtype", "bf16,float32"])
    assert res.exit_code == 1 and "a batch of 1 at float32 (estimated) needs" in res.output, res.output


def test_bench_json_and_table():
    res = CliRunner().invoke(cli, ["bench", *"--config 8,M --input 16 --iterations 2 --format json".split()])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["bench"]["runs"][0]["iterations"] == 2
    res = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["bench", *"--config 8,M --input 16 --iterations 2".split()])
    assert res.exit_code == 0 and max(map(len, res.output.splitlines())) <= 80
    assert "Achieved = the report's FLOPs (2 x MACs) / median time" in " ".join(res.output.split())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the CUDA clock is tested mocked above)")
def test_cuda_bench_for_real():
    report = bench(Request("vgg11", input_size=64, device="cuda"), batches=[1, 8], iterations=5, warmup=2,
                   per_layer=True)  # fmt: skip
    b = report.bench
    assert b.device.startswith("cuda") and "CUDA events" in b.method
    for run in b.runs:
        assert run.median_s > 0 and run.peak_memory_bytes is not None
        assert run.peak_memory_bytes >= report.totals.weight_bytes  # max_memory_allocated holds the weights
        assert run.layers and all(x.measured_s > 0 for x in run.layers)
    if b.peak_flops:
        assert 0 < b.runs[-1].peak_percent < 100
    train = bench(Request("vgg11", input_size=64, device="cuda", dtype="bfloat16"), batches=[4], train=True,
                  iterations=3, warmup=1, channels_last=True)  # fmt: skip
    assert train.bench.train and train.bench.runs[0].achieved_flops > 0
