"""diff: two models aligned layer by layer; exit 0 when the same, 1 when any aligned layer differs."""

import json
import pathlib

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

from .test_schema import VALIDATOR

ZOO = pathlib.Path(__file__).parent / "zoo"


def _diff(*args):
    return CliRunner().invoke(cli, ["diff", *args, "--format", "json"])


def test_same_model_is_exit_0():
    res = _diff("vgg16", "D")
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["diff"]["same"]
    VALIDATOR.validate(data)


def test_config_list_equals_its_variant():
    layers = "64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M"
    assert _diff("vgg16", f"config:{layers}").exit_code == 0


def test_config_c_differs_where_the_paper_says():
    res = _diff("vgg16", "vgg16_c")
    data = json.loads(res.output)["diff"]
    assert res.exit_code == 1
    differing = [(r["a"], r["fields"]["kernel_size"], r["fields"]["padding"]) for r in data["rows"] if r["differs"]]
    assert differing == [(f"conv{b}_3", [[3, 3], [1, 1]], [[1, 1], [0, 0]]) for b in (3, 4, 5)]
    # parameters of a 3x3 vs a 1x1 conv, written out: 9·C·C + C vs C·C + C
    conv5_3 = next(r for r in data["rows"] if r["a"] == "conv5_3")
    assert conv5_3["fields"]["params"] == [9 * 512 * 512 + 512, 512 * 512 + 512]
    assert data["totals"]["params"][0] - data["totals"]["params"][1] == 8 * (256 * 256 + 2 * 512 * 512)


def test_batch_norm_layers_only_in_b():
    data = json.loads(_diff("vgg11", "vgg11_bn").output)["diff"]
    only_b = [r for r in data["rows"] if r["a"] is None]
    assert len(only_b) == 8 and all(r["kind"] == "norm" and r["differs"] for r in only_b)
    neutral = [r for r in data["rows"] if r["kind"] == "relu"]
    assert neutral and not any(r["differs"] for r in neutral)


def test_model_options_apply_to_both():
    res = _diff("vgg11", "vgg11", "--num-classes", "10", "--input", "32")
    assert res.exit_code == 0 and json.loads(res.output)["diff"]["input"] == [1, 3, 32, 32]


@pytest.mark.parametrize(
    "args,message",
    [
        (["vgg61", "vgg16"], "unknown model 'vgg61'"),
        (["vgg16", "config:64,X"], "malformed --config token 'X'"),
        (["vgg16", "vgg11", "--config", "64,M"], "give custom layer lists as config:LAYERS"),
    ],
)
def test_usage_errors(args, message):
    res = CliRunner().invoke(cli, ["diff", *args])
    assert res.exit_code == 2 and message in res.output and len(res.output.strip().splitlines()) == 1


def test_your_own_file_against_the_built_in():
    """A hand-written copy matches vgg16 row for row; the functional VGG16 differs only by the
    BatchNorm1d it adds, and vgg16's identity avgpool does not shift the alignment."""
    import pathlib

    pytest.importorskip("torch")
    models = pathlib.Path(__file__).parent / "models" / "functional_vgg.py"
    res = _diff(f"{models}:TorchvisionCopy", "vgg16")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["diff"]["same"]
    res = _diff(f"{models}:VGGNet", "vgg16")
    assert res.exit_code == 1, res.output
    rows = json.loads(res.output)["diff"]["rows"]
    differing = [(r["a"], r["b"], r["fields"]["type"]) for r in rows if r["differs"]]
    assert differing == [("bn6", None, ["BatchNorm1d", None])]
    only_b = [r for r in rows if r["a"] is None]
    assert "avgpool" in {r["b"] for r in only_b} and all(r["neutral"] for r in only_b)
    VALIDATOR.validate(json.loads(res.output))
    text = CliRunner().invoke(cli, ["diff", f"{models}:VGGNet", "vgg16"]).output
    assert "(None)" not in text and "1 layer(s) differ" in text


def test_model_options_go_to_the_side_they_describe():
    """A CIFAR model of your own against vgg11 --num-classes 10: the class count goes to the built-in,
    --kwargs to your model; an option that fits neither side is still refused."""
    import pathlib

    pytest.importorskip("torch")
    small = f"{pathlib.Path(__file__).parent / 'models' / 'functional_vgg.py'}:make_small"
    res = CliRunner().invoke(cli, ["diff", small, "vgg11", "--num-classes", "10", "--kwargs", "num_classes=10",
                                   "--input", "32", "--format", "json"])  # fmt: skip
    assert res.exit_code == 1, res.output  # they differ, but both were built as asked
    diff = json.loads(res.output)["diff"]
    assert (diff["a"]["num_classes"], diff["b"]["num_classes"]) == (None, 10)
    shapes = [r["fields"]["output_shape"] for r in diff["rows"] if r["kind"] == "fc"]
    assert next(a for a, _ in shapes if a) == [1, 10] and shapes[-1][1] == [1, 10]  # each side built as asked
    res = CliRunner().invoke(cli, ["diff", small, small, "--num-classes", "10"])
    assert res.exit_code == 2 and "--num-classes describes a built-in VGG" in res.output
    res = CliRunner().invoke(cli, ["diff", "vgg11", "vgg13", "--kwargs", "a=1"])
    assert res.exit_code == 2 and "--kwargs apply to your own model" in res.output


def _pairs(*args):
    res = _diff(*args)
    assert res.exit_code in (0, 1), res.output
    return [(r["a"], r["b"]) for r in json.loads(res.output)["diff"]["rows"] if not r["neutral"]]


@pytest.mark.parametrize(
    "a,b,new",
    [("vgg11", "vgg13", ["conv1_2", "conv2_2"]), ("vgg16", "vgg19", ["conv3_4", "conv4_4", "conv5_4"]),
     ("vgg11", "vgg19", ["conv1_2", "conv2_2", "conv3_3", "conv3_4", "conv4_3", "conv4_4", "conv5_3", "conv5_4"])],
)  # fmt: skip
def test_inserted_convs_are_the_new_ones(a, b, new):
    """The paper's tables: each deeper configuration adds convs at the end of its blocks, so every
    other layer keeps its name and is paired with its namesake."""
    pairs = _pairs(a, b)
    assert [y for x, y in pairs if x is None] == new
    assert all(x == y for x, y in pairs if x is not None)


def test_a_timm_style_conv_head_pairs_with_the_linear_head():
    pytest.importorskip("torch")  # the zoo models are your code: traced with torch
    pairs = _pairs(f"{ZOO}/timm_style.py:TimmVGG16", "vgg16")
    assert pairs[-4:] == [("pool5", "pool5"), ("fc6", "fc6"), ("fc7", "fc7"), ("fc8", "fc8")]


def test_ssd_pool5_and_conv6_conv7_pair_with_vgg16s_pool5_fc6_fc7():
    """SSD's paper: pool5 becomes 3x3/s1, fc6 and fc7 become (dilated) convs; its extra layers
    have no counterpart but the first, which takes fc8's place."""
    pytest.importorskip("torch")  # the zoo models are your code: traced with torch
    pairs = _pairs(f"{ZOO}/ssd.py:SSDBackbone", "vgg16", "--input", "300")
    at = pairs.index(("vgg.30", "pool5"))
    assert pairs[at + 1 : at + 5] == [(None, "avgpool"), ("vgg.31", "fc6"), ("vgg.33", "fc7"), ("extras.0", "fc8")]
    assert all(y is None for _, y in pairs[at + 5 :])
    convs = [(x, y) for x, y in pairs[:at] if y and y.startswith("conv")]
    assert len(convs) == 13 and all(
        x == f"vgg.{i}" for (x, _), i in zip(convs, [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28])
    )


def test_fcns_learnable_upsampling_is_never_paired_with_a_pool():
    pytest.importorskip("torch")  # the zoo models are your code: traced with torch
    pairs = _pairs(f"{ZOO}/fcn.py:FCN32s", "vgg16", "--input", "64")
    assert ("upscore", None) in pairs
    assert [p for p in pairs if p[1] in ("fc6", "fc7", "fc8")] == [("fc6", "fc6"), ("fc7", "fc7"), ("fc8", "fc8")]
