"""The paper on one screen (Tables 1-4), the dense-evaluation head, and the figures in circulation,
against REFERENCE.md written here as data and closed forms written in the tests."""

import json
import re

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref

# REFERENCE.md section 1, Table 1: the convs of each block (kernel-channels), LRN where it sits.
TABLE1 = {
    "A": [["conv3-64"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2, ["conv3-512"] * 2],
    "A-LRN": [["conv3-64", "LRN"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2, ["conv3-512"] * 2],
    "B": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 2, ["conv3-512"] * 2, ["conv3-512"] * 2],
    "C": [
        ["conv3-64"] * 2,
        ["conv3-128"] * 2,
        ["conv3-256", "conv3-256", "conv1-256"],
        ["conv3-512", "conv3-512", "conv1-512"],
        ["conv3-512", "conv3-512", "conv1-512"],
    ],
    "D": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 3, ["conv3-512"] * 3, ["conv3-512"] * 3],
    "E": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 4, ["conv3-512"] * 4, ["conv3-512"] * 4],
}
# REFERENCE.md section 7 (top-1, top-5 error %): single scale by training scale, and multi-scale.
TABLE3 = {
    "train S=256, test Q=256": {
        "A": (29.6, 10.4),
        "A-LRN": (29.7, 10.5),
        "B": (28.7, 9.9),
        "C": (28.1, 9.4),
        "D": (27.0, 8.8),
        "E": (27.3, 9.0),
    },
    "train S=384, test Q=384": {"C": (28.1, 9.3), "D": (26.8, 8.7), "E": (26.9, 8.7)},
    "train S=[256;512], test Q=384": {"C": (27.3, 8.8), "D": (25.6, 8.1), "E": (25.5, 8.0)},
}
TABLE4 = {"D": (24.8, 7.5), "E": (24.8, 7.5)}
TORCHVISION = {"D": (71.592, 90.382), "E": (72.376, 90.876)}
TORCHVISION_BN = {"D": (73.360, 91.516)}
CONFIGS = ["A", "A-LRN", "B", "C", "D", "E"]


@pytest.fixture(scope="module")
def table():
    return json.loads(CliRunner().invoke(cli, ["variants", "--bn", "--format", "json"]).output)


def test_table1_layout_reads_across_like_the_paper(table):
    rows = [r for r in table["rows"] if r["section"] == "Table 1"]
    assert table["configs"] == CONFIGS
    for i, config in enumerate(CONFIGS):
        blocks, current = [], []
        for r in rows[1:]:
            if r["values"][i] == "maxpool":
                blocks.append(current)
                current = []
            elif r["label"].startswith("block") and r["values"][i]:
                current.append(r["values"][i])
        assert blocks == TABLE1[config], config
    assert [r["values"][0] for r in rows[-4:]] == ["FC-4096", "FC-4096", "FC-1000", "soft-max"]
    bold = {(r["label"], CONFIGS[i], r["values"][i]) for r in rows for i, new in enumerate(r["new"]) if new}
    assert bold == {  # what the paper sets in bold: each column's addition over its left neighbour
        ("block 1", "A-LRN", "LRN"),
        ("block 1", "B", "conv3-64"),
        ("block 2", "B", "conv3-128"),
        ("block 3", "C", "conv1-256"),
        ("block 4", "C", "conv1-512"),
        ("block 5", "C", "conv1-512"),
        ("block 3", "D", "conv3-256"),
        ("block 4", "D", "conv3-512"),
        ("block 5", "D", "conv3-512"),
        ("block 3", "E", "conv3-256"),
        ("block 4", "E", "conv3-512"),
        ("block 5", "E", "conv3-512"),
    }


def test_table2_rounding_and_computed_rows(table):
    rows = {(r["section"], r["label"]): r["values"] for r in table["rows"]}
    params = rows[("computed", "params (exact)")]
    names = ["vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19"]
    assert params == [ref.PARAMS[n] for n in names]
    assert [round(p / 1e6) for p in params] == [ref.PAPER_MILLIONS[c] for c in CONFIGS]
    assert rows[("published", "params (M)")] == [ref.PAPER_MILLIONS[c] for c in CONFIGS]
    assert rows[("computed", "params, BN")] == [ref.PARAMS[n + "_bn"] for n in names]
    assert rows[("computed", "weight layers")] == [ref.WEIGHT_LAYERS[c] for c in CONFIGS]
    letters = ["A", "A", "B", "C", "D", "E"]
    assert rows[("computed", "MACs")] == [ref.MACS_224[c] for c in letters]
    assert rows[("computed", "pool5 RF / jump")] == [[ref.POOL5_RF[c], 32] for c in letters]


def test_published_results_are_quoted(table):
    published = {r["label"]: r for r in table["rows"] if r["section"] == "published" and r["unit"] != "count"}
    for setting, values in TABLE3.items():
        row = published[setting]
        assert row["source"] == "Table 3" and row["unit"] == "error"
        assert {c: tuple(v) for c, v in zip(CONFIGS, row["values"]) if v} == values
    multi = published["train S=[256;512], multi-scale test"]
    assert multi["source"] == "Table 4" and {c: tuple(v) for c, v in zip(CONFIGS, multi["values"]) if v} == TABLE4
    tv = published["IMAGENET1K_V1 weights"]["values"]
    assert tuple(tv[CONFIGS.index("D")]) == TORCHVISION["D"] and tuple(tv[CONFIGS.index("E")]) == TORCHVISION["E"]
    bn = published["IMAGENET1K_V1 weights, BatchNorm"]["values"]
    assert tuple(bn[CONFIGS.index("D")]) == TORCHVISION_BN["D"]


@pytest.mark.parametrize("width", [100, 120])
def test_variants_table_fits_and_never_cuts_a_number(width):
    res = CliRunner().invoke(cli, ["variants", "--bn"], env={"COLUMNS": str(width)})
    lines = res.output.splitlines()
    assert res.exit_code == 0 and max(len(line) for line in lines) <= width
    for number in ("143,667,240", "1.68 GiB", "19.63 G", "25.78/8.16", "268 / 32", "conv1-512"):
        assert number in res.output, number
    assert "…" not in res.output


# The dense-evaluation (conv) head.


@pytest.mark.parametrize("name", ["vgg11", "vgg16_c_bn", "vgg19"])
def test_conv_head_has_the_same_parameters(name):
    fc, conv = vgg_inspect.analyze(name), vgg_inspect.analyze(name, head="conv")
    assert fc.totals.params == conv.totals.params == ref.PARAMS[name]
    assert [r.name for r in conv.layers if r.params and r.kind in ("fc", "conv")][-3:] == ["fc6", "fc7", "fc8"]


@pytest.mark.parametrize("size,side", [(224, 1), (384, 6), (416, 7)])
def test_score_map_follows_the_input(size, side):
    r = vgg_inspect.analyze("vgg16", head="conv", input_size=size)
    assert r.layer("fc8").output_shape == [1, 1000, side, side]
    assert r.layer("score_average").output_shape == [1, 1000, 1, 1] and r.layers[-1].output_shape == [1, 1000]
    # closed form: each score-map position costs the fc head's MACs
    fc_macs = 512 * 49 * 4096 + 4096 * 4096 + 4096 * 1000
    assert sum(x.macs for x in r.layers if x.name in ("fc6", "fc7", "fc8")) == fc_macs * side * side


def test_conv_head_below_its_minimum_input_is_a_clear_error():
    with pytest.raises(
        vgg_inspect.VggInspectError,
        match="input 200x200 is too small for vgg16: fc6 would output 0x0; it needs at least 224x224",
    ):
        vgg_inspect.analyze("vgg16", head="conv", input_size=200)
    res = CliRunner().invoke(cli, ["params", "vgg16", "--head", "conv", "--input", "200"])
    assert res.exit_code == 2 and "it needs at least 224x224" in res.output


def test_conv_head_macs_at_384_equal_flop_counter_on_an_independent_module(torch):
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    layers, c = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1, device="meta"), nn.ReLU(True)]
            c = v
    head = [
        nn.Conv2d(512, 4096, 7, device="meta"),
        nn.ReLU(),
        nn.Conv2d(4096, 4096, 1, device="meta"),
        nn.ReLU(),
        nn.Conv2d(4096, 1000, 1, device="meta"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    ]
    model = nn.Sequential(*layers, *head)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.empty(1, 3, 384, 384, device="meta"))
    r = vgg_inspect.analyze("vgg16", head="conv", input_size=384)
    assert r.totals.flops == counter.get_total_flops()
    assert list(out.shape) == r.layers[-1].output_shape
    assert sum(p.numel() for p in model.parameters()) == r.totals.params


def test_conv_head_gives_the_fc_heads_logits(torch):
    """Both heads with the same (random) weights, the linear ones reshaped: equal logits at 224."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    config = "8,M,8,M,16,M,16,M,16,M"  # five pools: pool5 is 7x7 at 224, as fc6's window
    fc = tb.instantiate(model_spec(config=config, num_classes=5), device="cpu", dtype="float32", init=True)
    conv = tb.instantiate(model_spec(config=config, num_classes=5, head="conv"), device="cpu", init=False)
    # each linear weight reshaped to the conv's (out, in, k, k), in the order torchvision's flatten reads
    target = conv.state_dict()
    conv.load_state_dict({k: v.reshape(target[k].shape) for k, v in fc.state_dict().items()}, strict=True)
    x = torch.rand(2, 3, 224, 224)
    fc.eval()
    conv.eval()
    assert torch.allclose(fc(x), conv(x), atol=1e-5)
    assert isinstance(conv.classifier[0], torch.nn.Conv2d) and conv.classifier[0].kernel_size == (7, 7)


@pytest.mark.parametrize(
    "command",
    [["params"], ["summary"], ["flops"], ["memory"], ["receptive-field"], ["check", "--expect", "params=138357544"]],
)
def test_every_command_takes_the_conv_head(command):
    res = CliRunner().invoke(cli, [*command[:1], "vgg16", "--head", "conv", "--input", "384", *command[1:]])
    assert res.exit_code == 0, res.output
    extra = ["--expect", "fc8.output_shape=1x1000x1x1"] if command[0] == "check" else []
    res = CliRunner().invoke(cli, [command[0], "--config", "16,M,16,M,16,M,16,M,16,M", "--head", "conv", *extra])
    assert res.exit_code == 0, res.output


# The figures in circulation.


def test_circulation_table_against_closed_forms():
    data = json.loads(CliRunner().invoke(cli, ["explain", "--format", "json"]).output)
    claims = {c["claim"]: c for c in data["claims"]}
    fc6_w, fc7_w, conv1_w = 7 * 7 * 512 * 4096, 4096 * 4096, 3 * 3 * 3 * 64
    assert (
        claims["138M parameters"]["verdict"] == "right"
        and f"{ref.PARAMS['vgg16']:,}" in claims["138M parameters"]["correct"]
    )
    assert claims["139,357,544 parameters"]["verdict"] == "wrong"
    fc6 = claims["7x7x512x4096 = 1027,645,444"]
    assert fc6["verdict"] == "wrong" and f"{fc6_w:,} weights; {fc6_w + 4096:,} with bias" in fc6["correct"]
    fc7 = claims["4096x4096 = 16,781,321"]
    assert fc7["verdict"] == "wrong" and f"{fc7_w:,} weights; {fc7_w + 4096:,} with bias" in fc7["correct"]
    assert "fc7 16.8 M" in claims["both FC-4096 layers have ~102M parameters"]["correct"]
    first = claims["1,728 parameters in the first conv"]
    assert first["verdict"] == "weights only" and f"{conv1_w:,} weights; {conv1_w + 64:,} with bias" in first["correct"]
    assert f"{ref.MACS_224['D']:,} MACs" in claims["15.5 GFLOPs"]["correct"]
    assert f"{2 * ref.MACS_224['D']:,} FLOPs" in claims["30.9 GFLOPs"]["correct"]
    values = ref.VGG16_ACTIVATION_VALUES
    assert (
        f"{values:,} values = {values * 4 / 2**20:.1f} MiB = {values * 4 / 1e6:.1f} MB"
        in claims["93 MB / 96 MB per image (forward)"]["correct"]
    )
    assert (
        f"{512 * 7 * 7:,} values = {512 * 49 * 4:,} B = 98 KiB"
        in claims["block-5 output 512x7x7 needs ~10MB"]["correct"]
    )
    w = ref.VGG16_FP32_WEIGHT_BYTES
    assert claims["500+ MB weight file"]["correct"] == f"{w:,} B = {w / 2**20:.1f} MiB = {w / 1e6:.1f} MB"


@pytest.mark.parametrize(
    "figure,found,how",
    [
        ("1728", "conv1_1 weights (no bias)", "matches exactly"),
        ("1792", "conv1_1 parameters (with bias)", "matches exactly"),
        ("30.94G", "total FLOPs (2 x MACs)", "at the precision written"),
        ("15.47G", "total MACs (conv + linear weights)", "at the precision written"),
        ("15.48G", "MACs + bias adds (torchinfo's mult-adds)", "at the precision written"),
        ("16777216", "fc7 weights (no bias)", "matches exactly"),
        ("527.8MiB", "weights, float32", "at the precision written"),
        ("553.4MB", "weights, float32", "at the precision written"),
        ("553.4MiB", "weights, float32", "if MiB is read as MB"),
        ("263.9MiB", "weights, float16/bfloat16", "at the precision written"),
        ("58.1MiB", "sum of layer outputs with the input (CS231n convention), float32", "at the precision written"),
        ("98KiB", "pool5 output 512x7x7, float32", "at the precision written"),
        ("16,781,321", "fc7 parameters (with bias)", "in another order"),
    ],
)
def test_figures_are_traced(figure, found, how):
    data = json.loads(CliRunner().invoke(cli, ["explain", "vgg16", figure, "--format", "json"]).output)
    (m,) = data["figures"]
    assert found in m["found"] and how in m["note"], m
    assert data["claims"] is None


def test_unknown_figure_names_the_nearest():
    data = json.loads(CliRunner().invoke(cli, ["explain", "94MB", "--format", "json"]).output)
    (m,) = data["figures"]
    assert m["found"] == [] and re.search(r"no convention gives it; nearest: .+ = [\d,]+ \([+-]\d+\.\d%\)", m["note"])
    bad = CliRunner().invoke(cli, ["explain", "vgg16", "12parsecs"])
    assert bad.exit_code == 2 and "unreadable figure '12parsecs'" in bad.output


def _note(*args):
    res = CliRunner().invoke(cli, ["explain", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    (m,) = json.loads(res.output)["figures"]
    return m


@pytest.mark.parametrize("figure", ["93MB", "96MB", "96 MB"])
def test_the_cs231n_memory_figures_are_traced_to_their_claim(figure):
    """The README's own examples: CS231n's '24M * 4 bytes ~= 93MB' and its 96 MB copies are no
    sum of VGG16's activations, but they are the claims table's entry, said with the real figure."""
    m = _note("vgg16", figure)
    assert m["note"].startswith("a figure in circulation: 93 MB / 96 MB per image (forward) (CS231n")
    assert f"{ref.VGG16_ACTIVATION_VALUES:,} values" in m["note"]


def test_typos_are_called_typos():
    m = _note("vgg16", "139,357,544")  # the copied typo: one digit off the total
    assert m["note"] == f"total parameters (with biases) = {ref.PARAMS['vgg16']:,} with one digit slipped (a typo)"
    slipped = _note("vgg16", "138,357,545")  # one digit off the total: 138,357,544
    assert slipped["found"] == ["total parameters (with biases)"] and "one digit slipped" in slipped["note"]


def test_figures_of_any_size_are_answered_exactly():
    """A 401-digit figure, one written to 43 places, zero, and a model whose MACs pass decimal's
    default 28 digits: each gets an answer, none a traceback."""
    assert "nearest: total parameters" in _note("vgg16", "9" * 401)["note"]
    assert "nearest" in _note("vgg16", "0." + "0" * 42 + "1G")["note"]
    assert _note("vgg16", "0") == {"figure": "0", "found": [], "note": "0 is no count of this model"}
    huge = _note("vgg16", "--input", "73888218976", "1728")
    assert huge["found"] == ["conv1_1 weights (no bias)"]


def test_explain_works_for_other_models():
    data = json.loads(CliRunner().invoke(cli, ["explain", "vgg19", "143.67M", "--format", "json"]).output)
    assert "total parameters (with biases)" in data["figures"][0]["found"]
    plain = json.loads(CliRunner().invoke(cli, ["explain", "vgg19", "--format", "json"]).output)
    assert plain["claims"] is None and "about VGG16" in plain["warnings"][0]


def test_variants_csv_keeps_raw_numbers_and_pairs():
    import csv
    import io

    rows = {
        r[""]: r for r in csv.DictReader(io.StringIO(CliRunner().invoke(cli, ["variants", "--format", "csv"]).output))
    }
    assert rows["params (exact)"]["D"] == "138357544" and rows["params (M, rounded)"]["D"] == "138"
    assert rows["Table 3 S=256 Q=256"]["A"] == "29.6/10.4" and rows["pool5 RF / jump"]["E"] == "268/32"
