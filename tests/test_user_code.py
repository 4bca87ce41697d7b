"""Your model's code runs inside the tool: it cannot end the tool, write into its output, read its
arguments, or share a sibling module with another model file."""

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.cli import cli

pytest.importorskip("torch")

NET = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        {init}
        self.conv = nn.Conv2d(3, width, 3, padding=1)

    def forward(self, x):
        {forward}
        return self.conv(x)
"""


def model_file(folder, name="m.py", top="", init="pass", forward="pass"):
    path = folder / name
    path.write_text(textwrap.dedent(top) + NET.format(init=init, forward=forward))
    return path


def tool(*args):
    """A process of its own: an exit inside the tool would end it, with the user's code."""
    return subprocess.run([sys.executable, "-m", "vgg_inspect", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "place", [dict(top="import sys\nsys.exit(0)\n"), dict(init="import sys; sys.exit(0)"), dict(forward="exit(3)")]
)
def test_sys_exit_in_the_model_is_an_error_not_a_pass(tmp_path, place):
    path = model_file(tmp_path, **place)
    res = tool("check", f"{path}:Net", "--expect", "params=1")
    assert res.returncode == 1, res
    line = res.stderr.strip()
    assert line.startswith("Error: ") and "sys.exit(" in line and f"{path}:" in line and "Traceback" not in line


def test_sys_exit_through_the_api_raises(tmp_path):
    path = model_file(tmp_path, forward="raise SystemExit('bye')")
    with pytest.raises(vgg_inspect.AnalysisError, match=r"sys.exit\('bye'\)"):
        vgg_inspect.analyze(f"{path}:Net", input_size=8)


def test_prints_go_to_stderr_and_json_stays_valid(tmp_path):
    a = model_file(tmp_path, top="print('importing')\n", init="print('building')", forward="print('forward')")
    res = tool("summary", f"{a}:Net", "--format", "json", "--input", "8")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["params"] == 3 * 9 * 8 + 8
    assert all(word in res.stderr for word in ("importing", "building", "forward"))
    b = model_file(tmp_path, "b.py", init="print('b')")
    res = tool("diff", f"{a}:Net", f"{b}:Net", "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout) and "importing" not in res.stdout


def test_module_level_argparse_sees_no_arguments(tmp_path):
    parses = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=0.1)\n"
    ok = model_file(tmp_path, "ok.py", top=parses + "args = p.parse_args()\n")
    res = tool("params", f"{ok}:Net", "--format", "json")
    assert res.returncode == 0, res.stderr  # vgg-inspect's own arguments are not the model's
    needs = model_file(tmp_path, "needs.py", top=parses + "p.add_argument('--data', required=True)\np.parse_args()\n")
    res = tool("params", f"{needs}:Net")
    assert res.returncode == 1 and "parses the command line when it runs" in res.stderr
    assert f"{needs}:" in res.stderr and "__main__" in res.stderr


def test_each_model_file_imports_its_own_siblings(tmp_path):
    for folder, width in (("a", 8), ("b", 16)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "helpers.py").write_text(f"WIDTH = {width}\n")
        model_file(tmp_path / folder, top="from helpers import WIDTH\n", init="width = WIDTH")
    res = CliRunner().invoke(cli, ["diff", f"{tmp_path}/a/m.py:Net", f"{tmp_path}/b/m.py:Net", "--format", "json"])
    data = json.loads(res.output)
    assert res.exit_code == 1 and not data["diff"]["same"]
    assert data["diff"]["totals"]["params"] == [3 * 9 * 8 + 8, 3 * 9 * 16 + 16]
    params = {side: vgg_inspect.analyze(f"{tmp_path}/{side}/m.py:Net", input_size=8).totals.params for side in "ab"}
    assert params == {"a": 3 * 9 * 8 + 8, "b": 3 * 9 * 16 + 16}  # and again, in the other order's cache


@pytest.mark.parametrize(
    "text, expected",
    [
        ("layers=[64,128]", {"layers": [64, 128]}),
        ("name='a,b',n=3", {"name": "a,b", "n": 3}),
        ('cfg=(64, "M"),d={"x": [1, 2]},bn=TRUE', {"cfg": (64, "M"), "d": {"x": [1, 2]}, "bn": True}),
        ("act=leaky-relu,scale=0.5", {"act": "leaky-relu", "scale": 0.5}),
    ],
)
def test_kwargs_are_python_literals(text, expected):
    from vgg_inspect.runtime.user import parse_kwargs

    assert parse_kwargs(text) == expected


def test_kwargs_list_reaches_the_model(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(
        "from torch import nn\n"
        "def make(layers, name=''):\n"
        "    assert name == 'a,b', name\n"
        "    return nn.Sequential(*[nn.Conv2d(i, o, 3) for i, o in zip([3, *layers], layers)])\n"
    )
    res = CliRunner().invoke(cli, ["params", f"{path}:make", "--kwargs", "layers=[4,6],name='a,b'", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["totals"]["params"] == (3 * 9 * 4 + 4) + (4 * 9 * 6 + 6)
    res = CliRunner().invoke(cli, ["params", f"{path}:make", "--kwargs", "layers=[4,6"])
    assert res.exit_code == 2 and "--kwargs value of layers is not a Python literal" in res.output


def test_every_parameter_and_buffer_is_counted(tmp_path):
    """A scale on the model itself, a normalisation buffer, an auxiliary head forward never calls:
    the totals are what model.parameters() and model.buffers() hold, and the report says where."""
    path = tmp_path / "held.py"
    path.write_text(
        "import torch\nfrom torch import nn\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n        self.scale = nn.Parameter(torch.ones(8))\n"
        "        self.register_buffer('mean', torch.zeros(3))\n        self.aux = nn.Linear(10, 10)\n"
        "        self.bn = nn.BatchNorm2d(8)\n"
        "    def forward(self, x):\n"
        "        return self.conv(x - self.mean.view(1, 3, 1, 1)) * self.scale.view(1, 8, 1, 1)\n"
    )
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("held_oracle", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.Net()
    res = CliRunner().invoke(cli, ["params", f"{path}:Net", "--input", "16", "--format", "json"])
    data = json.loads(res.output)
    assert data["totals"]["params"] == sum(p.numel() for p in net.parameters()) == 224 + 8 + 110 + 16
    assert data["totals"]["buffers"] == sum(b.numel() for b in net.buffers()) == 3 + 17
    assert data["totals"]["weight_bytes"] == 4 * data["totals"]["params"]
    held = {h["owner"]: h for h in data["held"]}
    assert held["aux"]["params"] == 110 and not held["aux"]["called"]
    assert held["bn"]["params"] == 16 and held["bn"]["buffers"] == 17  # never called: weight, bias, stats
    assert held[""]["names"] == ["mean"] and held[""]["called"]  # the model's own buffer, read functionally
    assert "scale" not in held[""]["names"]  # read by the multiply: its row counts it
    assert "no layer row counts are in the totals" in " ".join(data["warnings"])
    assert torch.is_tensor(net.scale)
