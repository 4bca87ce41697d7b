"""The Python API as a user's own pytest meets it: one documented ValueError subclass with
neutral wording, wrong types refused, and operators that behave as torch's do."""

import pytest

import vgg_inspect
from vgg_inspect import VggInspectError

from . import reference as ref


def test_error_type_is_a_value_error():
    assert issubclass(VggInspectError, ValueError)
    with pytest.raises(ValueError):
        vgg_inspect.analyze("vgg61")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"batch": 0}, "batch must be at least 1, got 0"),
        ({"batch": "2"}, "batch must be an integer, got str '2'"),
        ({"batch": 2.5}, "batch must be an integer, got 2.5"),
        ({"batch": True}, "batch must be an integer, got True"),
        ({"num_classes": 10.5}, "num_classes must be an integer, got 10.5"),
        ({"num_classes": 0}, "num_classes must be at least 1, got 0"),
        ({"in_channels": None}, "in_channels must be an integer, got NoneType None"),
        ({"input_size": (224.0, 224)}, "input_size must be an integer, got 224.0"),
        ({"input_size": (224, 224, 3)}, "input_size must be S or (H, W)"),
        ({"input_size": "22a"}, "malformed input_size '22a'"),
        ({"input_size": 0}, "input_size must be at least 1, got 0"),
        ({"input_size": 16}, "input 16x16 is too small for vgg16: pool5 would output 0x0; it needs at least 32x32"),
        ({"dtype": "fp8"}, "unknown dtype 'fp8'"),
        ({"config": "64,X"}, "malformed config token 'X' at position 2"),
        ({"batch_norm": "yes"}, "batch_norm must be True or False"),
        ({"include": ["softmax"]}, "unknown include item 'softmax'"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'; expected one of sgd, momentum, adam"),
        ({"init": True}, "init applies to an instantiated model: give a device too"),
    ],
)
def test_bad_arguments_raise_with_neutral_wording(kwargs, message):
    model = None if "config" in kwargs else "vgg16"
    with pytest.raises(VggInspectError) as info:
        vgg_inspect.analyze(model, **kwargs)
    text = str(info.value)
    assert message in text
    assert "--" not in text  # option names are the CLI's to add


def test_cli_names_the_option_for_the_same_error():
    from click.testing import CliRunner

    from vgg_inspect.cli import cli

    res = CliRunner().invoke(cli, ["params", "--batch", "0"])
    assert res.exit_code == 2 and res.output == "Error: --batch must be at least 1, got 0\n"


def test_model_name_must_be_a_string():
    with pytest.raises(VggInspectError, match="model must be a variant name"):
        vgg_inspect.analyze(16)


def test_minimum_input_is_computed_not_searched():
    with pytest.raises(VggInspectError, match="it needs at least 131072x131072"):
        vgg_inspect.analyze(config=",".join(["M"] * 17), input_size=100)
    r = vgg_inspect.analyze(config=",".join(["M"] * 17), input_size=131072)
    assert r.layer("pool17").output_shape[2:] == [1, 1]


def test_analyze_module_rejects_wrong_arguments(torch):
    conv = torch.nn.Conv2d(3, 8, 3)
    for module, shape, message in (
        (torch.nn.Conv2d, (1, 3, 16, 16), "module must be an nn.Module instance, got the class Conv2d"),
        ("vgg16", (1, 3, 16, 16), "module must be an nn.Module instance, got str"),
        (conv, (1, 3, -16, 16), "input_shape must be at least 1, got -16"),
        (conv, (1, 3, 16.0, 16), "input_shape must be an integer, got 16.0"),
        (conv, (1, 3, 16), "input_shape must be (N, C, H, W)"),
        (conv, "1x3x16x16", "input_shape must be a tuple of integers"),
    ):
        with pytest.raises(VggInspectError, match=message.replace("(", r"\(").replace(")", r"\)")):
            vgg_inspect.analyze_module(module, shape)


def test_linear_acts_on_the_last_dimension(torch):
    """nn.Linear on a 4-D tensor: torch applies it to the last axis (7,840 MACs here)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(14, 5))
    report = vgg_inspect.analyze_module(model, (1, 3, 16, 16))
    fc = report.layers[1]
    assert fc.output_shape == list(model(torch.rand(1, 3, 16, 16)).shape) == [1, 8, 14, 5]
    with FlopCounterMode(display=False) as counter:
        model[1](torch.rand(1, 8, 14, 14))
    assert fc.macs == counter.get_total_flops() // 2 == 7840
    assert fc.field_status == ["local", "global"]  # it mixes along W only


@pytest.mark.parametrize("start", [1, 2, -2])
def test_flatten_start_dim_is_honoured(torch, start):
    model = (
        torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(start), torch.nn.Linear(14 * 14, 3))
        if start != 1
        else torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(1), torch.nn.Linear(4 * 14 * 14, 3))
    )
    report = vgg_inspect.analyze_module(model, (2, 3, 16, 16))
    real = model(torch.rand(2, 3, 16, 16))
    assert report.layers[1].output_shape == list(model[:2](torch.rand(2, 3, 16, 16)).shape)
    assert report.layers[2].output_shape == list(real.shape)


def test_report_is_typed_and_serialises():
    r = vgg_inspect.analyze("vgg16")
    assert r.totals.params == 138_357_544 and r.totals.params_by_kind.fc == 123_642_856
    assert r.layer("conv5_3").params == 2_359_808 and r.layer("features.28").name == "conv5_3"
    assert r.model.config == "D" and r.input.shape == [1, 3, 224, 224]
    assert r.to_dict()["totals"]["params_by_kind"]["conv"] == 14_714_688


def test_a_report_shows_itself_as_its_table():
    import subprocess
    import sys

    report = vgg_inspect.analyze("vgg11", input_size=32)
    assert repr(report).startswith("<Report vgg11: input 1x3x32x32 float32") and len(repr(report)) < 200
    text = str(report)
    assert text.startswith("Summary: vgg11 (config A), input 1×3×32×32") and "conv5_2" in text and "132,863,336" in text
    html = report._repr_html_()
    assert html.count("<table>") == 1 and '<td class="left">conv1_1</td>' in html
    assert "RF" in text and "\x1b" not in text
    # shown only when asked: analysing imports no renderer
    code = (
        "import sys, vgg_inspect\nvgg_inspect.analyze('vgg16')\n"
        "print(sorted({'rich', 'torch', 'click'} & {*sys.modules}))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_summary_one_liner_and_dir():
    assert dir(vgg_inspect) == sorted(["AnalysisError", "VggInspectError", "__version__", "analyze", "analyze_module",
                                       "summary"])  # fmt: skip
    assert vgg_inspect.summary("vgg16").totals.params == ref.PARAMS["vgg16"]
    small = vgg_inspect.summary("vgg11", (2, 1, 32, 32))
    assert small.input.shape == [2, 1, 32, 32]
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    assert vgg_inspect.summary(module, (1, 3, 16, 16)).totals.params == 3 * 9 * 8 + 8
    with pytest.raises(vgg_inspect.VggInspectError, match="input_shape is needed"):
        vgg_inspect.summary(module)
