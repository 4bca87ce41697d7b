"""Every command's JSON validates against the JSON Schema kept in the package."""

import json
import pathlib
from importlib import resources

import jsonschema
import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

USER = str(pathlib.Path(__file__).parent / "models" / "functional_vgg.py")
SCHEMA = json.loads(resources.files("vgg_inspect").joinpath("report/schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["params", "vgg16"],
        ["params", "A-LRN", "--batch-norm", "--num-classes", "10"],
        ["summary", "vgg19", "--input", "320x480", "--dtype", "bf16"],
        ["summary", "--config", "64,M,1x1-32,LRN,M"],
        ["flops", "vgg13", "--include", "bias,pool", "--train", "--input", "224,448"],
        ["memory", "vgg16_bn", "--budget", "8GiB", "--optimizer", "adam"],
        ["receptive-field", "vgg16", "--input", "512"],
        ["receptive-field"],
        ["receptive-field", "--model", "C"],
        ["check", "vgg16", "--expect", "params=138357544"],
        ["roofline", "vgg16", "--device-spec", "h100-sxm", "--batch", "1,64", "--dtype", "bf16"],
        ["roofline", "vgg11_bn", "--train", "--peak-tflops", "10", "--bandwidth", "0.5"],
        ["storage", "vgg16_bn"],
        ["summary", "vgg16_bn", "--by", "block"],
        ["summary", "vgg11", "--depth", "2"],
    ],
)
def test_command_json_is_valid(args):
    res = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    VALIDATOR.validate(json.loads(res.output))


@pytest.mark.parametrize(
    "args",
    [
        ["params", "vgg11", "--device", "cpu"],
        ["bench", "--config", "8,M,16,M", "--input", "32", "--batch", "1,2", "--iterations", "2", "--per-layer"],
        ["flops", "vgg11", "--input", "32", "--compare"],
        ["receptive-field", "vgg11", "--input", "64", "--effective", "--samples", "1"],
        # your own model, through every section a report can carry
        ["summary", f"{USER}:LstmHead", "--input", "8", "--device", "cpu"],
        ["flops", f"{USER}:Branches", "--input", "16,32", "--compare"],
        ["memory", f"{USER}:VGGNet", "--budget", "8GiB"],
        ["params", f"{USER}:AvgPooled", "--input", "16", "--weights", "CKPT"],
        ["receptive-field", f"{USER}:AvgPooled", "--input", "16", "--effective", "--samples", "1"],
        ["receptive-field", "--model", f"{USER}:VGGNetAdaptive", "--input", "64"],
        ["diff", f"{USER}:TorchvisionCopy", "vgg16"],
    ],
)
def test_instantiated_json_is_valid(torch, args, tmp_path):
    if "CKPT" in args:  # a checkpoint of another model: every kind of misfit
        torch.save({"conv1.weight": torch.zeros(8, 3, 5, 5), "head.bias": torch.zeros(2)}, tmp_path / "c.pt")
        args = [str(tmp_path / "c.pt") if a == "CKPT" else a for a in args]
    res = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert res.exit_code == 0 or (args[0] == "diff" and res.exit_code == 1), res.output
    VALIDATOR.validate(json.loads(res.output))


def test_module_report_is_valid(torch):
    import vgg_inspect

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.GELU(), torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 2)
    )
    VALIDATOR.validate(vgg_inspect.analyze_module(model, (1, 3, 16, 16)).to_dict())


def test_stray_keys_are_rejected():
    data = json.loads(CliRunner().invoke(cli, ["params", "--format", "json"]).output)
    data["extra"] = 1
    assert not VALIDATOR.is_valid(data)
