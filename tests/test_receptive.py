"""Receptive fields against REFERENCE.md section 5, input-gradient supports, and real conv stacks."""

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref


def test_vgg16_table():
    r = vgg_inspect.analyze("vgg16")
    assert {n: (r.layer(n).receptive_field, r.layer(n).jump) for n in ref.VGG16_RF} == ref.VGG16_RF
    assert r.layer("relu5_3").receptive_field == 196  # point-wise layers keep the field
    assert r.layer("fc6").receptive_field is None and r.layer("fc6").covers_input is True


@pytest.mark.parametrize("letter,rf", ref.POOL5_RF.items())
@pytest.mark.parametrize("bn", [False, True])
def test_pool5_per_config(letter, rf, bn):
    row = vgg_inspect.analyze(letter, batch_norm=bn).layer("pool5")
    assert (row.receptive_field, row.jump) == (rf, 32)


def test_one_by_one_and_lrn_do_not_grow():
    c = vgg_inspect.analyze("C")
    assert c.layer("conv3_3").receptive_field == c.layer("conv3_2").receptive_field
    lrn = vgg_inspect.analyze("A-LRN")
    assert lrn.layer("lrn1").receptive_field == lrn.layer("conv1_1").receptive_field == 3


def test_non_square_gives_per_axis_values():
    r = vgg_inspect.analyze("vgg16", input_size="448x224")
    row = r.layer("avgpool")  # 14x7 -> 7x7: a 2x2-stride-2 pool along H, identity along W
    assert row.receptive_field == [212 + 32, 212] and row.jump == [64, 32]
    assert r.layer("pool5").receptive_field == 212  # equal axes stay one number
    assert vgg_inspect.analyze("vgg16", input_size=200).layer("pool5").covers_input is True


def _gradient_support(torch, model, shape):
    """Bounding box of the input gradient of the centre output unit, with positive weights."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    uy, ux = (out.shape[2] - 1) // 2, (out.shape[3] - 1) // 2
    out[0, :, uy, ux].sum().backward()
    ys, xs = torch.nonzero(x.grad[0].sum(0), as_tuple=True)
    return (uy, ux), [int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())]


layer_st = st.one_of(
    st.tuples(st.just("conv"), st.sampled_from([1, 2, 3, 5]), st.integers(1, 3), st.integers(0, 2),
              st.integers(1, 2)),
    st.tuples(st.just("pool"), st.sampled_from([2, 3]), st.integers(1, 3), st.integers(0, 1), st.just(1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(layer_st, min_size=1, max_size=5), h=st.integers(24, 128), w=st.integers(24, 128))
def test_recurrence_equals_gradient_support(torch, layers, h, w):
    nn = torch.nn
    modules, channels = [], 2
    for kind, k, s, p, d in layers:
        p = min(p, k // 2)  # PyTorch requires pad <= half the kernel for pools
        if kind == "conv":
            modules += [nn.Conv2d(channels, 3, k, s, p, d, bias=False), nn.ReLU()]
            channels = 3
        else:
            modules.append(nn.MaxPool2d(k, s, p))
    model = nn.Sequential(*modules).double()
    try:
        report = vgg_inspect.analyze_module(model, (1, 2, h, w))
    except vgg_inspect.errors.VggInspectError:
        return  # the input is too small for this stack
    last = report.layers[-1]
    # The independent check: positive weights and average pools (gradient reaches every input of a window).
    probe = nn.Sequential(*[nn.AvgPool2d(m.kernel_size, m.stride, m.padding) if isinstance(m, nn.MaxPool2d) else m
                            for m in modules]).double()
    with torch.no_grad():
        for m in probe:
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
    (uy, ux), support = _gradient_support(torch, probe, (1, 2, h, w))
    rf, jump, start = ([v, v] if not isinstance(v, list) else v for v in (last.receptive_field, last.jump, last.start))
    box = []
    for c, r in ((start[0] + uy * jump[0], rf[0]), (start[1] + ux * jump[1], rf[1])):
        box += [math.ceil(c - (r - 1) / 2), math.floor(c + (r - 1) / 2)]
    inside = box[0] >= 0 and box[2] >= 0 and box[1] < h and box[3] < w
    if inside:  # the field's span: its extreme taps always reach the input
        assert support == box
    else:  # clipped: a dilated or strided kernel's holes may leave the clipped edge unseen
        clipped = [max(0, box[0]), min(h - 1, box[1]), max(0, box[2]), min(w - 1, box[3])]
        assert clipped[0] <= support[0] <= support[1] <= clipped[1]
        assert clipped[2] <= support[2] <= support[3] <= clipped[3]


def test_unknown_layer_makes_field_unknown(torch):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AvgPool2d(2), torch.nn.Conv2d(4, 4, 3))
    rows = vgg_inspect.analyze_module(model, (1, 3, 16, 16)).layers
    assert rows[0].receptive_field == 3
    assert rows[1].receptive_field is None and rows[1].covers_input is None
    assert rows[2].receptive_field is None


@pytest.mark.parametrize("name,size,layer", [("vgg11", 64, "conv4_2"), ("vgg16_c_bn", 80, "conv3_3"),
                                             ("vgg11_lrn", 48, "pool2"), ("vgg13", 40, "conv5_2")])
def test_support_mode_equals_theory(torch, name, size, layer):
    res = CliRunner().invoke(cli, ["receptive-field", name, "--effective", "--mode", "support", "--layer", layer,
                                   "--input", str(size), "--format", "json"])
    data = json.loads(res.output)["effective_receptive_field"]
    assert data["support_matches_theory"], data
    assert data["support_box"] == data["theoretical_box"]


def test_effective_mode_is_smaller_and_repeatable(torch):
    args = ["receptive-field", "vgg11", "--effective", "--layer", "conv4_2", "--input", "96", "--samples", "2",
            "--seed", "3", "--format", "json"]
    first = json.loads(CliRunner().invoke(cli, args).output)["effective_receptive_field"]
    again = json.loads(CliRunner().invoke(cli, args).output)["effective_receptive_field"]
    assert first == again
    sides = [first["mass_squares"][k] for k in ("50", "90", "99")]
    assert sides == sorted(sides) and sides[0] < first["theoretical_rf"][0]
    assert len(first["heatmap"]) == 32 and max(max(r) for r in first["heatmap"]) == 1.0


def test_effective_table_and_errors(torch):
    runner = CliRunner()
    out = runner.invoke(cli, ["receptive-field", "vgg11", "--effective", "--input", "64", "--samples", "1"]).output
    assert "50% of gradient mass" in out
    for args, msg in ((["receptive-field", "vgg11", "--effective", "--layer", "fc6"], "sees the whole input"),
                      (["receptive-field", "vgg11", "--effective", "--layer", "conv9"], "unknown layer 'conv9'"),
                      (["receptive-field", "--effective"], "--effective needs a MODEL"),
                      (["receptive-field", "vgg16", "--kernel", "5"], "--kernel apply to the comparison table"),
                      (["receptive-field", "vgg16", "--model", "vgg19"], "not both"),
                      (["receptive-field", "--kernel", "4"], "--kernel must be odd"),
                      (["receptive-field", "--channels", "0"], "channels must be at least 1")):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output, (args, res.output)


def _params(torch, modules):
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.mark.parametrize("cin,cout,kernel,bias", [(64, 1, 11, True), (512, 512, 7, False), (3, 64, 9, True),
                                                  (16, 32, 5, False)])
def test_stack_table_equals_real_conv_stacks(torch, cin, cout, kernel, bias):
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    data = json.loads(CliRunner().invoke(cli, ["receptive-field", "--in-channels", str(cin), "--out-channels",
                                               str(cout), "--kernel", str(kernel), "--format", "json"]
                                         + (["--bias"] if bias else [])).output)
    assert [r["field"] for r in data["rows"]] == list(range(3, kernel + 1, 2))
    for row in data["rows"]:
        n, k = row["layers"], row["field"]
        stack = [nn.Conv2d(cin, cout, 3, padding=1, bias=bias, device="meta")] + [
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias, device="meta") for _ in range(n - 1)]
        single = nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias, device="meta")
        assert row["stack_params"] == _params(torch, stack)
        assert row["single_params"] == _params(torch, [single])
        x = torch.empty(1, cin, 9, 9, device="meta")
        for net, key in ((nn.Sequential(*stack), "stack_macs_per_position"), (single, "single_macs_per_position")):
            with FlopCounterMode(display=False) as counter:
                net(x)
            assert row[key] == counter.get_total_flops() // 2 // 81
        assert row["stack_nonlinearities"] == n


def test_example_577_vs_7745():
    out = CliRunner().invoke(cli, ["receptive-field", "--in-channels", "64", "--out-channels", "1", "--kernel", "11",
                                   "--bias"]).output
    assert "577" in out and "7,745" in out
    rows = json.loads(CliRunner().invoke(cli, ["receptive-field", "--format", "json"]).output)["rows"]
    assert (rows[2]["stack_weight_multiple"], rows[2]["single_weight_multiple"]) == ("27", "49")
    assert rows[2]["stack_params"] == 27 * 512 ** 2 and rows[2]["single_params"] == 49 * 512 ** 2
    assert rows[2]["saving_percent"] == pytest.approx(100 * (1 - 27 / 49), abs=0.01)


@pytest.mark.parametrize("name", ["vgg16", "C", "vgg19_bn"])
def test_block_table_equals_real_convs(torch, name):
    from torch.utils.flop_counter import FlopCounterMode

    data = json.loads(CliRunner().invoke(cli, ["receptive-field", "--model", name, "--input", "64",
                                               "--format", "json"]).output)
    assert len(data["blocks"]) == 5
    report = vgg_inspect.analyze(name, input_size=64)
    convs = [r for r in report.layers if r.kind == "conv"]
    assert sum(b["stack_params"] for b in data["blocks"]) == sum(r.params for r in convs)
    for b in data["blocks"]:
        k = b["field"]
        one = torch.nn.Conv2d(b["in_channels"], b["out_channels"], k, padding=k // 2, device="meta")
        assert b["single_params"] == _params(torch, [one])
        n, _, h, w = b["output_shape"]
        with FlopCounterMode(display=False) as counter:
            one(torch.empty(n, b["in_channels"], h, w, device="meta"))
        assert b["single_macs"] == counter.get_total_flops() // 2
    if name == "C":
        assert data["blocks"][2]["convs"] == "3x3, 3x3, 1x1" and data["blocks"][2]["field"] == 5


def test_receptive_field_without_model_never_imports_torch():
    code = ("import sys; from click.testing import CliRunner; from vgg_inspect.cli import cli;"
            "r = CliRunner().invoke(cli, ['receptive-field']); assert r.exit_code == 0, r.output;"
            "r = CliRunner().invoke(cli, ['receptive-field', '--model', 'vgg16']); assert r.exit_code == 0;"
            "r = CliRunner().invoke(cli, ['receptive-field', 'vgg19']); assert r.exit_code == 0;"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_summary_has_receptive_field_column():
    out = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "csv"]).output
    pool5 = next(line for line in out.splitlines() if line.startswith("pool5,"))
    assert pool5.split(",")[-2:] == ["212", "32"]
