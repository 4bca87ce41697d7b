"""One table, every bound op (issue 27): each entry is a small model around the op, and every check
runs on every entry against an independent oracle. A new op adds one entry and gets them all:

* forward FLOPs and forward + backward FLOPs against FlopCounterMode on a real CPU run;
* the bytes autograd saves in train mode against saved-tensor hooks on a real CPU run;
* the record's own rules (``rules_measured`` ops only): the closed form's saved bytes, unmeasured,
  against the same real run;
* the analysis imports neither torch._dynamo nor sympy (one fresh interpreter for the table).
"""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import vgg_inspect  # noqa: E402

from .oracles import saved_bytes  # noqa: E402

SHAPE = (2, 3, 8, 8)


class Functional(nn.Module):
    """A conv, then ``fn`` of its output (the ops a forward calls itself)."""

    def __init__(self, fn):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.conv(x))


def conv_then(*layers):
    """A trainable conv first, so the op's input needs a gradient, as inside a VGG."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *layers)


F = torch.nn.functional
OPS = {
    "Conv2d": lambda: conv_then(nn.Conv2d(4, 6, 3, padding=1)),
    "Conv2d dilated, strided": lambda: conv_then(nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2)),
    "Linear": lambda: conv_then(nn.Flatten(), nn.Linear(4 * 8 * 8, 5)),
    "MaxPool2d": lambda: conv_then(nn.MaxPool2d(2)),
    "AvgPool2d": lambda: conv_then(nn.AvgPool2d(2)),
    "AdaptiveAvgPool2d": lambda: conv_then(nn.AdaptiveAvgPool2d(3)),
    "AdaptiveMaxPool2d": lambda: conv_then(nn.AdaptiveMaxPool2d(3)),
    "ReLU": lambda: conv_then(nn.ReLU()),
    "ReLU in place": lambda: conv_then(nn.ReLU(inplace=True)),
    "Dropout": lambda: conv_then(nn.Flatten(), nn.Dropout(0.5)),
    "Dropout2d": lambda: conv_then(nn.Dropout2d(0.5)),
    "BatchNorm2d": lambda: conv_then(nn.BatchNorm2d(4)),
    "LocalResponseNorm": lambda: conv_then(nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0)),
    "Flatten": lambda: conv_then(nn.Flatten()),
    "GroupNorm": lambda: conv_then(nn.GroupNorm(2, 4)),
    "LayerNorm": lambda: conv_then(nn.LayerNorm([4, 8, 8])),
    "InstanceNorm2d": lambda: conv_then(nn.InstanceNorm2d(4, affine=True)),
    "LeakyReLU": lambda: conv_then(nn.LeakyReLU(0.1)),
    "GELU": lambda: conv_then(nn.GELU()),
    "SiLU": lambda: conv_then(nn.SiLU()),
    "Sigmoid": lambda: conv_then(nn.Sigmoid()),
    "Tanh": lambda: conv_then(nn.Tanh()),
    "Hardswish": lambda: conv_then(nn.Hardswish()),
    "ELU": lambda: conv_then(nn.ELU()),
    "PReLU": lambda: conv_then(nn.PReLU()),
    "Softmax": lambda: conv_then(nn.Softmax(dim=1)),
    "LogSoftmax": lambda: conv_then(nn.LogSoftmax(dim=1)),
    "ZeroPad2d": lambda: conv_then(nn.ZeroPad2d(1)),
    "ReflectionPad2d": lambda: conv_then(nn.ReflectionPad2d(1)),
    "ReplicationPad2d": lambda: conv_then(nn.ReplicationPad2d((1, 2, 0, 1))),
    "ConstantPad2d asymmetric": lambda: conv_then(nn.ConstantPad2d((0, 1, 0, 1), 0.0)),
    "Upsample nearest": lambda: conv_then(nn.Upsample(scale_factor=2, mode="nearest")),
    "Upsample to a size": lambda: conv_then(nn.Upsample(size=(12, 10), mode="nearest")),
    "Upsample bilinear": lambda: conv_then(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
    "ConvTranspose2d": lambda: conv_then(nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)),
    "F.max_pool2d": lambda: Functional(lambda y: F.max_pool2d(y, 2)),
    "F.avg_pool2d": lambda: Functional(lambda y: F.avg_pool2d(y, 2)),
    "F.relu": lambda: Functional(F.relu),
    "F.dropout": lambda: Functional(lambda y: F.dropout(y, 0.5, training=True)),
    "add (a skip)": lambda: Functional(lambda y: y + y.sigmoid()),
    "cat": lambda: Functional(lambda y: torch.cat([y, y * 2], 1)),
    "mean (a reduction)": lambda: Functional(lambda y: y.mean((2, 3))),
    "sum of everything": lambda: Functional(lambda y: y * y.sum()),
    "mm (a Gram matrix)": lambda: Functional(lambda y: torch.mm(y.flatten(1), y.flatten(1).t())),
    "ones_like (a constant)": lambda: Functional(lambda y: y * torch.ones_like(y)),
    "new_zeros (a constant)": lambda: Functional(lambda y: y + y.new_zeros(y.shape)),
}


def _flop_counter(model, x, backward):
    with FlopCounterMode(display=False) as counter:
        out = model(x)
        if backward:
            out.float().sum().backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("name", list(OPS))
def test_flops_forward_and_backward_are_flop_counter_modes(name):
    torch.manual_seed(0)
    model, x = OPS[name](), torch.randn(SHAPE)
    report = vgg_inspect.analyze_module(model, SHAPE)
    assert report.coverage.status["macs"] == "complete", report.coverage.not_counted
    assert report.totals.flops == _flop_counter(model.train(), x, backward=False)
    assert report.totals.train_flops == _flop_counter(model.train(), x, backward=True)


@pytest.mark.parametrize("name", list(OPS))
def test_saved_for_backward_is_what_autograd_saves(name):
    torch.manual_seed(0)
    model, x = OPS[name](), torch.randn(SHAPE)
    report = vgg_inspect.analyze_module(model, SHAPE)
    assert report.totals.training_saved_bytes == saved_bytes(model, x)


def _claims_measured_rules(name):
    """The entry is a Sequential (walked, nothing measured) whose every layer is a module whose record
    says ``rules_measured``."""
    from vgg_inspect.runtime.bindings import op_from_module

    model = OPS[name]()
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    return isinstance(model, nn.Sequential) and all(op_from_module(m).rules_measured for m in leaves)


RULED = [n for n in OPS if _claims_measured_rules(n)]


@pytest.mark.parametrize("name", RULED)
def test_measured_rules_equal_a_real_run(name):
    """An op that claims measured rules (``rules_measured``) must have them: a Sequential of such ops
    is walked, not traced, and its saved bytes come from the rules alone."""
    torch.manual_seed(0)
    model, x = OPS[name](), torch.randn(SHAPE)
    report = vgg_inspect.analyze_module(model, SHAPE, execute=False)  # the rules, nothing measured
    assert report.totals.training_saved_bytes == saved_bytes(model, x)


IMPORT_CHECK = """
import sys
sys.path.insert(0, {root!r})
import vgg_inspect
from tests.test_op_suite import OPS, SHAPE
for name in {names!r}:
    vgg_inspect.analyze_module(OPS[name](), SHAPE)
    found = [m for m in ("torch._dynamo", "sympy") if m in sys.modules]
    if found:
        print(name, found)
        break
"""


def _imports(names):
    import pathlib

    root = str(pathlib.Path(__file__).parents[1])
    run = subprocess.run([sys.executable, "-c", IMPORT_CHECK.format(root=root, names=list(names))],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip()


def test_no_op_imports_dynamo_or_sympy():
    """Every op's meta result is made directly or by a cheap kernel: analysing the whole table in a
    fresh interpreter imports neither torch._dynamo nor sympy (0.25 s and more)."""
    found = _imports(OPS)
    assert found == "", f"the first op that imports them: {found}"


def test_every_aten_binding_says_how_its_meta_is_made():
    """A binding naming aten ops gives its meta result (``meta``), keeps its input's shape (made
    generically), or says its kernel's own meta is cheap: nothing is left to chance. The import
    check above holds the claim on the table's ops."""
    from vgg_inspect.runtime import op_table

    silent = [b.op.__name__ + str(b.aten) for b in op_table._BINDINGS
              if b.aten and b.meta is None and not b.same_shape and not b.own_meta_is_cheap]  # fmt: skip
    assert silent == []


def test_bindings_read_aten_arguments_by_name():
    """No binding reads an aten argument by its index (a wrong one reads another argument)."""
    import inspect
    import re

    from vgg_inspect.runtime import bindings, other_bindings

    for module in (bindings, other_bindings):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and ("from_aten" in name or (name.startswith("_") and "aten" in name)):
                assert not re.search(r"\ba\[\d", inspect.getsource(fn)), name
    for b in __import__("vgg_inspect.runtime.op_table", fromlist=["x"])._BINDINGS:
        if b.from_aten is not None and b.from_aten.__name__ == "<lambda>":
            assert not re.search(r"\ba\[\d", inspect.getsource(b.from_aten)), b.op.__name__


def test_a_name_the_schema_lacks_is_an_error_not_an_unknown_row():
    from vgg_inspect.runtime.arguments import AtenArgs

    a = AtenArgs.of(torch.ops.aten.max_pool2d_with_indices.default, (torch.empty(1, 1, 4, 4), [2]))
    assert a["stride"] == [] and a["padding"] == [0, 0] and a["ceil_mode"] is False  # the schema's defaults
    assert a[1] == [2] and len(a) == 2  # still the positional tuple torch calls the kernel with
    with pytest.raises(KeyError, match="not in the op's schema"):
        a["strides"]
    assert a.get("strides", 7) == 7


# Words that are aten names too but name something else where they appear: devices, a kaiming
# gain, argument names read by the schema, a row's label, the --include category.
NOT_OPS = {"cpu", "cuda", "device", "relu", "replace", "dim", "norm", "_version", "__file__", "flatten"}


def test_no_aten_name_outside_the_binding_table():
    """Aten op names are decided in op_table.py, bindings.py and other_bindings.py only: no other
    runtime module has a string that names an aten op (docstrings aside; NOT_OPS say why each is not)."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).parents[1] / "vgg_inspect" / "runtime"
    found = {}
    for path in sorted(root.glob("*.py")):
        if path.name in ("op_table.py", "bindings.py", "other_bindings.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr)}  # fmt: skip
        names = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                 and id(n) not in docs and n.value.isidentifier() and hasattr(torch.ops.aten, n.value)}  # fmt: skip
        if names - NOT_OPS:
            found[path.name] = sorted(names - NOT_OPS)
    assert found == {}
