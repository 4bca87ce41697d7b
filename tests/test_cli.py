"""The command line through click's CliRunner: every format, every error, check's exit codes."""

import csv
import io
import json
import pathlib

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

from . import reference as ref
from .conftest import skip_if_missing


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_params_table_shows_formulas_and_both_byte_units(run):
    res = run("params", "vgg16")
    assert res.exit_code == 0
    out = res.output
    assert "3·3·64·128 + 128" in out and "73,856" in out
    assert "(512·7·7)·4096 + 4096" in out and "102,764,544" in out
    assert "138,357,544" in out
    assert "553,430,176 B = 527.8 MiB = 553.4 MB" in out


def test_json_contract(run):
    """The report's JSON: exactly the documented keys (no stray ones), with values from REFERENCE."""
    data = json.loads(run("params", "vgg16_bn", "--format", "json").output)
    assert list(data) == [
        "schema_version",
        "tool",
        "model",
        "input",
        "layers",
        "totals",
        "conventions",
        "options",
        "warnings",
        "coverage",
    ]
    assert data["schema_version"] == 1 and data["tool"]["name"] == "vgg-inspect"
    assert data["model"] == {
        "name": "vgg16_bn",
        "config": "D",
        "batch_norm": True,
        "num_classes": 1000,
        "in_channels": 3,
        "weight_layers": 16,
        "head": "fc",
        "layers": "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M",
        "layout": "NCHW",
    }
    assert data["input"] == {"shape": [1, 3, 224, 224], "dtype": "float32", "device": None, "analysis": "analytical"}
    assert data["options"] == {"include": [], "optimizer": "momentum", "saved_convention": "cpu"}
    assert data["layers"][0]["name"] == "conv1_1" and data["layers"][0]["params"] == 1792
    assert data["totals"]["params"] == ref.PARAMS["vgg16_bn"]
    assert set(data["totals"]) >= {"params", "trainable_params", "buffers", "macs", "flops", "weight_bytes"}
    assert set(data["conventions"]) <= set(data["totals"])  # each convention names a totals key


def test_csv_is_raw_and_all_layers_unfolds(run):
    rows = list(csv.DictReader(io.StringIO(run("params", "vgg16", "--format", "csv").output)))
    assert rows[0]["Layer"] == "conv1_1" and rows[0]["Params"] == "1792" and rows[0]["Output shape"] == "1x64x224x224"
    assert not any(r["Type"] == "ReLU" for r in rows)
    full = list(csv.DictReader(io.StringIO(run("params", "vgg16", "--format", "csv", "--all-layers").output)))
    assert sum(r["Type"] == "ReLU" for r in full) == 15 and sum(r["Type"] == "Dropout" for r in full) == 2
    assert sum(int(r["Params"]) for r in full) == ref.PARAMS["vgg16"]


def test_markdown(run):
    out = run("summary", "vgg19", "--format", "markdown").output
    assert out.startswith("### Summary: vgg19")
    assert "| conv5_4 |" in out


def test_output_file(run, tmp_path):
    target = tmp_path / "r.json"
    res = run("summary", "E", "--format", "json", "--output", str(target))
    assert res.output == ""
    assert json.loads(target.read_text())["totals"]["params"] == ref.PARAMS["vgg19"]
    table = tmp_path / "t.txt"
    run("params", "vgg13", "--output", str(table))
    assert "133,047,848" in table.read_text()


def test_list(run):
    data = json.loads(run("list", "--format", "json").output)
    by_name = {v["name"]: v for v in data["variants"]}
    assert set(by_name) == set(ref.PARAMS)
    assert all(by_name[n]["params"] == p for n, p in ref.PARAMS.items())
    assert by_name["vgg16_c"]["aliases"] == ["C"]


@pytest.mark.parametrize(
    "alias,name",
    [("d", "vgg16"), ("A-LRN", "vgg11_lrn"), ("a-lrn", "vgg11_lrn"), ("VGG16-BN", "vgg16_bn"), ("E", "vgg19")],
)
def test_aliases(run, alias, name):
    assert json.loads(run("params", alias, "--format", "json").output)["model"]["name"] == name


def test_batch_norm_flag_and_options(run):
    data = json.loads(
        run(
            "params",
            "C",
            "--batch-norm",
            "--num-classes",
            "10",
            "--in-channels",
            "1",
            "--input",
            "64x96",
            "--batch",
            "4",
            "--format",
            "json",
        ).output
    )
    assert data["model"]["name"] == "vgg16_c_bn" and data["input"]["shape"] == [4, 1, 64, 96]
    assert data["layers"][-1]["output_shape"] == [4, 10]


def test_device_path(run):
    data = json.loads(skip_if_missing(run("params", "vgg11", "--device", "cpu", "--format", "json")).output)
    assert data["input"]["device"] == "cpu" and data["input"]["analysis"] == "instantiated"
    assert data["totals"]["params"] == ref.PARAMS["vgg11"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["params", "vgg61"], "unknown model 'vgg61'; did you mean vgg16"),
        (
            ["params", "vgg16", "--input", "16"],
            "input 16x16 is too small for vgg16: pool5 would output 0x0; it needs at least 32x32",
        ),
        (["params", "vgg16", "--input", "0"], "--input must be positive"),
        (["params", "vgg16", "--input", "22a"], "malformed --input '22a'"),
        (["params", "vgg16", "--num-classes", "0"], "--num-classes must be at least 1"),
        (["params", "vgg16", "--batch", "0"], "--batch must be at least 1"),
        (["params", "vgg16", "--in-channels", "0"], "--in-channels must be at least 1"),
        (["params", "--config", "64,X,M"], "malformed --config token 'X' at position 2"),
        (["params", "--config", ""], "empty --config"),
        (["params", "--config", "5x5-64"], "malformed --config token '5x5-64'"),
        (["params", "vgg16", "--config", "64,M"], "give either a model"),
        (["params", "vgg16", "--device", "gpu"], "unknown device 'gpu'; expected cpu, cuda, cuda:N, mps or meta"),
        (["params", "vgg16", "--dtype", "fp8"], "unknown dtype 'fp8'"),
        (["check", "vgg16", "--expect", "parms=1"], "unknown --expect key 'parms'; did you mean params"),
        (["check", "vgg16", "--expect", "params"], "malformed --expect 'params'"),
        (["check", "vgg16", "--expect", "params=lots"], "unparsable value 'lots'"),
        (
            ["check", "vgg16", "--expect", "conv5_3.parms=1"],
            "unknown field 'parms' for layer conv5_3; did you mean params",
        ),
        (["check", "vgg16"], "nothing to check"),
        (["params", ""], "MODEL must be a variant name such as 'vgg16', got ''"),
        (["params", "--init"], "--init applies to an instantiated model: give a device too"),
        (["params", "--output", ""], "--output needs a file name, or - for standard output"),
        (["receptive-field", "--kernel", "200001"], "--kernel must be odd, between 3 and 1001"),
        (["receptive-field", "vgg16", "--layer", "conv5_3"], "--layer applies to MODEL --effective"),
        (["params", "--input", "\r"], "malformed --input '\\r'"),
        (["params", "--format", "xml"], "Invalid value for '--format'"),
        (
            ["params", "--device", "meta", "--config", "506164740", "--in-channels", "506168760"],
            "more than torch can allocate in one tensor",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(run, args, message):
    res = run(*args)
    if "not installed" not in message:
        skip_if_missing(res)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_unavailable_cuda_is_a_clear_error(run, torch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    res = run("params", "vgg16", "--device", "cuda")
    assert res.exit_code == 2 and "device 'cuda' is not available" in res.output


def test_click_usage_errors_exit_2(run):
    assert run("params", "vgg16", "--format", "xml").exit_code == 2
    assert run("params", "vgg16", "--batch", "two").exit_code == 2


@pytest.mark.parametrize(
    "expect,code",
    [
        ("params=138357544", 0),
        ("params=138,357,544", 0),
        ("params=138_357_544", 0),
        ("params=138.36M", 0),
        ("params=138.4M", 0),
        ("params=138M", 0),
        ("params=0.14G", 0),
        ("params=138.35M", 1),
        ("params=139357544", 1),
        ("conv5_3.params=2359808", 0),
        ("features.28.params=2359808", 0),
        ("fc6.params=102764544", 0),
        ("fc7.params=16781321", 1),
        ("conv5_3.output_shape=1x512x14x14", 0),
        ("params_by_kind.conv=14714688", 0),
    ],
)
def test_check_exit_codes(run, expect, code):
    res = run("check", "vgg16", "--expect", expect)
    assert res.exit_code == code, res.output
    assert ("FAIL" in res.output) == (code == 1)


def test_check_several_and_json(run):
    res = run("check", "D", "--expect", "params=138357544", "--expect", "weight_bytes=553430176", "--format", "json")
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["ok"] and data["checked"] == 2


def test_golden_round_trip_and_drift(run, tmp_path):
    golden = tmp_path / "golden.json"
    assert run("check", "vgg16", "--write-golden", str(golden)).exit_code == 0
    assert run("check", "vgg16", "--expect-file", str(golden)).exit_code == 0
    drift = run("check", "vgg16", "--num-classes", "10", "--expect-file", str(golden))
    assert drift.exit_code == 1
    assert "fc8.params" in drift.output and "totals.params" in drift.output
    assert run("check", "vgg16_bn", "--expect-file", str(golden)).exit_code == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run("check", "vgg16", "--expect-file", str(bad)).exit_code == 2


def test_help_and_version(run):
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"

    listing = run("--help").output
    for command in (
        "list",
        "params",
        "summary",
        "check",
        "flops",
        "memory",
        "receptive-field",
        "variants",
        "explain",
        "diagram",
        "report",
        "identify",
        "diff",
    ):
        assert f"  {command} " in listing, command
    import platform

    out = run("--version")
    assert out.exit_code == 0
    assert out.output.splitlines() == [
        f"vgg-inspect {version('vgg-inspect')}",
        f"torch {torch}",
        f"Python {platform.python_version()}",
    ]


@pytest.mark.parametrize(
    "command",
    ["list", "params", "summary", "check", "flops", "memory", "receptive-field", "variants", "explain", "diagram",
     "report", "identify", "diff", "roofline", "storage", "bench"],
)  # fmt: skip
def test_every_command_help_teaches(run, command, tmp_path, monkeypatch):
    """Two or three real examples at the end, and help text on every option; the examples run."""
    from vgg_inspect.cli import cli as group

    text = run(command, "--help").output
    assert text.rstrip().splitlines()[-1].strip().startswith("vgg-inspect ")  # the help ends with them
    examples = text.split("Examples:")[1].split("\n\n")[0].strip().splitlines()
    assert 2 <= len(examples) <= 4 and all(e.strip().startswith("vgg-inspect ") for e in examples)
    cmd = group.get_command(None, command)
    assert all(p.help for p in cmd.params if isinstance(p, __import__("click").Option)), command
    monkeypatch.chdir(tmp_path)  # examples may write files
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # and measure this CPU's peaks
    models = pathlib.Path(__file__).parent / "models" / "functional_vgg.py"
    (tmp_path / "my_vgg.py").write_text(models.read_text() + "\nVGG16 = TorchvisionCopy\nCifarVGG = make_small\n")
    for example in examples:
        args = example.split()[1:]
        if ("--device" in args and "cuda" in args) or "--compare" in args or "--effective" in args:
            continue  # needs a GPU, or is run by its own tests
        if command == "identify":
            continue  # needs a checkpoint file: tests/test_checkpoints.py runs identify
        res = skip_if_missing(run(*args))
        assert res.exit_code in ((0, 1) if command == "diff" else (0,)), (example, res.output)


def test_output_dash_is_stdout_and_files_are_atomic(run, tmp_path):
    assert (
        json.loads(run("params", "--format", "json", "--output", "-").output)["totals"]["params"] == ref.PARAMS["vgg16"]
    )
    target = tmp_path / "r.json"
    run("params", "--format", "json", "-o", str(target))
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind
    res = CliRunner().invoke(cli, ["params", "-o", "/proc/version"])
    assert res.exit_code == 1 and "/proc/version" in res.output and "Traceback" not in res.output


def test_ctrl_c_exits_130(monkeypatch):
    from vgg_inspect import api

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "analyze_request", interrupted)
    res = CliRunner().invoke(cli, ["params", "vgg16"])
    assert res.exit_code == 130 and res.output == "Error: interrupted\n"
