"""Issue 31: the CPU peak's cache and its bounds, storage of every tensor, the roofline without a
ceiling, bench failures and measurements, bad values, the API's types and threads."""

import json
import os
import re
import sys
import threading

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.api import Request, analyze, bench, by_group, roofline, storage
from vgg_inspect.cli import cli

torch = pytest.importorskip("torch")

SMALL = dict(config="8,M,16,M", input_size=32)
CASES = "tests/models/state_cases.py"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(res, code, *words):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.output
    for w in words:
        assert w in lines[0], res.output
    return lines[0]


# --- the measured CPU peak ---------------------------------------------------------------------------


@pytest.fixture
def peaks(tmp_path, monkeypatch):
    from vgg_inspect.runtime import peaks

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(peaks, "SECONDS", 0.01)
    return peaks


def test_measurement_is_sized_by_a_probe_so_a_slow_dtype_takes_seconds_not_minutes(peaks, monkeypatch, capsys):
    """A CPU at 0.2 GFLOP/s (float16 without fast units): the problems shrink to about TARGET_SECONDS
    a run, instead of a 2048^3 product (86 s at that rate)."""
    rate = 0.2e9
    n, side = peaks.sizes_for(rate)
    assert 2 * n**3 / rate <= 2 * peaks.TARGET_SECONDS
    assert 2 * 256 * 256 * 9 * 4 * side * side / rate <= 4 * peaks.TARGET_SECONDS or side == 8
    assert peaks.sizes_for(1e13) == (peaks.MATMUL_N, peaks.CONV_SIDE)  # a fast CPU: the full sizes
    monkeypatch.setattr(peaks, "_probe", lambda kind: 1e9 if kind == torch.float32 else 1e7)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # progress is shown on a terminal
    got = peaks.measure("bfloat16")
    assert got["matmul_n"] < peaks.MATMUL_N and got["conv_side"] == 8
    assert "no fast bfloat16 path on this CPU" in got["note"] and "0.01x" in got["note"]
    assert "measuring this CPU's bfloat16 peak" in capsys.readouterr().err  # says what it measures


@pytest.mark.parametrize(
    "entry",
    ['{"flops": "fast", "bandwidth": 1e9}', '{"flops": 0, "bandwidth": 1e9}', '{"flops": 1e400, "bandwidth": 1e9}',
     '{"flops": NaN, "bandwidth": 1e9}', '{"flops": null, "bandwidth": 1e9}', '{"flops": 1e9}',
     '{"flops": -5e10, "bandwidth": 1e9}', '{"flops": true, "bandwidth": 1e9}', '[1, 2]', '"peak"'],
)  # fmt: skip
def test_a_bad_cache_entry_is_measured_again_and_said(peaks, monkeypatch, capsys, entry):
    path = peaks.cache_path()
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as fh:
        fh.write(f'{{"{peaks._machine_key("float32")}": {entry}}}')
    monkeypatch.setattr(peaks, "measure", lambda dtype: {"flops": 2e11, "bandwidth": 3e10, "measured_at": "x"})
    spec = peaks.cpu_spec("float32")
    assert spec.peak("fp32") == 2e11 and spec.bandwidth == 3e10
    assert "unusable" in capsys.readouterr().err
    assert json.load(open(path))[peaks._machine_key("float32")]["flops"] == 2e11  # repaired


def test_a_cache_path_that_is_a_folder_leaves_no_temporary_file(peaks, monkeypatch, capsys):
    path = peaks.cache_path()
    os.makedirs(path)  # cpu-peaks.json is a folder
    monkeypatch.setattr(peaks, "measure", lambda dtype: {"flops": 2e11, "bandwidth": 3e10})
    for _ in range(2):
        assert peaks.cpu_spec("float32").peak("fp32") == 2e11
    assert os.listdir(os.path.dirname(path)) == ["cpu-peaks.json"] and os.listdir(path) == []
    assert "not a regular file" in capsys.readouterr().err


def test_the_peak_says_when_and_under_what_load_it_was_measured_and_how_to_refresh(peaks, monkeypatch):
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    when = (now - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(peaks, "measure", lambda d: {"flops": 2e11, "bandwidth": 3e10, "measured_at": when,
                                                     "load_per_core": 1.7})  # fmt: skip
    source = peaks.cpu_spec("float32").source
    assert "3 days ago" in source and "under load (1.70 per core" in source and "--refresh" in source


def test_a_real_measurement_records_its_time_and_load(peaks):
    got = peaks.cpu_peaks("float32")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["measured_at"])
    assert got["load_per_core"] is None or got["load_per_core"] >= 0
    assert got["flops"] > 1e8 and got["bandwidth"] > 1e8


def test_a_bench_faster_than_the_cached_peak_measures_it_again(peaks, monkeypatch):
    key = peaks._machine_key("float32")
    os.makedirs(os.path.dirname(peaks.cache_path()))
    with open(peaks.cache_path(), "w") as fh:
        json.dump({key: {"flops": 1e3, "bandwidth": 1e9}}, fh)  # measured while something else ran
    calls = []
    monkeypatch.setattr(peaks, "measure", lambda d: calls.append(d) or {"flops": 1e15, "bandwidth": 1e12})
    report = bench(Request(**SMALL), batches=[1], iterations=1, warmup=0)
    run = report.bench.runs[0]
    assert calls == ["float32"]
    assert run.peak_flops == 1e15 and run.peak_percent == pytest.approx(100 * run.achieved_flops / 1e15)
    assert any("measured again" in w for w in report.warnings)


# --- storage: every tensor of the state dict, once ----------------------------------------------------


def _module(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location("state_cases", CASES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)()


@pytest.mark.parametrize("name", ["LstmHead", "NoParameters", "Holder"])
def test_storage_and_checkpoint_of_any_state_dict_against_torch_save(tmp_path, name):
    model = _module(name)
    state = model.state_dict()
    torch.save(state, tmp_path / "model.pt")
    found = storage(Request(f"{CASES}:{name}", input_size=8)).storage
    assert found.checkpoint_bytes == (tmp_path / "model.pt").stat().st_size
    storages = {t.untyped_storage()._cdata: t.untyped_storage().nbytes() for t in state.values()}
    fp32 = next(r for r in found.rows if r.format == "fp32")
    assert fp32.total_bytes == sum(storages.values())  # each storage once (Holder ties two weights)
    fp16 = next(r for r in found.rows if r.format == "fp16")
    ints = sum(t.untyped_storage().nbytes() for t in state.values() if not t.is_floating_point())
    assert fp16.total_bytes == (fp32.total_bytes - ints) // 2 + ints  # num_batches_tracked stays int64


def test_groups_by_module_add_up_to_every_parameter():
    model = _module("Holder")
    report = by_group(Request(f"{CASES}:Holder", input_size=8), by="module")
    assert sum(g.params for g in report.groups) == report.totals.params == sum(p.numel() for p in model.parameters())
    assert {"aux", "(model)"} <= {g.name for g in report.groups}
    blocks = by_group(Request("vgg11_bn"), by="block")  # nothing held: unchanged
    assert sum(g.params for g in blocks.groups) == blocks.totals.params


# --- the roofline of nothing ---------------------------------------------------------------------------


def test_a_model_with_nothing_to_compute_has_no_finite_ceiling(tmp_path):
    res = run("roofline", f"{CASES}:NoParameters", "--input", "8", "--device-spec", "l4", "--format", "json")
    assert res.exit_code == 0, res.output
    point = json.loads(res.output)["roofline"]["points"][0]
    assert point["flops"] == 0  # a max-pool and a ReLU: no MACs
    text = run("roofline", "--config", "M", "--input", "8", "--device-spec", "l4").output
    assert "at most 0.0" not in text


def test_images_per_s_is_none_only_without_time():
    from vgg_inspect.metrics.devices import DEVICES
    from vgg_inspect.report import speed
    from vgg_inspect.report.sizing import Traffic

    info = speed.device_info(DEVICES["l4"], "fp32")
    empty = Traffic("float32", "", [], 0, 0, None, 0, 0, None)
    assert speed.point(empty, 1, info, False).images_per_s is None
    assert roofline(Request("vgg11", input_size=32), device_spec="l4").roofline.points[0].images_per_s > 0


# --- bench: failures named, memory measured as plain torch sees it -----------------------------------------


FAILING = """
import torch
from torch import nn


class Fails(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        if y.device.type != "meta":
            raise {exc}("the model refuses")
        return y
"""


@pytest.mark.parametrize("exc", ["ValueError", "KeyError", "AssertionError", "RuntimeError"])
def test_bench_names_the_line_of_a_forward_that_raises(tmp_path, exc):
    (tmp_path / "net.py").write_text(FAILING.format(exc=exc))
    res = run("bench", f"{tmp_path / 'net.py'}:Fails", "--device", "cpu", "--input", "8", "--iterations", "1",
              "--warmup", "0")  # fmt: skip
    one_line_error(res, 1, "the run failed (net.py:14)", exc, "refuses")


def test_bench_says_why_batchnorm_cannot_train_on_one_value(tmp_path):
    (tmp_path / "bn.py").write_text(
        "from torch import nn\n\ndef Net():\n    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), "
        "nn.BatchNorm2d(4))\n"
    )
    res = run("bench", f"{tmp_path / 'bn.py'}:Net", "--device", "cpu", "--input", "8", "--train", "--iterations", "1")
    one_line_error(res, 1, "ValueError", "BatchNorm cannot train on one value per channel", "--batch")


def test_train_bench_peak_counts_the_gradients_once():
    """An FC-heavy model: weights W, then gradients W and momentum W are alive at the step's peak, and
    no more copies; plain torch's allocations (profiler events, summed here) say the same."""
    report = bench(Request(config="8,M", input_size=16, num_classes=10), batches=[2], train=True, iterations=1,
                   warmup=1)  # fmt: skip
    run_ = report.bench.runs[0]
    weights = report.totals.weight_bytes
    assert 3 * weights <= run_.peak_memory_bytes < 3.3 * weights  # twice the gradients would be 4x
    assert run_.peak_memory_bytes <= run_.estimate_bytes


def test_bench_output_into_a_missing_folder_fails_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(vgg_inspect.api, "bench", lambda *a, **k: pytest.fail("the benchmark ran"))
    res = run("bench", "vgg11", "--device", "cpu", "-o", tmp_path / "missing" / "b.json")
    one_line_error(res, 1, "no folder", "missing")
    res = run("roofline", "vgg11", "--device-spec", "h100-sxm", "--plot", tmp_path / "missing" / "r.png")
    one_line_error(res, 1, "no folder")


# --- values: overflow, digits, empty ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [(["roofline", "--peak-tflops", "1e300", "--bandwidth", "1"], ["--peak-tflops", "finite"]),
     (["roofline", "--peak-tflops", "1", "--bandwidth", "1e300"], ["--bandwidth", "finite"]),
     (["roofline", "--device-spec", "h100-sxm", "--batch", "²"], ["--batch", "malformed"]),
     (["bench", "--batch", "1,²"], ["--batch", "malformed"]),
     (["roofline", "--device-spec", "h100-sxm", "--plot", ""], ["--plot needs a file name"]),
     (["report", "-o", "x.html", "--device-spec", ""], ["--device-spec needs a name"]),
     (["memory", "--budget", ""], ["--budget needs a size"]),
     (["memory", "--budget", "  "], ["malformed size '  '"]),
     (["params", "--output", ""], ["--output needs a file name, or - for standard output"])],
)  # fmt: skip
def test_bad_values_are_one_line_errors(args, words):
    one_line_error(run(*args), 2, *words)


def test_every_command_refuses_empty_values():
    from vgg_inspect.cli import COMMANDS
    from vgg_inspect.cli.options import Command

    for name in COMMANDS:
        assert isinstance(cli.get_command(None, name), Command), name


# --- the Python API's types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, param",
    [(lambda: roofline(Request("vgg11"), peak_tflops=True, bandwidth_tbs=1), "peak_tflops"),
     (lambda: roofline(Request("vgg11"), tf32="no"), "tf32"),
     (lambda: roofline(Request("vgg11"), train="no"), "train"),
     (lambda: bench(Request("vgg11"), channels_last="no"), "channels_last"),
     (lambda: bench(Request("vgg11"), iterations="10"), "iterations"),
     (lambda: bench(Request("vgg11"), warmup=1.5), "warmup"),
     (lambda: bench(Request("vgg11"), iterations=True), "iterations"),
     (lambda: storage("vgg16"), "req"),
     (lambda: storage(None), "req"),
     (lambda: vgg_inspect.api.memory(Request("vgg11"), train="yes"), "train")],
)  # fmt: skip
def test_api_refuses_wrong_types_naming_the_parameter(call, param, monkeypatch):
    from vgg_inspect.runtime import model_sources

    monkeypatch.setattr(model_sources, "place", lambda *a: pytest.fail("work started"), raising=False)
    with pytest.raises(vgg_inspect.VggInspectError) as info:
        call()
    assert info.value.param == param or param in str(info.value)


def test_contained_calls_in_threads_leave_stdout_alone(tmp_path, capsys):
    (tmp_path / "loud.py").write_text(
        "from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.c = nn.Conv2d(3, 4, 3)\n\n    def forward(self, x):\n        print('MODEL SPEAKS')\n"
        "        return self.c(x)\n"
    )
    stdout = sys.stdout
    errors = []

    def work():
        try:
            for _ in range(3):
                analyze(f"{tmp_path / 'loud.py'}:Net", input_size=8)
                print("THREAD OUTPUT")  # the caller's own print, between calls, goes to stdout
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sys.stdout is stdout
    out, err = capsys.readouterr()
    assert "MODEL SPEAKS" not in out and "MODEL SPEAKS" in err
    assert out.count("THREAD OUTPUT") == 18


def test_a_roofline_from_the_api_prints_its_roofline():
    report = roofline(Request("vgg11", input_size=32), device_spec="l4")
    text = str(report)
    assert "Roofline" in text and "By batch" in text and "NVIDIA L4" in text
    assert "Roofline" in report._repr_html_()
    assert "Storage of the weights" in str(storage(Request("vgg11")))
    assert "Roofline" not in str(analyze("vgg11"))
