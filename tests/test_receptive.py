"""Receptive fields against REFERENCE.md section 5, input-gradient supports, and real conv stacks."""

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref


def test_vgg16_table():
    r = vgg_inspect.analyze("vgg16")
    assert {n: (r.layer(n).receptive_field, r.layer(n).jump) for n in ref.VGG16_RF} == ref.VGG16_RF
    assert r.layer("relu5_3").receptive_field == 196  # point-wise layers keep the field
    assert r.layer("fc6").receptive_field is None and r.layer("fc6").field_status == "global"
    assert r.layer("fc6").covers_input is True


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
    # At 200 no pool5 unit spans pixels 0..199 (fields [-90, 121], [-58, 153], ...), though 212 > 200.
    assert vgg_inspect.analyze("vgg16", input_size=200).layer("pool5").covers_input is False


layer_st = st.one_of(
    st.tuples(st.just("conv"), st.sampled_from([1, 2, 3, 5]), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2)),
    st.tuples(st.just("pool"), st.sampled_from([2, 3]), st.integers(1, 3), st.integers(0, 1), st.just(1)),
)


def _modules(torch, layers):
    nn = torch.nn
    modules, channels = [], 2
    for kind, k, s, p, d in layers:
        p = min(p, k // 2)  # PyTorch requires pad <= half the kernel for pools
        if kind == "conv":
            modules += [nn.Conv2d(channels, 3, k, s, p, d, bias=False), nn.ReLU()]
            channels = 3
        else:
            modules.append(nn.MaxPool2d(k, s, p))
    return modules


def _fits(torch, modules, shape):
    import copy

    try:
        copy.deepcopy(torch.nn.Sequential(*modules)).to("meta")(torch.empty(shape, device="meta"))
    except RuntimeError:
        return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(layer_st, min_size=1, max_size=5), h=st.integers(24, 128), w=st.integers(24, 128))
# Once found by hypothesis: the centre unit's support is empty (its field lies in the padding).
@example(layers=[("conv", 1, 3, 0, 1), ("conv", 1, 3, 0, 1), ("pool", 2, 2, 0, 1), ("conv", 2, 1, 1, 2)], h=24, w=24)
def test_recurrence_equals_gradient_support(torch, layers, h, w):
    from .oracles import assert_centre_field, positive_probe

    modules = _modules(torch, layers)
    assume(_fits(torch, modules, (1, 2, h, w)))  # torch refuses the input: nothing to compare
    last = vgg_inspect.analyze_module(torch.nn.Sequential(*modules).double(), (1, 2, h, w)).layers[-1]
    assert_centre_field(last, positive_probe(modules), (1, 2, h, w))


def _covers_truth(torch, modules, shape, head=None):
    """Per layer output: does some unit's gradient support contain every input pixel?"""
    from .oracles import gradient_supports, positive_probe

    truths = []
    for i in range(1, len(modules) + 1):
        probe = positive_probe(modules[:i])
        supports, _ = gradient_supports(probe, shape)
        truths.append(bool(supports.reshape(supports.shape[0], -1).all(1).any()))
    return truths


adaptive_st = st.tuples(st.just("adaptive"), st.integers(1, 9), st.integers(1, 9), st.just(0), st.just(1))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layers=st.lists(st.one_of(layer_st, adaptive_st), min_size=1, max_size=4),
    h=st.integers(5, 26),
    w=st.integers(5, 26),
    head=st.booleans(),
)
def test_covers_input_equals_gradient_supports(torch, layers, h, w, head):
    """covers_input on every row, against real gradient supports of every unit (dilated, strided
    and padded convs, pools that floor pixels away, regular and irregular adaptive pools, and an
    FC head after a flatten)."""
    nn = torch.nn
    modules = []
    for kind, a, b, *_ in layers:
        if kind == "adaptive":
            modules.append(nn.AdaptiveAvgPool2d((a, b)))
        else:
            modules += _modules(torch, [(kind, a, b, *_)])
    chain, channels = [], 2  # channels chained across the generated layers: 2, then 3
    for m in modules:
        if isinstance(m, nn.Conv2d):
            m = nn.Conv2d(channels, 3, m.kernel_size, m.stride, m.padding, m.dilation, bias=False)
            channels = 3
        chain.append(m)
    shape = (1, 2, h, w)
    assume(_fits(torch, chain, shape))
    if head:
        with torch.no_grad():
            out = nn.Sequential(*chain).double()(torch.ones(shape, dtype=torch.float64))
        chain += [nn.Flatten(), nn.Linear(out[0].numel(), 2)]
    rows = vgg_inspect.analyze_module(nn.Sequential(*chain).double(), shape).layers
    truth = _covers_truth(torch, chain, shape)
    assert [r.covers_input for r in rows] == truth, [(r.type, r.field_status) for r in rows]


@pytest.mark.parametrize(
    "config,size,layer,expected",
    [
        ("vgg16", 200, "pool5", False),
        ("vgg16", 32, "conv3_2", False),
        ("vgg16", 256, "avgpool", False),
        ("vgg16", 224, "pool5", False),
        ("vgg16", 224, "fc6", True),
        (None, 21, "fc4", False),
    ],
)
def test_covers_input_cases_from_the_report(torch, config, size, layer, expected):
    """The cases a review confirmed with gradient supports on real modules, pinned."""
    kw = {"config": "M,16,M,16"} if config is None else {}
    r = vgg_inspect.analyze(config, input_size=size, **kw)
    assert r.layer(layer).covers_input is expected


def test_adaptive_pool_regular_and_irregular():
    r = vgg_inspect.analyze("vgg16", input_size=256)  # pool5 8x8 -> 7x7: 2-wide windows, stride 1
    row = r.layer("avgpool")
    assert (row.receptive_field, row.jump, row.field_status) == (212 + 32, 32, "local")
    r = vgg_inspect.analyze("vgg16", input_size=512)  # 16 -> 7: windows of 3 and 4, irregular
    row = r.layer("avgpool")
    assert (row.receptive_field, row.jump, row.field_status) == (212 + 3 * 32, None, "irregular")


def test_unknown_layer_makes_field_unknown(torch):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.PixelShuffle(2), torch.nn.Conv2d(1, 4, 3))
    rows = vgg_inspect.analyze_module(model, (1, 3, 16, 16)).layers
    assert rows[0].receptive_field == 3
    assert rows[1].receptive_field is None and rows[1].covers_input is None and rows[1].field_status == "unknown"
    assert rows[2].receptive_field is None


@pytest.mark.parametrize(
    "name,size,layer",
    [("vgg11", 64, "conv4_2"), ("vgg16_c_bn", 80, "conv3_3"), ("vgg11_lrn", 48, "pool2"), ("vgg13", 40, "conv5_2")],
)
def test_support_mode_equals_theory(torch, name, size, layer):
    """The CLI's support mode and the report's field, against a support measured here on an
    independently built probe (positive weights, average pools)."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    from .oracles import positive_probe

    res = CliRunner().invoke(
        cli,
        [
            "receptive-field",
            name,
            "--effective",
            "--mode",
            "support",
            "--layer",
            layer,
            "--input",
            str(size),
            "--format",
            "json",
        ],
    )
    data = json.loads(res.output)["effective_receptive_field"]
    row = vgg_inspect.analyze(name, input_size=size).layer(layer)
    stop = int(row.module.split(".")[1])
    features = list(tb.instantiate(model_spec(name), device="cpu").features)[: stop + 1]
    probe = positive_probe([torch.nn.Identity() if isinstance(m, torch.nn.BatchNorm2d) else m for m in features])
    x = torch.ones(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    out = probe(x)
    uy, ux = (out.shape[2] - 1) // 2, (out.shape[3] - 1) // 2
    out[0, :, uy, ux].sum().backward()
    ys, xs = torch.nonzero(x.grad[0].sum(0), as_tuple=True)
    measured = [int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())]
    centre = [row.start + u * row.jump for u in (uy, ux)]
    box = []
    for c in centre:
        box += [
            max(0, math.ceil(c - (row.receptive_field - 1) / 2)),
            min(size - 1, math.floor(c + (row.receptive_field - 1) / 2)),
        ]
    assert measured == box  # the report's field, clipped to the image
    assert data["support_box"] == measured and data["theoretical_box"] == box
    assert data["support_matches_theory"]


def test_effective_mode_is_smaller_and_repeatable(torch):
    args = [
        "receptive-field",
        "vgg11",
        "--effective",
        "--layer",
        "conv4_2",
        "--input",
        "96",
        "--samples",
        "2",
        "--seed",
        "3",
        "--format",
        "json",
    ]
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
    for args, msg in (
        (["receptive-field", "vgg11", "--effective", "--layer", "fc6"], "has no single local field"),
        (["receptive-field", "vgg11", "--effective", "--layer", "conv9"], "unknown layer 'conv9'"),
        (["receptive-field", "--effective"], "--effective needs a MODEL"),
        (["receptive-field", "vgg16", "--kernel", "5"], "--kernel applies to the comparison table"),
        (["receptive-field", "vgg16", "--layer", "conv5_3"], "--layer applies to MODEL --effective"),
        (["receptive-field", "--mode", "support"], "--mode applies to MODEL --effective"),
        (["receptive-field", "vgg16", "--model", "vgg19"], "not both"),
        (["receptive-field", "--kernel", "4"], "--kernel must be odd"),
        (["receptive-field", "--kernel", "0"], "--kernel must be at least 1, got 0"),
        (["receptive-field", "--channels", "0"], "channels must be at least 1"),
    ):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output, (args, res.output)


def _params(torch, modules):
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.mark.parametrize(
    "cin,cout,kernel,bias", [(64, 1, 11, True), (512, 512, 7, False), (3, 64, 9, True), (16, 32, 5, False)]
)
def test_stack_table_equals_real_conv_stacks(torch, cin, cout, kernel, bias):
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    data = json.loads(
        CliRunner()
        .invoke(
            cli,
            [
                "receptive-field",
                "--in-channels",
                str(cin),
                "--out-channels",
                str(cout),
                "--kernel",
                str(kernel),
                "--format",
                "json",
            ]
            + (["--bias"] if bias else []),
        )
        .output
    )
    assert [r["field"] for r in data["rows"]] == list(range(3, kernel + 1, 2))
    for row in data["rows"]:
        n, k = row["layers"], row["field"]
        stack = [nn.Conv2d(cin, cout, 3, padding=1, bias=bias, device="meta")] + [
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias, device="meta") for _ in range(n - 1)
        ]
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
    out = (
        CliRunner()
        .invoke(cli, ["receptive-field", "--in-channels", "64", "--out-channels", "1", "--kernel", "11", "--bias"])
        .output
    )
    assert "577" in out and "7,745" in out
    rows = json.loads(CliRunner().invoke(cli, ["receptive-field", "--format", "json"]).output)["rows"]
    assert (rows[2]["stack_weight_multiple"], rows[2]["single_weight_multiple"]) == ("27", "49")
    assert rows[2]["stack_params"] == 27 * 512**2 and rows[2]["single_params"] == 49 * 512**2
    assert rows[2]["saving_percent"] == pytest.approx(100 * (1 - 27 / 49), abs=0.01)


@pytest.mark.parametrize("name", ["vgg16", "C", "vgg19_bn"])
def test_block_table_equals_real_convs(torch, name):
    from torch.utils.flop_counter import FlopCounterMode

    data = json.loads(
        CliRunner().invoke(cli, ["receptive-field", "--model", name, "--input", "64", "--format", "json"]).output
    )
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
    code = (
        "import sys; from click.testing import CliRunner; from vgg_inspect.cli import cli;"
        "r = CliRunner().invoke(cli, ['receptive-field']); assert r.exit_code == 0, r.output;"
        "r = CliRunner().invoke(cli, ['receptive-field', '--model', 'vgg16']); assert r.exit_code == 0;"
        "r = CliRunner().invoke(cli, ['receptive-field', 'vgg19']); assert r.exit_code == 0;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_summary_has_receptive_field_column():
    out = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "csv"]).output
    pool5 = next(line for line in out.splitlines() if line.startswith("pool5,"))
    assert pool5.split(",")[-2:] == ["212", "32"]


def test_effective_field_cost_does_not_follow_the_input(torch):
    """The run is cropped to the unit's field: a 4096-pixel input costs what the field costs in
    memory (a whole-image run would need several GiB). Time is measured by the benchmark, not here."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = CliRunner().invoke(
        cli, ["receptive-field", "vgg16", "--effective", "--input", "4096", "--samples", "1", "--format", "json"]
    )
    data = json.loads(res.output)["effective_receptive_field"]
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown < 2**30
    assert data["theoretical_box"] == [2039 - 97, 2039 + 98, 2039 - 97, 2039 + 98]  # 196 pixels around 2039.5
    assert data["support_box"] == data["theoretical_box"]


def test_effective_errors_name_the_option():
    for args, msg in (
        (["--config", "M", "--effective"], "no conv layer to trace; name a pool layer with --layer"),
        (["vgg11", "--effective", "--seed", str(2**70)], "--seed must be an integer from 0 to 2^63-1"),
        (["vgg11", "--effective", "--samples", "0"], "--samples must be an integer from 1 to 1000"),
    ):
        res = CliRunner().invoke(cli, ["receptive-field", *args])
        assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output, res.output
