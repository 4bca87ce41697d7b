"""MACs and FLOPs against REFERENCE.md section 3, closed forms, FlopCounterMode, fvcore, torchinfo."""

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref
from .conftest import ALL_VARIANTS


@pytest.mark.parametrize("letter", ref.MACS_224)
@pytest.mark.parametrize("bn", [False, True])
def test_macs_match_reference(letter, bn):
    for size, table in ((224, ref.MACS_224), (32, ref.MACS_32)):
        t = vgg_inspect.analyze(letter, batch_norm=bn, input_size=size).totals
        assert t.macs == table[letter]  # BN adds no multiply-accumulates of weights
        assert t.flops == 2 * table[letter]


def test_vgg16_conv_and_fc_split():
    t = vgg_inspect.analyze("vgg16").totals
    assert vars(t.macs_by_kind) == {"conv": ref.VGG16_CONV_MACS, "fc": 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000}


# Layer lists written here from the paper's Table 1 (not read from the tool): (kernel, channels) or M.
TABLE1 = {
    "vgg16_c": "64,64,M,128,128,M,256,256,1x1-256,M,512,512,1x1-512,M,512,512,1x1-512,M",
    "vgg19_bn": "64,64,M,128,128,M,256,256,256,256,M,512,512,512,512,M,512,512,512,512,M",
    "vgg11_lrn": "64,LRN,M,128,M,256,256,M,512,512,M,512,512,M",
}


@pytest.mark.parametrize("name", list(TABLE1))
def test_per_layer_macs_closed_form(name):
    n, cin, h, w, classes = 3, 2, 96, 160, 17
    expected = []
    for tok in TABLE1[name].split(","):
        if tok == "M":
            h, w = h // 2, w // 2
        elif tok != "LRN":
            k, cout = (1, int(tok[4:])) if tok.startswith("1x1-") else (3, int(tok))
            expected.append(n * cout * h * w * cin * k * k)  # size-preserving convs: N·C_out·H·W·C_in·k²
            cin = cout
    expected += [n * cin * 7 * 7 * 4096, n * 4096 * 4096, n * 4096 * classes]
    r = vgg_inspect.analyze(name, input_size="96x160", batch=n, in_channels=2, num_classes=classes)
    assert [row.macs for row in r.layers if row.kind in ("conv", "fc")] == expected
    assert all(row.macs == 0 for row in r.layers if row.kind not in ("conv", "fc"))


def _flop_counter(torch, name, shape, train=False, **kw):
    from torch.utils.flop_counter import FlopCounterMode

    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    model = tb.instantiate(model_spec(name, **kw), device="meta")
    x = torch.empty(shape, device="meta")
    with FlopCounterMode(display=False) as counter:
        if train:
            model.train()(x).sum().backward()
        else:
            with torch.no_grad():
                model.eval()(x)
    per_module = {k.removeprefix("VGG."): sum(v.values()) for k, v in counter.get_flop_counts().items()}
    return counter.get_total_flops(), per_module


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(ALL_VARIANTS),
    h=st.integers(32, 257),
    w=st.integers(32, 257),
    batch=st.integers(1, 5),
    in_ch=st.integers(1, 5),
    classes=st.integers(1, 1500),
)
def test_flops_equal_flop_counter_mode(torch, name, h, w, batch, in_ch, classes):
    r = vgg_inspect.analyze(name, input_size=(h, w), batch=batch, in_channels=in_ch, num_classes=classes)
    total, per_module = _flop_counter(torch, name, (batch, in_ch, h, w), num_classes=classes, in_channels=in_ch)
    assert r.totals.flops == total
    for row in r.layers:
        if row.flops:
            assert row.flops == per_module[row.module], row.name


@pytest.mark.parametrize("name,size", [("vgg16", 224), ("vgg11_bn", 64), ("vgg11_lrn", 48)])
def test_train_flops_equal_flop_counter_mode_backward(torch, name, size):
    r = vgg_inspect.analyze(name, input_size=size, batch=2)
    total, _ = _flop_counter(torch, name, (2, 3, size, size), train=True)
    assert r.totals.train_flops == total


def test_train_flops_vgg16_reference():
    t = vgg_inspect.analyze("vgg16").totals
    assert round(t.train_flops / 1e9, 2) == ref.VGG16_TRAIN_FLOPS_G
    first = vgg_inspect.analyze("vgg16").layer("conv1_1")
    assert first.train_flops == 2 * first.flops  # no gradient w.r.t. the image


def test_include_rules_closed_form():
    r = vgg_inspect.analyze("vgg11_lrn_bn", include=["bias", "relu", "pool", "norm"], input_size=64, batch=2)
    rows = r.layers
    n = math.prod
    expected = 2 * r.totals.macs
    expected += sum(n(x.output_shape) for x in rows if x.kind in ("conv", "fc"))  # every layer has a bias
    expected += sum(n(x.output_shape) for x in rows if x.kind == "relu")
    expected += sum(3 * n(x.output_shape) for x in rows if x.type == "MaxPool2d")  # 4 values, 3 comparisons
    # 2x2 -> 7x7: PyTorch's windows [floor(i*2/7), ceil((i+1)*2/7)) have sizes 1,1,1,2,1,1,1 per axis
    expected += sum(x.output_shape[0] * x.output_shape[1] * 8 * 8 for x in rows if x.kind == "avgpool")
    expected += sum(2 * n(x.output_shape) for x in rows if x.type == "BatchNorm2d")
    expected += sum(10 * n(x.output_shape) for x in rows if x.kind == "lrn")  # n + 5 with n = 5
    assert r.totals.flops == expected
    assert vgg_inspect.analyze("vgg11_lrn_bn", input_size=64, batch=2).totals.flops == 2 * r.totals.macs


def test_adaptive_pool_windows(torch):
    """15x15 -> 7x7 has overlapping windows of unequal size. The oracle: the non-zeros of the
    Jacobian of PyTorch's own adaptive_avg_pool2d, one row per output = that output's window."""
    r = vgg_inspect.analyze("vgg16", input_size=480, include=["pool"])  # pool5 is 15x15
    assert r.layer("pool5").output_shape[2:] == [15, 15]
    jac = torch.autograd.functional.jacobian(
        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, 7), torch.rand(1, 1, 15, 15, dtype=torch.float64)
    )
    summed_per_channel = int((jac != 0).sum())
    assert r.layer("avgpool").flops == 512 * summed_per_channel
    assert summed_per_channel != 49 * 4  # overlapping: not a plain 2x2 window per output


def test_peers_reproduced_exactly_vgg16_224(torch):
    pytest.importorskip("fvcore")
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["flops", "vgg16", "--compare", "--format", "json"]).output)
    peers = {p["tool"].split()[0]: p for p in data["peers"]}
    assert peers["torch.utils.flop_counter.FlopCounterMode"]["value"] == ref.VGG16_FLOP_COUNTER
    assert peers["fvcore"]["value"] == ref.VGG16_FVCORE
    assert peers["torchinfo"]["value"] == ref.VGG16_TORCHINFO_MULT_ADDS
    assert all(p["status"] == "agrees" and p["value"] == p["reproduced"] for p in data["peers"])
    assert all({"tool", "value", "convention", "difference_explained"} <= set(p) for p in data["peers"])


@pytest.mark.parametrize("name,size,batch", [("vgg16_bn", 64, 2), ("vgg11_lrn", 40, 1), ("vgg13", 37, 3)])
def test_peers_reproduced_on_other_variants(torch, name, size, batch):
    from vgg_inspect import api

    req = api.Request(name, input_size=size, batch=batch)
    results = api.compare_peers(req, api.analyze_request(req))
    assert [p.status for p in results] == ["agrees"] * 3, results
    assert all(p.value == p.reproduced for p in results)


def test_peer_skips_are_reported(torch, monkeypatch):
    from vgg_inspect.runtime import peer_tools as peers

    runner = CliRunner()
    meta = json.loads(
        runner.invoke(cli, ["flops", "vgg11", "--compare", "--device", "meta", "--format", "json"]).output
    )
    fv = next(p for p in meta["peers"] if p["tool"].startswith("fvcore"))
    assert fv["status"] == "skipped" and "meta" in fv["reason"] and fv["value"] is None
    monkeypatch.setattr(peers, "FVCORE_LIMIT_FLOPS", 10**9)
    big = json.loads(runner.invoke(cli, ["flops", "vgg11", "--compare", "--format", "json"]).output)
    fv = next(p for p in big["peers"] if p["tool"].startswith("fvcore"))
    assert fv["status"] == "skipped" and "real forward" in fv["reason"]


def test_input_sweep():
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["flops", "vgg16", "--input", "224,448,320x480", "--format", "json"]).output)
    sweep = data["sweep"]
    assert [s["input"][2:] for s in sweep] == [[224, 224], [448, 448], [320, 480]]
    assert len({s["macs_by_kind"]["fc"] for s in sweep}) == 1  # constant behind the adaptive pool
    assert sweep[1]["macs_by_kind"]["conv"] == 4 * ref.VGG16_CONV_MACS  # quadratic in the side
    table = runner.invoke(cli, ["flops", "vgg16", "--input", "224,448"]).output
    assert "Compute by input size" in table and "3.976x" in table  # (4 conv + fc) / (conv + fc)


def test_flops_cli_conventions_and_errors():
    runner = CliRunner()
    out = " ".join(runner.invoke(cli, ["flops"]).output.split())
    assert "15,470,264,320" in out and "30,940,528,640" in out
    assert "Not included: bias, ReLU, pooling, norms" in out
    inc = " ".join(runner.invoke(cli, ["flops", "--include", "bias,relu"]).output.split())  # unwrap
    assert "Included: bias, relu" in inc
    bad = runner.invoke(cli, ["flops", "--include", "softmax"])
    assert bad.exit_code == 2 and "unknown --include item 'softmax'" in bad.output
    bad = runner.invoke(cli, ["flops", "--input", "224,abc"])
    assert bad.exit_code == 2 and "malformed --input 'abc'" in bad.output
    train = runner.invoke(cli, ["flops", "--train"]).output
    assert "92,648,177,664" in train
