"""Your own VGG, written as people write it, analysed at operator level (functional pooling and ReLU
included) against FlopCounterMode, torchinfo and real CPU measurements."""

import json
import pathlib

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from vgg_inspect.cli import cli

from . import reference as ref

torch = pytest.importorskip("torch")  # before the oracles, which import it

from .oracles import assert_centre_field, saved_bytes  # noqa: E402

MODELS = pathlib.Path(__file__).parent / "models" / "functional_vgg.py"
FUNCTIONAL = f"{MODELS}:VGGNet"
ADAPTIVE = f"{MODELS}:VGGNetAdaptive"
FC6_LINE = next(i for i, line in enumerate(MODELS.read_text().splitlines(), 1) if "self.bn1(self.fc1(x))" in line)
FORWARD_LINE = next(i for i, line in enumerate(MODELS.read_text().splitlines(), 1) if "forward's own mistake" in line)
BROKEN_LINE = next(i for i, line in enumerate(MODELS.read_text().splitlines(), 1) if "own mistake" in line)


def _report(reference, *args):
    res = CliRunner().invoke(cli, ["summary", reference, *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _model(name, **kw):
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_models", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)(**kw)


def test_functional_vgg16_names_shapes_and_fields():
    data = _report(FUNCTIONAL, "--batch", "2")
    rows = {r["name"]: r for r in data["layers"]}
    assert [rows[f"pool{b}"]["module"] for b in range(1, 6)] == ["F.max_pool2d in VGGNet.forward"] * 5
    assert {n: (rows[n]["receptive_field"], rows[n]["jump"]) for n in ref.VGG16_RF} == ref.VGG16_RF
    assert rows["conv3_2"]["module"] == "blocks.2.1" and rows["fc6"]["module"] == "fc1"
    assert data["warnings"] == []


def test_functional_vgg16_against_flop_counter_and_torchinfo():
    from torch.utils.flop_counter import FlopCounterMode

    model = _model("VGGNetAdaptive")
    data = _report(ADAPTIVE, "--batch", "2", "--input", "64")
    x = torch.empty(2, 3, 64, 64, device="meta")
    meta = model.to_empty(device="meta")
    with FlopCounterMode(display=False) as forward, torch.no_grad():
        meta.eval()(x)
    assert data["totals"]["flops"] == forward.get_total_flops()
    with FlopCounterMode(display=False) as both:
        meta.train()(x).sum().backward()
    assert data["totals"]["train_flops"] == both.get_total_flops()
    torchinfo = pytest.importorskip("torchinfo")
    stats = torchinfo.summary(_model("VGGNetAdaptive"), input_size=(2, 3, 64, 64), device="meta", verbose=0)
    assert data["totals"]["params"] == stats.total_params == ref.PARAMS["vgg16"] + 2 * 4096


def test_functional_vgg16_saved_for_backward_equals_a_real_cpu_run():
    model = _model("VGGNetAdaptive")
    measured = saved_bytes(model, torch.rand(2, 3, 32, 32))
    assert _report(ADAPTIVE, "--batch", "2", "--input", "32")["totals"]["training_saved_bytes"] == measured


@pytest.mark.parametrize("device", [[], ["--device", "cpu"], ["--device", "meta"], ["--device", "cpu", "--init"]])
def test_hand_written_copy_equals_the_built_in(device):
    """A retyped torchvision VGG16 from a file and the built-in give the same report, names aside,
    analytically and instantiated on a device alike."""
    mine = _report(f"{MODELS}:TorchvisionCopy", "--input", "96", "--batch", "3", *device)
    built = json.loads(CliRunner().invoke(cli, ["summary", "vgg16", "--input", "96", "--batch", "3", *device,
                                                "--format", "json"]).output)  # fmt: skip
    assert mine["input"] == built["input"] and mine["options"] == built["options"]
    keep = ("name", "module")

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in keep} for r in rows]

    assert strip(mine["layers"]) == strip(built["layers"])
    assert mine["totals"] == built["totals"]


def test_kwargs_from_the_python_api():
    import vgg_inspect

    report = vgg_inspect.analyze(f"{MODELS}:make_small", kwargs={"num_classes": 5}, input_size=32)
    assert report.layers[-1].output_shape == [1, 5]
    assert vgg_inspect.analyze(f"{MODELS}:NeedsArgs", kwargs="width=4", input_size=16).totals.params == 3 * 9 * 4 + 4
    for bad, message in ((3, "kwargs must be a dict"), ({"not a name": 1}, "kwargs keys must be argument names")):
        with pytest.raises(vgg_inspect.VggInspectError, match=message):
            vgg_inspect.analyze(f"{MODELS}:make_small", kwargs=bad)


def test_kwargs_and_factories():
    data = _report(f"{MODELS}:make_small", "--kwargs", "num_classes=5", "--input", "32")
    assert data["layers"][-1]["output_shape"] == [1, 5]
    data = _report(f"{MODELS}:NeedsArgs", "--kwargs", "width=4", "--input", "16")
    assert data["totals"]["params"] == 3 * 9 * 4 + 4


def test_branches_are_merged_not_left_unknown():
    data = _report(f"{MODELS}:Branches", "--input", "16")
    added = [r for r in data["layers"] if r["module"] == "F.add in Branches.forward"]
    assert added[0]["type"] == "Pointwise" and added[0]["macs"] == 0 and added[0]["kind"] == "pointwise"
    # b reads the input, not a's output: the chain algebra would give it a's 3 plus its own 5; the
    # add reads both, so its field is their union (5, centred alike)
    rows = {r["module"]: r for r in data["layers"]}
    assert rows["a"]["receptive_field"] == 3 and rows["a"]["field_status"] == "local"
    assert (rows["b"]["receptive_field"], rows["b"]["effective_padding"]) == (5, 2)
    assert (added[0]["receptive_field"], added[0]["jump"], added[0]["field_status"]) == (5, 1, "local")
    assert data["warnings"] == []
    # two parallel convs are not conv1_1 and conv1_2: a model that is not VGG-shaped keeps its paths
    assert [r["name"] for r in data["layers"]] == [r["module"] for r in data["layers"]]
    assert data["coverage"] == {
        "status": {"params": "complete", "macs": "complete", "flops": "complete", "train_flops": "complete",
                   "receptive_field": "complete", "saved_bytes": "complete", "inference_memory": "partial"},
        "not_counted": {},
    }  # fmt: skip
    # a model with formulas for everything is complete; so is every built-in
    metrics = ("params", "macs", "flops", "train_flops", "receptive_field", "saved_bytes", "inference_memory")
    complete = dict.fromkeys(metrics, "complete")
    assert _report(FUNCTIONAL, "--batch", "2")["coverage"] == {"status": complete, "not_counted": {}}


def test_an_op_without_formulas_is_named_and_left_out_not_zero():
    """PixelShuffle runs no kernel that multiply-accumulates: no MACs, by the convention's definition
    (issue 29); its field is not known. Conv3d multiply-accumulates: its MACs are left out, not zero."""
    data = _report(f"{MODELS}:Shuffled", "--input", "16")
    shuffled = [r for r in data["layers"] if r["type"] == "PixelShuffle"]
    assert shuffled[0]["macs"] == 0 and shuffled[0]["field_status"] == "unknown"
    assert any("PixelShuffle" in w and "not counted" in w for w in data["warnings"])
    assert data["coverage"]["not_counted"] == {"PixelShuffle": 1}
    assert (
        data["coverage"]["status"]["macs"] == "complete" and data["coverage"]["status"]["receptive_field"] == "partial"
    )
    data = _report("tests/models/real_code2.py:Volumetric", "--input", "16")
    conv3d = next(r for r in data["layers"] if r["type"] == "Conv3d")
    assert conv3d["macs"] is None and data["coverage"]["status"]["macs"] == "partial"
    assert data["coverage"]["not_counted"] == {"Conv3d": 1}


@pytest.mark.parametrize("reference,args,code,message", [
    ("tests/models/nope.py:VGG", [], 2, "tests/models/nope.py does not exist"),
    (str(MODELS), [], 2, f"{MODELS} is a file: name the model in it, e.g. {MODELS}:VGGNet (nn.Module classes there: "
                         "VGGNet, NeedsArgs"),
    ("nope.py", [], 2, "nope.py does not exist; your own model is given as path/to/file.py:Name"),
    (f"{MODELS}:VGGNett", [], 2, "has no 'VGGNett'; did you mean VGGNet"),
    (f"{MODELS}:NeedsArgs", [], 2, "NeedsArgs(width): missing a required argument: 'width'"),
    (f"{MODELS}:Broken", [], 1, f"functional_vgg.py:{BROKEN_LINE}): RuntimeError: the user's own mistake"),
    (FUNCTIONAL, ["--input", "32"], 1,
     f"at fc6 (module fc1) (functional_vgg.py:{FC6_LINE}): it expects 25,088 input features and 512 arrive"),
    (f"{MODELS}:ForwardRaises", ["--input", "8"], 1,
     f"in ForwardRaises.forward (functional_vgg.py:{FORWARD_LINE}): AttributeError: 'ForwardRaises' object has no "
     "attribute 'heads'; --debug shows the traceback"),
    (f"{MODELS}:AvgPooled", ["--input", "100000", "--batch", "1000000000"], 1,
     "holds 30,000,000,000,000,000,000 elements, more than torch can address in one tensor"),  # found by the fuzz
    (FUNCTIONAL, ["--num-classes", "10"], 2, "--num-classes describes a built-in VGG; give your model's options"),
    (FUNCTIONAL, ["--kwargs", "nonsense"], 2, "malformed --kwargs item 'nonsense'"),
])  # fmt: skip
def test_user_model_errors(reference, args, code, message):
    res = CliRunner().invoke(cli, ["params", reference, *args])
    assert res.exit_code == code and message in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_debug_prints_the_traceback():
    res = CliRunner().invoke(cli, ["--debug", "params", f"{MODELS}:Broken"])
    assert res.exit_code == 1 and "Traceback" in res.output and "the user's own mistake" in res.output
    res = CliRunner().invoke(cli, ["--debug", "params", f"{MODELS}:ForwardRaises", "--input", "8"])
    assert res.exit_code == 1 and "Traceback" in res.output and "forward's own mistake" in res.output
    res = CliRunner().invoke(cli, ["params", f"{MODELS}:Broken"])  # the next run, in the same process
    assert res.exit_code == 1 and "Traceback" not in res.output and "--debug shows the traceback" in res.output
    # where people put it: at the end of the line they ran, or after the subcommand
    for argv in (["params", f"{MODELS}:Broken", "--debug"], ["params", "--debug", f"{MODELS}:Broken"]):
        res = CliRunner().invoke(cli, argv)
        assert res.exit_code == 1 and "Traceback" in res.output and "the user's own mistake" in res.output, argv
    res = CliRunner().invoke(cli, ["params", f"{MODELS}:Broken", "--", "--debug"])  # after --: an argument
    assert "Traceback" not in res.output


def test_block_comparison_of_your_model_is_the_paper_s():
    """`receptive-field --model FILE`: VGGNetAdaptive's blocks are VGG16's (functional pools and
    ReLUs included); block 5 against closed forms: three 3x3 convs vs one 7x7, 512 channels."""
    mine = json.loads(CliRunner().invoke(cli, ["receptive-field", "--model", ADAPTIVE, "--format", "json"]).output)
    built = json.loads(CliRunner().invoke(cli, ["receptive-field", "--model", "vgg16", "--format", "json"]).output)
    assert mine["blocks"] == built["blocks"]
    five = mine["blocks"][-1]
    assert (five["stack_params"], five["single_params"]) == (3 * (9 * 512 * 512 + 512), 49 * 512 * 512 + 512)
    assert five["stack_nonlinearities"] == 3


def test_batchnorm1d_at_batch_one_falls_back_to_eval_and_says_so():
    """Train mode refuses BatchNorm1d with one sample; the report still comes, from eval mode."""
    from torch.utils.flop_counter import FlopCounterMode

    data = _report(FUNCTIONAL, "--batch", "1")
    model = _model("VGGNet").to_empty(device="meta").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(1, 3, 224, 224, device="meta"))
    assert data["totals"]["flops"] == counter.get_total_flops()
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert any("refuses train mode" in w and "eval-mode" in w for w in data["warnings"]), data["warnings"]
    assert _report(FUNCTIONAL, "--batch", "2")["warnings"] == []


def test_a_module_that_returns_a_tuple_reports_its_first_output():
    data = _report(f"{MODELS}:IndexedPool", "--input", "8", "--batch", "2")
    model = _model("IndexedPool")
    shapes = {}

    def keep(name):
        def hook(mod, args, out):
            shapes[name] = out[0] if isinstance(out, tuple) else out  # returns None: the output is unchanged

        return hook

    for name, mod in model.named_children():
        mod.register_forward_hook(keep(name))
    model(torch.zeros(2, 3, 8, 8))
    rows = {r["module"]: r for r in data["layers"]}
    assert {n: rows[n]["output_shape"] for n in shapes} == {n: list(t.shape) for n, t in shapes.items()}


def test_a_tied_weight_stays_tied_on_a_device():
    """Storage given on a device keeps a shared parameter shared: torch's own count agrees."""
    from vgg_inspect.network.reference import parse_model
    from vgg_inspect.runtime import instantiate as build
    from vgg_inspect.runtime import user

    module = build.place(user.load(parse_model(f"{MODELS}:Tied"))[0], "cpu")
    assert module.back.weight is module.up.weight and module.up.weight.device.type == "cpu"
    expected = sum(p.numel() for p in _model("Tied").parameters())  # parameters() yields a tied one once
    assert _report(f"{MODELS}:Tied", "--input", "8", "--device", "cpu")["totals"]["params"] == expected


def test_a_tied_weight_counts_once():
    data = _report(f"{MODELS}:Tied", "--input", "8")
    model = _model("Tied")
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())  # torch deduplicates shared ones
    torchinfo = pytest.importorskip("torchinfo")
    # torchinfo counts the tied weight once per layer that holds it: the difference is exactly that weight
    theirs = torchinfo.summary(model, input_size=(1, 3, 8, 8), verbose=0).total_params
    assert theirs - data["totals"]["params"] == model.back.weight.numel()


def test_average_pooling_module_and_functional():
    from torch.utils.flop_counter import FlopCounterMode

    data = _report(f"{MODELS}:AvgPooled", "--input", "15", "--batch", "2")
    rows = data["layers"]
    assert data["warnings"] == []  # both pools have formulas: nothing is left uncounted
    model = _model("AvgPooled")
    out = model(torch.zeros(2, 3, 15, 15))
    assert rows[2]["output_shape"] == list(model.pool1(torch.zeros(2, 8, 15, 15)).shape) == [2, 8, 7, 7]
    assert rows[-1]["type"] == "AvgPool2d" and rows[-1]["output_shape"] == list(out.shape) == [2, 8, 4, 4]
    # fields: conv3 -> 3; avg 2/2 -> 3 + 1 = 4, jump 2; conv3 -> 4 + 2*2 = 8; avg 3/2 -> 8 + 2*2 = 12, jump 4
    assert [(r["receptive_field"], r["jump"]) for r in rows if r["type"] != "ReLU"] == [(3, 1), (4, 2), (8, 2), (12, 4)]
    # an average of k*k values per output: k*k - 1 adds and a divide
    assert rows[2]["extra_flops"]["pool"] == 2 * 8 * 7 * 7 * 2 * 2
    assert rows[-1]["extra_flops"]["pool"] == 2 * 8 * 4 * 4 * 3 * 3
    meta = model.to_empty(device="meta")
    with FlopCounterMode(display=False) as both:
        meta(torch.empty(2, 3, 15, 15, device="meta")).sum().backward()
    assert data["totals"]["train_flops"] == both.get_total_flops()
    assert data["totals"]["training_saved_bytes"] == saved_bytes(_model("AvgPooled"), torch.zeros(2, 3, 15, 15))


def test_an_lstm_head_is_named_and_left_out_not_zero():
    data = _report(f"{MODELS}:LstmHead", "--input", "8", "--batch", "2")
    rows = {r["module"]: r for r in data["layers"]}
    assert rows["lstm"]["type"] == "LSTM" and rows["lstm"]["macs"] is None  # unknown, not 0
    assert rows["lstm"]["output_shape"] == [2, 8, 16]  # the first of its (output, (h, c)) tuple
    assert data["totals"]["macs"] == 2 * 8 * 8 * 8 * (3 * 3 * 3) + 2 * 16 * 10  # conv and fc only, closed form
    assert data["coverage"]["not_counted"] == {"LSTM": 1} and data["coverage"]["status"]["macs"] == "partial"
    assert any("no formulas for LSTM" in w for w in data["warnings"])
    model = _model("LstmHead")
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    torchinfo = pytest.importorskip("torchinfo")
    assert data["totals"]["params"] == torchinfo.summary(model, input_size=(2, 3, 8, 8), verbose=0).total_params


def _meta(*shape, dtype=None):
    return torch.empty(shape, device="meta", dtype=dtype or torch.float32)


SHORTCUT_CASES = [
    ("relu", (_meta(2, 8, 5, 5),)),
    ("relu_", (_meta(2, 8, 5, 5),)),
    ("sigmoid", (_meta(3, 7, dtype=torch.float16),)),
    ("hardtanh", (_meta(3, 7),)),
    ("bernoulli_", (_meta(4, 16), 0.5)),
    ("div_", (_meta(4, 16), 0.5)),
    ("mul", (_meta(4, 16), _meta(4, 16))),
    ("div_", (_meta(4, 16), _meta(16))),
    ("empty_like", (_meta(4, 16),)),
    ("ones_like", (_meta(2, 8, 5, 5),)),
    ("cat", ([_meta(2, 3, 4, 4), _meta(2, 5, 4, 4)], 1)),
    ("cat", ([_meta(6, 4), _meta(2, 4)],)),
    ("upsample_nearest2d", (_meta(2, 4, 5, 5), [10, 10], 2.0, 2.0)),
    ("upsample_bilinear2d", (_meta(2, 4, 5, 5), [9, 11], False, None, None)),
    ("reflection_pad2d", (_meta(2, 4, 5, 5), [1, 2, 0, 3])),
    ("replication_pad2d", (_meta(2, 4, 5, 5), [1, 2, 0, 7])),
    ("native_group_norm", (_meta(2, 8, 4, 4), _meta(8), _meta(8), 2, 8, 16, 4, 1e-5)),
    ("native_group_norm", (_meta(2, 8, 4, 4), None, None, 2, 8, 16, 2, 1e-5)),
    ("native_layer_norm", (_meta(2, 8, 4, 4), [8, 4, 4], _meta(8, 4, 4), _meta(8, 4, 4), 1e-5)),
    ("native_layer_norm", (_meta(2, 8, 4, 4), [4], None, None, 1e-5)),
    ("adaptive_max_pool2d", (_meta(2, 4, 8, 8), [3, 3])),
    ("repeat", (_meta(4), [2])),
    ("repeat", (_meta(3, 5), [2, 1, 3])),
    ("mm", (_meta(3, 5), _meta(5, 7))),
    ("addmm", (_meta(7), _meta(3, 5), _meta(5, 7))),
    ("addmm", (_meta(3, 7), _meta(3, 5), _meta(5, 7))),
    ("native_batch_norm", (_meta(2, 8, 4, 4), _meta(8), _meta(8), _meta(8), _meta(8), True, 0.1, 1e-5)),
    ("native_batch_norm", (_meta(2, 8), _meta(8), _meta(8), _meta(8), _meta(8), False, 0.1, 1e-5)),
    (
        "native_batch_norm",
        (_meta(2, 8, 4, 4, dtype=torch.float16), *[_meta(8, dtype=torch.float16)] * 4, True, 0.1, 1e-5),
    ),
]


@pytest.mark.parametrize(("name", "args"), SHORTCUT_CASES, ids=[c[0] for c in SHORTCUT_CASES])
def test_meta_shortcuts_equal_torchs_own_meta_kernels(name, args):
    """The results made without a kernel (to spare the import of torch._dynamo) are exactly what
    the op's own meta kernel gives: shapes, dtypes, strides, and in-place ops return their input."""
    from vgg_inspect.runtime.arguments import AtenArgs
    from vgg_inspect.runtime.meta_results import meta_result as _meta_shortcut

    packet = getattr(torch.ops.aten, name)
    if "default" in packet.overloads():  # as the recorder gives them: readable by the schema's names
        args = AtenArgs.of(packet.default, args)
    mine = _meta_shortcut(name, args, None)
    theirs = getattr(torch.ops.aten, name)(*args)
    assert mine is not None
    mine, theirs = (v if isinstance(v, tuple) else (v,) for v in (mine, theirs))
    assert [(t.shape, t.dtype, t.stride()) for t in mine] == [(t.shape, t.dtype, t.stride()) for t in theirs]
    if name.endswith("_"):
        assert mine[0] is args[0]


@pytest.mark.parametrize(
    ("name", "args"),
    [("mm", (_meta(3, 5), _meta(4, 7))), ("addmm", (_meta(6), _meta(3, 5), _meta(5, 7))),
     ("native_batch_norm", (_meta(2, 8), _meta(9), None, None, None, True, 0.1, 1e-5)),
     ("relu", (torch.empty(3),)), ("relu", (_meta(2, 8, 5, 5).permute(0, 2, 3, 1),)),
     ("mul", (_meta(3), _meta(3, dtype=torch.float64))), ("mul", (_meta(4, 1, 3), _meta(5, 1))),
     ("div_", (_meta(4, 16), _meta(4, 1, 16))), ("addmm", (_meta(2, 7), _meta(3, 5), _meta(5, 7)))],
)  # fmt: skip
def test_meta_shortcuts_leave_what_does_not_fit_to_the_kernel(name, args):
    from vgg_inspect.runtime.meta_results import meta_result as _meta_shortcut

    assert _meta_shortcut(name, args, None) is None


WINDOWS = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))


@settings(max_examples=150, deadline=None)
@given(
    op=st.sampled_from(["convolution", "max_pool2d_with_indices", "max_pool2d", "avg_pool2d", "_adaptive_avg_pool2d"]),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    window=WINDOWS,
    ceil=st.booleans(),
    groups=st.sampled_from([1, 2]),
    bias=st.booleans(),
    out=st.tuples(st.integers(1, 5), st.integers(1, 5)),
)
def test_windowed_shortcuts_equal_torchs_meta_kernels_or_step_aside(op, size, window, ceil, groups, bias, out):
    """Over random geometry, a convolution's or pool's shortcut gives exactly what the meta kernel
    gives, and where the kernel refuses the arguments, the shortcut steps aside (None)."""
    from vgg_inspect.runtime.meta_results import meta_result as _meta_shortcut

    k, s, p, d = window
    x = _meta(2, 4, *size)
    args = {
        "convolution": (x, _meta(6, 4 // groups, k, k + 1), _meta(6) if bias else None, [s, s], [p, p], [d, d], False,
                        [0, 0], groups),
        "max_pool2d_with_indices": (x, [k, k], [s, s], [p, p], [d, d], ceil),
        "max_pool2d": (x, [k, k], [s, s], [p, p], [d, d], ceil),
        "avg_pool2d": (x, [k, k], [s, s], [p, p], ceil, True),
        "_adaptive_avg_pool2d": (x, list(out)),
    }[op]  # fmt: skip
    from vgg_inspect.runtime.arguments import AtenArgs

    mine = _meta_shortcut(op, AtenArgs.of(getattr(torch.ops.aten, op).default, args), None)
    try:
        theirs = getattr(torch.ops.aten, op)(*args)
    except RuntimeError:
        assert mine is None
        return
    if mine is None:  # a case left to the kernel is allowed, but none of the ordinary ones
        assert op != "convolution" and p > k // 2  # torch's own rule for pools: padding at most half the window
        return
    mine, theirs = (v if isinstance(v, tuple) else (v,) for v in (mine, theirs))
    assert [(t.shape, t.dtype, t.stride()) for t in mine] == [(t.shape, t.dtype, t.stride()) for t in theirs]


def test_a_user_model_analysis_never_imports_dynamo():
    """torch._dynamo (0.7 s) and sympy (0.25 s) cost more to import than the analysis; nothing here
    compiles or reasons about symbolic shapes."""
    import subprocess
    import sys

    code = (
        "import sys; from vgg_inspect.cli import cli; "
        # batch 1: BatchNorm1d refuses train mode (an eval run); batch 2: train mode, dropout and all
        f"cli(['summary', {str(MODELS) + ':VGGNet'!r}, '--format', 'json'], standalone_mode=False); "
        f"cli(['summary', {str(MODELS) + ':VGGNet'!r}, '--batch', '2', '--format', 'json'], standalone_mode=False); "
        "assert not {'torch._dynamo', 'sympy'} & set(sys.modules), 'torch._dynamo or sympy was imported'"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


PEER_CASES = [("VGGNetAdaptive", 64, 2), ("TorchvisionCopy", 32, 1), ("AvgPooled", 16, 2), ("Tied", 8, 2),
              ("IndexedPool", 8, 2), ("Branches", 16, 2), ("FunctionalLayers", 16, 2)]  # fmt: skip


@pytest.mark.parametrize(("name", "size", "batch"), PEER_CASES)
def test_peers_run_on_your_model_and_agree_with_its_layers(name, size, batch):
    """FlopCounterMode, fvcore and torchinfo, run for real on the user's own module, each give the
    number reproduced from the operator-level rows (torchinfo without the functional calls it cannot see)."""
    args = ["--input", str(size), "--batch", str(batch), "--compare", "--format", "json"]
    res = CliRunner().invoke(cli, ["flops", f"{MODELS}:{name}", *args])
    assert res.exit_code == 0, res.output
    peers = json.loads(res.output)["peers"]
    assert [(p["status"], p["value"]) for p in peers] == [("agrees", p["reproduced"]) for p in peers], peers


def test_torchinfo_misses_functional_layers_and_the_explanation_says_how_much():
    data = _report(f"{MODELS}:FunctionalLayers", "--input", "16", "--batch", "2")
    rows = {r["module"]: r for r in data["layers"]}
    # Closed forms: the functional 3x3 conv 3->8 at 16x16 and the functional linear 256->10, batch 2.
    conv_macs, fc_macs = 2 * 16 * 16 * 8 * 3 * 9, 2 * 256 * 10
    assert rows["F.conv2d in FunctionalLayers.forward"]["macs"] == conv_macs
    assert rows["F.linear in FunctionalLayers.forward"]["macs"] == fc_macs
    res = CliRunner().invoke(cli, ["flops", f"{MODELS}:FunctionalLayers", "--input", "16", "--batch", "2",
                                   "--peer", "torchinfo", "--format", "json"])  # fmt: skip
    (peer,) = json.loads(res.output)["peers"]
    assert f"the {conv_macs + fc_macs:,} MACs of functional calls are invisible to it" in peer["difference_explained"]
    assert data["totals"]["params"] == sum(p.numel() for p in _model("FunctionalLayers").parameters())


def test_a_peer_that_counts_what_has_no_formula_differs_and_says_why():
    res = CliRunner().invoke(cli, ["flops", f"{MODELS}:LstmHead", "--input", "8", "--batch", "2", "--compare",
                                   "--format", "json"])  # fmt: skip
    peers = {p["tool"].split()[0]: p for p in json.loads(res.output)["peers"]}
    assert peers["torchinfo"]["status"] == "differs"
    assert "no formulas for LSTM (x1)" in peers["torchinfo"]["reason"]
    assert peers["fvcore"]["status"] == "agrees"  # fvcore skips the LSTM too


def test_an_input_sweep_runs_on_your_model():
    res = CliRunner().invoke(cli, ["flops", ADAPTIVE, "--input", "224,32", "--format", "json"])
    assert res.exit_code == 0, res.output
    first, second = json.loads(res.output)["sweep"]
    # VGGNetAdaptive is VGG16 (+ 8,192 BatchNorm1d params, no MACs): the published counts at both sizes.
    assert (first["input"], first["macs"]) == ([1, 3, 224, 224], ref.MACS_224["D"])
    assert (second["input"], second["macs"]) == ([1, 3, 32, 32], ref.MACS_32["D"])


def test_weights_are_checked_against_your_own_module(tmp_path):
    """Missing and unexpected keys as torch's own load_state_dict reports them; a mis-shaped key as
    torch refuses it; `check` exits 1 on a misfit and 0 on the model's own state dict."""
    reference = f"{MODELS}:AvgPooled"
    good = tmp_path / "good.pt"
    torch.save(_model("AvgPooled").state_dict(), good)
    state = _model("AvgPooled").state_dict()
    del state["conv1.bias"]
    state["head.weight"] = torch.zeros(3)
    loose = tmp_path / "loose.pt"
    torch.save(state, loose)
    keys = _model("AvgPooled").load_state_dict(state, strict=False)
    data = _report(reference, "--input", "16", "--weights", str(loose))
    assert (data["weights"]["missing"], data["weights"]["unexpected"]) == (keys.missing_keys, keys.unexpected_keys)
    state = _model("AvgPooled").state_dict()
    state["conv2.weight"] = torch.zeros(4, 8, 3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for conv2\.weight"):
        _model("AvgPooled").load_state_dict(state)
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    data = _report(reference, "--input", "16", "--weights", str(bad))
    assert data["weights"]["misshaped"] == ["conv2.weight: expected 8x8x3x3, got 4x8x3x3"]
    assert data["weights"]["mismatches"] == [{"key": "conv2.weight", "expected": [8, 8, 3, 3], "found": [4, 8, 3, 3]}]
    assert data["weights"]["params"] == sum(v.numel() for v in state.values())  # no BatchNorm here
    runner = CliRunner()
    failed = runner.invoke(cli, ["check", reference, "--input", "16", "--weights", str(bad), "--format", "json"])
    assert failed.exit_code == 1
    outcome = json.loads(failed.stdout)["outcomes"][0]
    assert outcome == {"key": "weights: conv2.weight", "expected": [8, 8, 3, 3], "actual": [4, 8, 3, 3], "ok": False,
                       "change": None, "tolerance": None}  # fmt: skip
    assert runner.invoke(cli, ["check", reference, "--input", "16", "--weights", str(good)]).exit_code == 0


class _FunctionalChain(torch.nn.Module):
    """A forward written with F.conv2d, F.max_pool2d and F.avg_pool2d (no layer modules): in probe
    mode the weights are positive and max-pools average over the same windows, so that every
    structural dependence carries gradient."""

    def __init__(self, layers, channels=2):
        super().__init__()
        self.layers, self.probe = layers, False
        self.weights = torch.nn.ParameterList()
        for kind, k, *_ in layers:
            if kind == "conv":
                self.weights.append(torch.nn.Parameter(torch.full((3, channels, k, k), 1.0 / (channels * k * k))))
                channels = 3

    def forward(self, x):
        F, weights = torch.nn.functional, iter(self.weights)
        for kind, k, s, p, d, ceil in self.layers:
            if kind == "conv":
                x = F.relu(F.conv2d(x, next(weights), stride=s, padding=p, dilation=d))
            elif kind == "max" and not self.probe:
                x = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
            else:
                x = F.avg_pool2d(x, k, s, p, ceil_mode=ceil)
        return x


functional_layer_st = st.tuples(
    st.sampled_from(["conv", "max", "avg"]), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
    st.integers(1, 2), st.booleans(),
).map(lambda t: (t[0], t[1], t[2], min(t[3], t[1] // 2) if t[0] != "conv" else t[3], t[4] if t[0] == "conv" else 1,
                 t[5] and t[0] != "conv"))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(layers=st.lists(functional_layer_st, min_size=1, max_size=5), h=st.integers(16, 64), w=st.integers(16, 64))
def test_functional_fields_equal_gradient_supports(layers, h, w):
    """The receptive field of a forward written with functional calls, traced at operator level,
    against the input-gradient support of the centre unit of a real CPU run (float64)."""
    from hypothesis import assume

    import vgg_inspect

    model = _FunctionalChain(layers).double()
    try:
        with torch.no_grad():
            model(torch.ones(1, 2, h, w, dtype=torch.float64))
    except RuntimeError:
        assume(False)  # torch refuses this input: nothing to compare
    last = vgg_inspect.analyze_module(model, (1, 2, h, w)).layers[-1]
    assert last.field_status == "local"
    model.probe = True
    assert_centre_field(last, model, (1, 2, h, w))


@pytest.mark.parametrize("init", [[], ["--init"]])
def test_a_device_that_cannot_hold_your_model_is_refused_before_allocating(monkeypatch, init):
    from vgg_inspect.runtime import instantiate as build

    monkeypatch.setattr(build, "available_bytes", lambda device: 1000)
    allocations = []
    monkeypatch.setattr(build, "_allocate", lambda *a: allocations.append(a))
    res = CliRunner().invoke(cli, ["params", f"{MODELS}:AvgPooled", "--input", "16", "--device", "cpu", *init])
    assert res.exit_code == 1 and "3,232 B" in res.output and "1,000 B" in res.output, res.output
    assert allocations == []


def test_user_model_device_errors():
    runner = CliRunner()
    res = runner.invoke(cli, ["params", f"{MODELS}:AvgPooled", "--init"])
    assert res.exit_code == 2 and "give a device too" in res.output
    res = runner.invoke(cli, ["params", f"{MODELS}:AvgPooled", "--device", "tpu"])
    assert res.exit_code == 2 and "unknown device 'tpu'" in res.output


def _field(*args):
    res = CliRunner().invoke(cli, ["receptive-field", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["effective_receptive_field"]


@pytest.mark.parametrize("model", ["TorchvisionCopy", "VGGNetAdaptive"])
@pytest.mark.parametrize("layer", ["relu1_1", "conv3_2", "relu3_2", "pool3", "conv5_3", "pool5"])
def test_support_of_your_model_equals_the_built_in_s(model, layer):
    """Your model's field is run whole on CPU (a module hooked, a functional call such as VGGNet's
    F.relu and F.max_pool2d found again by its place; max-pools averaged for the support run); the
    built-in runs a crop with its own rules: the gradients agree pixel for pixel."""
    args = ["--effective", "--mode", "support", "--layer", layer, "--input", "64"]
    mine, built = _field(f"{MODELS}:{model}", *args), _field("vgg16", *args)
    assert {k: v for k, v in mine.items() if k != "module"} == {k: v for k, v in built.items() if k != "module"}
    assert mine["support_box"] == mine["theoretical_box"]


def test_effective_field_of_your_model_is_seeded_and_inside_its_field():
    args = [ADAPTIVE, "--effective", "--input", "48", "--samples", "2"]
    first, again, other = _field(*args), _field(*args), _field(*args, "--seed", "1")
    assert first == again and first["heatmap"] != other["heatmap"]
    assert first["layer"] == "conv5_3"  # the last conv that is a module
    side = first["theoretical_box"][1] - first["theoretical_box"][0] + 1
    assert first["mass_squares"]["50"] <= first["mass_squares"]["90"] <= first["mass_squares"]["99"] <= side


def test_effective_field_of_functional_layers():
    """A conv written as F.conv2d on bare parameters, and the pools after it: their supports are
    their fields, clipped to the image."""
    for layer in ("conv1_1", "pool1", "pool2"):
        field = _field(f"{MODELS}:FunctionalLayers", "--effective", "--mode", "support", "--layer", layer,
                       "--input", "16")  # fmt: skip
        assert field["module"].startswith("F.") and field["support_box"] == field["theoretical_box"], field


def test_effective_field_errors_for_your_model(monkeypatch):
    runner = CliRunner()
    res = runner.invoke(cli, ["receptive-field", ADAPTIVE, "--effective", "--layer", "fc6", "--input", "64"])
    assert res.exit_code == 2 and "fc6 has no single local field" in res.output
    from vgg_inspect.runtime import instantiate as build

    monkeypatch.setattr(build, "available_bytes", lambda device: 1000)
    res = runner.invoke(cli, ["receptive-field", ADAPTIVE, "--effective", "--input", "64"])
    assert res.exit_code == 1 and "empirical field of your model" in res.output and "Traceback" not in res.output


def test_measure_builds_your_model_on_the_device_with_its_own_init(monkeypatch):
    """No GPU here: the real CUDA run is replaced; what reaches it is your model, initialised by
    your code on the device asked for, at the report's dtype."""
    from vgg_inspect import api
    from vgg_inspect.runtime import measure

    seen = {}

    def fake(model, shape, *, train):
        seen.update(type=type(model).__name__, device=str(next(model.parameters()).device), shape=shape,
                    dtype=next(model.parameters()).dtype, nonzero=bool(model.conv1.weight.abs().sum() > 0))  # fmt: skip
        return {"resident_bytes": 1, "max_memory_allocated": 2}

    monkeypatch.setattr(measure, "measure_cuda", fake)
    req = api.Request(f"{MODELS}:AvgPooled", input_size=16, batch=2, device="cpu", dtype="bfloat16")
    api.measure(req, api.analyze_request(req), train=False)
    assert seen == {"type": "AvgPooled", "device": "cpu", "shape": (2, 3, 16, 16), "dtype": torch.bfloat16,
                    "nonzero": True}  # fmt: skip


class _ViewFlatten(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(4 * 6 * 6, 2)

    def forward(self, x):
        x = self.conv(x)
        x = x.view(x.size(0), 4, 36)  # (N, C, H*W): a reshape, not a flatten per sample: no row
        return self.fc(x.view(x.size(0), -1))


def test_a_flatten_in_forward_is_a_row_as_nn_flatten_is():
    """torch.flatten(x, 1) and x.view(n, -1) before the classifier get the row nn.Flatten gets:
    the built-in layout has one, so a hand-written copy lines up with it row for row."""
    import vgg_inspect

    rows = _report(FUNCTIONAL, "--batch", "2")["layers"]
    (flat,) = [r for r in rows if r["kind"] == "flatten"]
    assert (flat["module"], flat["output_shape"], flat["receptive_field"]) == (
        "F.flatten in VGGNet.forward",
        [2, 512 * 7 * 7],
        212,
    )
    rows = vgg_inspect.analyze_module(_ViewFlatten(), (3, 3, 8, 8)).layers
    assert [(r.type, r.output_shape) for r in rows] == [("Conv2d", [3, 4, 6, 6]), ("Flatten", [3, 144]),
                                                        ("Linear", [3, 2])]  # fmt: skip


ORACLE_CASES = [
    ("TorchvisionCopy", 32, 2), ("AvgPooled", 16, 2), ("Tied", 8, 2), ("IndexedPool", 8, 2),
    ("FunctionalLayers", 16, 2), ("make_small", 32, 2), ("Branches", 16, 2), ("VGGNet", 224, 1),
]  # fmt: skip


@pytest.mark.parametrize(("name", "size", "batch"), ORACLE_CASES)
def test_every_hand_written_model_against_independent_counters(name, size, batch):
    """Each model in tests/models against FlopCounterMode (forward, and forward + backward in train
    mode), torch's own parameter count, and the bytes autograd really saves in a CPU run."""
    from torch.utils.flop_counter import FlopCounterMode

    data = _report(f"{MODELS}:{name}", "--input", str(size), "--batch", str(batch))
    totals = data["totals"]
    shape = (batch, 3, size, size)
    model = _model(name)
    assert totals["params"] == sum(p.numel() for p in model.parameters())  # a tied weight is yielded once
    torchinfo = pytest.importorskip("torchinfo")
    stats = torchinfo.summary(_model(name), input_size=shape, device="meta", verbose=0)
    # torchinfo counts a tied weight once per module holding it (Tied shares up's 64x256 weight)
    assert stats.total_params == totals["params"] + (64 * 256 if name == "Tied" else 0)
    meta = _model(name).to_empty(device="meta")
    with FlopCounterMode(display=False) as forward, torch.no_grad():
        meta.eval()(torch.empty(shape, device="meta"))
    assert totals["flops"] == forward.get_total_flops()
    if any("refuses train mode" in w for w in data["warnings"]):  # BatchNorm1d at batch 1: an eval run
        return
    with FlopCounterMode(display=False) as both:
        out = meta.train()(torch.empty(shape, device="meta"))
        (out[0] if isinstance(out, tuple) else out).sum().backward()
    assert totals["train_flops"] == both.get_total_flops()
    assert totals["training_saved_bytes"] == saved_bytes(model, torch.rand(shape))


class _FunctionalNorm(torch.nn.Module):
    """Batch norm called as F.batch_norm with the model's own statistics."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.weight, self.bias = torch.nn.Parameter(torch.ones(8)), torch.nn.Parameter(torch.zeros(8))
        self.register_buffer("mean", torch.zeros(8))
        self.register_buffer("var", torch.ones(8))

    def forward(self, x):
        x = torch.nn.functional.batch_norm(self.conv(x), self.mean, self.var, self.weight, self.bias, self.training)
        return torch.nn.functional.relu(x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_functional_batch_norm_saves_what_a_cpu_run_saves(dtype):
    """CPU keeps batch-norm statistics in the input's dtype (meta kernels use float32): the
    functional row is corrected to CPU's layout as a module row is."""
    import vgg_inspect

    model = _FunctionalNorm().to(dtype)
    report = vgg_inspect.analyze_module(model, (2, 3, 8, 8))  # a CPU module: CPU's layout
    assert report.options.saved_convention == "cpu"
    assert report.totals.training_saved_bytes == saved_bytes(model, torch.rand(2, 3, 8, 8, dtype=dtype))


def test_functional_rows_carry_what_they_save_as_the_built_in_rows_do():
    """Saved-for-backward bytes per row: F.relu keeps its result, F.max_pool2d its input and indices,
    F.adaptive_avg_pool2d its input (saved before it runs, so easily given to the row before)."""
    mine = {r["name"]: r for r in _report(ADAPTIVE, "--batch", "2", "--input", "64")["layers"]}
    built = {r["name"]: r for r in _report("vgg16", "--batch", "2", "--input", "64")["layers"]}
    assert set(mine) - set(built) == {"bn6"}  # the BatchNorm1d VGGNet adds
    assert {n: mine[n]["saved_bytes"] for n in built} == {n: r["saved_bytes"] for n, r in built.items()}
    assert mine["avgpool"]["saved_bytes"] == 2 * 512 * 2 * 2 * 4  # pool5's output, 2x2 at 64 pixels


class _CatHead(torch.nn.Module):
    """An op without formulas (torch.roll) behind a BatchNorm1d: at batch 1 only an eval run is possible."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.fc = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm1d(64), torch.nn.Linear(128, 2)

    def forward(self, x):
        x = self.bn(torch.flatten(self.conv(x), 1))
        return self.fc(torch.cat([x, torch.roll(x, 1, 1)], 1))


def test_saved_bytes_coverage_follows_how_they_were_found():
    """Measured in a train-mode trace, saved bytes count every op, formulas or not (a real CPU run
    agrees); from the rules of an eval-only run they miss the op without formulas, and say so."""
    import vgg_inspect

    measured = vgg_inspect.analyze_module(_CatHead(), (2, 3, 6, 6))
    assert measured.coverage.status["saved_bytes"] == "complete"
    assert measured.coverage.status["inference_memory"] == "partial"
    assert measured.totals.training_saved_bytes == saved_bytes(_CatHead(), torch.rand(2, 3, 6, 6))
    ruled = vgg_inspect.analyze_module(_CatHead(), (1, 3, 6, 6))
    assert ruled.coverage.status["saved_bytes"] == "partial" and ruled.coverage.not_counted == {"aten.roll": 1}


@pytest.mark.parametrize("command", ["flops", "summary"])
def test_a_partial_total_says_so_beside_the_number(command):
    res = CliRunner().invoke(cli, [command, "tests/models/real_code2.py:Volumetric", "--input", "16"],
                             env={"COLUMNS": "120"})  # fmt: skip
    text = " ".join(res.output.split())  # notes wrap at the terminal's width
    assert "MACs: 55,296" in text and "PARTIAL: not counted: Conv3d (x1)" in text
    res = CliRunner().invoke(cli, [command, f"{MODELS}:Shuffled", "--input", "16"], env={"COLUMNS": "120"})
    assert "MACs: 258,048" in " ".join(res.output.split()) and "PARTIAL" not in res.output  # no MACs missing
    res = CliRunner().invoke(cli, [command, "vgg11"], env={"COLUMNS": "120"})
    assert "PARTIAL" not in res.output


def test_explain_recognises_your_vgg16():
    """A hand-written VGG16 with VGG16's exact parameters and MACs gets the circulating figures
    checked against it, with the same verdicts as the built-in; another model does not."""
    mine = json.loads(CliRunner().invoke(cli, ["explain", f"{MODELS}:TorchvisionCopy", "--format", "json"]).output)
    built = json.loads(CliRunner().invoke(cli, ["explain", "vgg16", "--format", "json"]).output)
    assert mine["claims"] == built["claims"] and mine["claims"]
    assert any("has VGG16's 138,357,544 parameters" in w for w in mine["warnings"])
    other = json.loads(CliRunner().invoke(cli, ["explain", ADAPTIVE, "--format", "json"]).output)  # + BatchNorm1d
    assert other["claims"] is None


ODD_IF_LINE = next(i for i, x in enumerate((MODELS.parent / "odd_forwards.py").read_text().splitlines(), 1)
                   if "if y.mean() > 0" in x)  # fmt: skip


@pytest.mark.parametrize(("name", "message"), [
    ("TwoInputs", "missing 1 required positional argument: 'mask' (the forward is called with one tensor of the "
                  "--input shape)"),
    ("DataDependent", f"(odd_forwards.py:{ODD_IF_LINE}): Tensor.item() cannot be called on meta tensors (the forward "
                      "runs once on meta tensors, which have shapes and no data)"),
])  # fmt: skip
def test_forwards_the_trace_cannot_run_say_why(name, message):
    odd = MODELS.parent / "odd_forwards.py"
    res = CliRunner().invoke(cli, ["summary", f"{odd}:{name}", "--input", "8"])
    assert res.exit_code == 1 and message in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_a_dict_output_is_analysed():
    data = _report(f"{MODELS.parent / 'odd_forwards.py'}:ReturnsDict", "--input", "8")
    assert [r["output_shape"] for r in data["layers"]] == [[1, 4, 6, 6]]
