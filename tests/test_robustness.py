"""Inputs that broke the tool (issue 19): each a clear error or the right answer, never a traceback."""

import json

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

from . import reference as ref


def run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_expect_needs_a_finite_number(value):
    res = run("check", "vgg16", "--expect", f"macs={value}")
    assert res.exit_code == 2 and f"cannot compare with '{value}'" in res.output and "Traceback" not in res.output


@pytest.fixture
def golden(tmp_path):
    path = tmp_path / "g.json"
    assert run("check", "vgg16", "--write-golden", str(path)).exit_code == 0
    return path


@pytest.mark.parametrize("tolerance", ["nan", "macs=nan", "inf", "macs=inf%"])
def test_tolerance_needs_a_finite_number(golden, tolerance):
    res = run("check", "vgg16", "--baseline", str(golden), "--tolerance", tolerance)
    assert res.exit_code == 2 and "malformed --tolerance" in res.output and "Traceback" not in res.output


def test_a_deeply_nested_baseline_is_an_error(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    res = run("check", "vgg16", "--baseline", str(deep))
    assert res.exit_code == 2 and "nests its JSON too deeply" in res.output


def test_a_tolerance_covers_what_follows_from_its_metric(golden):
    """1000 -> 1100 classes moves params +0.30% and fc MACs +0.33%: within params=0.5% and macs=1%,
    and so are the FLOPs, the MACs by kind and the weight bytes; the memory totals have their own."""
    args = ["check", "vgg16", "--num-classes", "1100", "--baseline", str(golden)]
    moved = 100 * 4096  # fc8's extra weights
    assert ref.PARAMS["vgg16"] + moved + 100 == 138_767_244
    res = run(*args, "--tolerance", "macs=1%,params=0.5%", "--format", "json")
    outcomes = {o["key"]: o for o in json.loads(res.output)["outcomes"]}
    for key in ("params", "weight_bytes", "params_by_kind.fc", "gradient_bytes", "optimizer_state_bytes"):
        assert outcomes[key]["ok"] and outcomes[key]["tolerance"] == "params=0.5%", key
    for key in ("macs", "flops", "train_flops", "macs_by_kind.fc"):
        assert outcomes[key]["ok"] and outcomes[key]["tolerance"] == "macs=1%", key
    assert outcomes["macs_by_kind.conv"]["change"] is None  # unmoved
    for key in ("inference_required_bytes", "training_total_bytes"):  # weights and activations: exact here
        assert not outcomes[key]["ok"] and outcomes[key]["tolerance"] is None
    assert res.exit_code == 1
    res = run(*args, "--tolerance", "macs=1%,params=0.5%,1%")
    assert res.exit_code == 0, res.output
    for rule in ("params=0.5%", "macs=1%", "1%"):
        assert f"ok, within {rule}" in res.output, rule
    res = run(*args, "--tolerance", "params=0.1%,1%")  # an own tolerance wins over the default
    assert res.exit_code == 1 and "FAIL (beyond params=0.1%)" in res.output


def test_analyze_module_execute_is_a_flag():
    torch = pytest.importorskip("torch")
    import vgg_inspect

    with pytest.raises(vgg_inspect.VggInspectError, match="execute must be True, False or None, got 'yes'"):
        vgg_inspect.analyze_module(torch.nn.Conv2d(3, 4, 3), (1, 3, 8, 8), execute="yes")


def test_a_diagram_of_a_model_without_layers(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    model = tmp_path / "m.py"
    model.write_text("from torch import nn\nclass Empty(nn.Module):\n    def forward(self, x):\n        return x\n")
    res = run("diagram", f"{model}:Empty", "--input", "8", "-o", str(tmp_path / "e.png"))
    assert res.exit_code == 1 and "nothing to draw" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "e.png").exists()


def test_checkpoint_errors_are_plain_sentences(tmp_path):
    torch = pytest.importorskip("torch")
    whole, garbage = tmp_path / "whole.pt", tmp_path / "garbage.pt"
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), whole)  # a whole pickled model
    garbage.write_bytes(b"PK\x03\x04garbage" * 10)
    res = run("identify", str(whole))
    assert res.exit_code == 2 and "\\x1b" not in res.output and "\x1b" not in res.output
    assert "holds pickled Python objects" in res.output and "save model.state_dict() instead" in res.output
    res = run("identify", str(garbage))
    line = res.output.strip()
    assert res.exit_code == 2 and line.endswith("failed finding central directory"), line


def test_user_code_error_texts(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "syn.py").write_text("import torch\nclass Net(torch.nn.Module):\n    def f(self)\n        pass\n")
    res = run("params", f"{tmp_path}/syn.py:Net")
    assert res.exit_code == 1 and f"({tmp_path}/syn.py:3): SyntaxError: expected ':';" in res.output
    assert "frozen importlib" not in res.output
    (tmp_path / "needs.py").write_text(
        "from torch import nn\nclass Net(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n"
    )
    res = run("params", f"{tmp_path}/needs.py:Net", "--kwargs", "depth=3")
    assert res.exit_code == 2 and "--kwargs gave depth=3" in res.output and "give them with" not in res.output
    res = run("params", f"{tmp_path}/needs.py:Net")
    assert res.exit_code == 2 and "give them with --kwargs" in res.output
    res = run("params", f"{tmp_path}/needs.py:Net:x")
    assert res.exit_code == 2 and "malformed model" in res.output and "No module named" not in res.output


def test_diff_csv_carries_numbers_and_keeps_the_columns_that_differ():
    import csv
    import io

    res = run("diff", "vgg16", "vgg16_c", "--format", "csv")
    rows = {r["A"]: r for r in csv.DictReader(io.StringIO(res.output))}
    assert rows["conv1_1"]["Params"] == "1792" and rows["conv1_1"]["MACs"] == "86704128"
    assert rows["conv3_3"]["Params"] == "590080→65792" and rows["conv3_3"]["Kernel"] == "3x3→1x1"
    assert rows["conv1_1"]["Channels"] == "3→64"
    for width in ("80", "120"):
        out = CliRunner(env={"COLUMNS": width}).invoke(cli, ["diff", "vgg16", "vgg16_c"]).output
        header = out.splitlines()[2]
        assert "Kernel" in header and "Padding" in header, (width, header)  # the only columns that differ
        assert max(map(len, out.splitlines())) <= int(width)


def test_diff_refuses_weights():
    res = run("diff", "vgg16", "vgg16_c", "--weights", "w.pt")
    assert res.exit_code == 2 and "--weights checks a checkpoint against one model" in res.output


def _at(width, *args):
    res = CliRunner(env={"COLUMNS": str(width)}).invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(map(len, lines)) <= width, max(lines, key=len)
    return res.output


def test_the_paper_tables_split_to_fit_rather_than_wrap():
    out = _at(80, "variants")
    assert "(1 of 2, to fit 80 columns)" in out and "(2 of 2, to fit 80" in out
    headers = [line.split() for line in out.splitlines() if line.strip().startswith("A ") or " D " in line]
    assert any(h[:4] == ["A", "A-LRN", "B", "C"] for h in headers) and any(h[-2:] == ["D", "E"] for h in headers)
    for number in ("143,667,240", "19.63 G"):  # E's parameters and MACs: in the second part, never cut
        assert number in out
    assert "(1 of" not in _at(200, "variants")  # wide enough: one table


def test_headline_tables_fit_80_columns():
    pytest.importorskip("torch")
    out = _at(80, "flops", "vgg16", "--compare")
    assert "FlopCounterMode is torch.utils.flop_counter.FlopCounterMode." in out
    for tool in ("FlopCounterMode", "fvcore", "torchinfo"):
        assert tool in out
    out = _at(80, "list")
    assert "Name" in out and "Params" in out  # no column collapsed to nothing
    out = _at(80, "receptive-field", "vgg11", "--effective", "--input", "64", "--samples", "1")
    assert "99% of gradient mass" in out and "centred square" in out


def test_memory_rows_add_up_to_the_saved_total():
    import csv
    import io

    data = json.loads(run("memory", "vgg16", "--format", "json").output)
    rows = list(csv.DictReader(io.StringIO(run("memory", "vgg16", "--format", "csv").output)))
    assert "relu1_1" not in {r["Layer"] for r in rows}  # hidden, and its bytes are in conv1_1's row
    assert sum(int(r["Saved for backward"]) for r in rows) == data["totals"]["training_saved_bytes"] == 73_355_264
    conv = next(r for r in rows if r["Layer"] == "conv1_1")
    assert int(conv["Saved for backward"]) == 4 * (3 * 224 * 224 + 64 * 224 * 224)  # its input + relu1_1's output
    assert "the rows add up to (4)" in " ".join(run("memory", "vgg16").output.split())


def test_layers_named_by_path_keep_type_and_shape(tmp_path):
    pytest.importorskip("torch")
    model = tmp_path / "blocks.py"
    model.write_text(
        "from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.block1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n"
        "        self.extra = nn.Conv2d(3, 8, 2, stride=2)\n"
        "    def forward(self, x):\n        return self.block1(x) + self.extra(x)\n"
    )
    out = _at(80, "summary", f"{model}:Net", "--input", "16")
    assert "Type" in out and "Output" in out and "MaxPool2d" in out and "1×8×8×8" in out
    out = _at(80, "receptive-field", "--kernel", "7")
    assert "27 vs 49" in out  # the headline column stays at 80 columns


@pytest.mark.parametrize(
    "model, size, pool5, windows",
    [("vgg16", 100, 212, 2), ("vgg11", 64, 150, 2), ("vgg16", 512, 212, 4), ("vgg19", 320, 268, 3)],
)
def test_irregular_fields_follow_the_theoretical_convention(model, size, pool5, windows):
    """An adaptive pool whose windows take up to ``windows`` pool5 units (jump 32): the largest field
    is pool5's plus (windows - 1) jumps, clipped nowhere, like pool5's own (212 at 100 px)."""
    import vgg_inspect

    rows = {r.name: r for r in vgg_inspect.analyze(model, input_size=size).layers}
    assert rows["pool5"].receptive_field == pool5 and rows["pool5"].field_status == "local"
    assert rows["avgpool"].field_status == "irregular"
    assert rows["avgpool"].receptive_field == pool5 + (windows - 1) * 32


def test_a_budget_that_fits_no_image_says_what_one_needs():
    out = " ".join(run("memory", "vgg16", "--budget", "100MiB").output.split())
    assert "largest batch for inference 0" in out
    # batch 1's inference need is weights + the rest: more than the 553,430,176 B of weights alone
    need = json.loads(run("memory", "vgg16", "--format", "json").output)["totals"]["inference_required_bytes"]
    assert need > 553_430_176 and f"Not even one image fits: at batch 1 inference needs {need:,} B" in out
    out = " ".join(run("memory", "vgg16", "--budget", "1GiB").output.split())
    assert "at batch 1 training needs 1,733,645,792 B" in out  # weights, gradients, momentum and saved


@pytest.mark.slow  # a real CPU run at full size: `pytest -m "not slow"` skips it
def test_peers_never_allocate_in_proportion_to_a_huge_input():
    """fvcore and torchinfo make CPU tensors of the input's size: beyond 2 GiB they are skipped with
    the estimate; FlopCounterMode runs on meta. The process stays small (it peaked at 8.1 GiB)."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import subprocess
    import sys

    code = (
        "import json, sys\nfrom click.testing import CliRunner\nfrom vgg_inspect.cli import cli\n"
        "args = ['flops', '--compare', '--config', 'M', '--input', '20000', '--format', 'json']\n"
        "res = CliRunner().invoke(cli, args)\n"
        "hwm = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
        "print(json.dumps([res.exit_code, json.loads(res.output)['peers'], hwm]))\n"
    )  # VmHWM, not ru_maxrss: that is carried over from the parent (pytest, large) across fork and exec
    code_, peers, peak_kib = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                       timeout=300).stdout)  # fmt: skip
    by = {p["tool"].split()[0]: p for p in peers}
    assert code_ == 0 and by["torch.utils.flop_counter.FlopCounterMode"]["status"] == "agrees"
    for tool in ("fvcore", "torchinfo"):
        assert by[tool]["status"] == "skipped" and "GiB of CPU memory" in by[tool]["reason"], by[tool]
    need = 4 * 3 * 20000 * 20000  # the input alone, 4.8 GB: more than the comparison may take
    assert need > 2 * 2**30 and peak_kib * 1024 < 2**30


def test_subtotals_by_block_and_by_module():
    """REFERENCE §2: VGG16's convs hold 14,714,688 parameters, its FC layers 123,642,856."""
    data = json.loads(run("summary", "vgg16", "--by", "block", "--format", "json").output)
    groups = {g["name"]: g for g in data["groups"]}
    assert list(groups) == ["block 1", "block 2", "block 3", "block 4", "block 5", "head"]
    assert sum(groups[f"block {b}"]["params"] for b in range(1, 6)) == 14_714_688
    assert groups["block 5"]["params"] == 3 * (3 * 3 * 512 * 512 + 512)
    assert groups["head"]["params"] == 123_642_856
    assert groups["head"]["macs"] == 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert groups["block 3"]["layers"][0] == "conv3_1" and groups["block 3"]["layers"][-1] == "pool3"
    assert sum(g["macs"] for g in data["groups"]) == data["totals"]["macs"]
    data = json.loads(run("summary", "vgg16", "--depth", "1", "--format", "json").output)
    assert [(g["name"], g["params"]) for g in data["groups"] if g["params"]] == [
        ("features", 14_714_688), ("classifier", 123_642_856)]  # fmt: skip
    lrn = json.loads(run("summary", "vgg11_lrn", "--by", "block", "--format", "json").output)
    assert "lrn1" in lrn["groups"][0]["layers"]
    res = run("summary", "vgg16", "--depth", "0")
    assert res.exit_code == 2 and "--depth must be a whole number from 1" in res.output
    assert "Subtotals by block" in _at(80, "summary", "vgg16_bn", "--by", "block")


def test_every_json_the_tool_writes_validates(tmp_path):
    """A golden file of a model with torch.cat (rows whose input is several tensors) passed the
    tool's own schema check only after the fix; so do the other files it writes."""
    pytest.importorskip("torch")
    import jsonschema

    from vgg_inspect.report.expectations import load_report_file

    model = tmp_path / "cat.py"
    model.write_text(
        "import torch\nfrom torch import nn\nclass Cat(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.a = nn.Conv2d(3, 4, 3, padding=1)\n"
        "    def forward(self, x):\n        return torch.cat([self.a(x), x], 1)\n"
    )
    golden = tmp_path / "g.json"
    assert run("check", f"{model}:Cat", "--input", "8", "--write-golden", str(golden)).exit_code == 0
    load_report_file(str(golden))  # the schema check a later --expect-file runs: no error
    schema = json.loads((__import__("pathlib").Path(__import__("vgg_inspect").__file__).parent
                         / "report" / "schema.json").read_text())  # fmt: skip
    jsonschema.validate(json.loads(golden.read_text()), schema)
    assert run("check", f"{model}:Cat", "--input", "8", "--expect-file", str(golden)).exit_code == 0
