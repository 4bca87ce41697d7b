"""A new op is two pieces: its record (formulas, pure) and its binding to torch. Both are written
here, in the test file, and the tool then gives the op rows with formulas, as a built-in op."""

from __future__ import annotations

from typing import ClassVar

import pytest

import vgg_inspect
from vgg_inspect.ops import LayerKind, Op, Saved, Shape, numel
from vgg_inspect.records import record

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
bindings = pytest.importorskip("vgg_inspect.runtime.bindings")


class ChannelScale(nn.Module):
    """A layer the tool has never heard of: one learned scale per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x):
        return x * self.weight[:, None, None]


@record(frozen=True)
class Scale(Op):
    kind: ClassVar[LayerKind] = LayerKind.NORM
    type_name: ClassVar[str] = "ChannelScale"
    channels: int = 1

    def params(self) -> int:
        return self.channels

    def params_formula(self, in_shape: Shape) -> str:
        return f"{self.channels}"

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"norm": numel(out_shape)}

    def saved(self, in_shape, out_shape, itemsize, convention):
        return (Saved("input"),)


@record(frozen=True)
class HardSwish(Op):
    kind: ClassVar[LayerKind] = LayerKind.RELU
    type_name: ClassVar[str] = "HardSwish"

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"relu": 4 * numel(out_shape)}  # add, clamp, multiply, divide


SCALE = bindings.Binding(
    Scale,
    (ChannelScale,),
    from_module=lambda m: Scale(int(m.weight.shape[0])),
    to_module=lambda op, dtype: ChannelScale(op.channels),
)
HARDSWISH = bindings.Binding(HardSwish, aten=("hardswish", "hardswish_"), from_aten=lambda args: HardSwish())


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return F.max_pool2d(F.hardswish(self.conv(x)), 2)


def _chain() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), ChannelScale(8), nn.ReLU(), nn.MaxPool2d(2)).to("meta")


def test_a_module_op_bound_from_a_test_file_gets_rows_with_formulas():
    before = vgg_inspect.analyze_module(_chain(), (2, 3, 16, 16))
    # unbound, a layer of your own is traced inside: its multiply is a row, its weight counted there
    assert [r.module for r in before.layers][1] == "F.mul in ChannelScale.forward"
    assert before.layers[1].params == 8 and not before.coverage.not_counted
    with bindings.registered(SCALE):
        report = vgg_inspect.analyze_module(_chain(), (2, 3, 16, 16))
        assert bindings.module_from_op(Scale(8), torch.float32).weight.shape == (8,)  # rebuilt from the record
    row = report.layer("1")
    assert (row.type, row.kind, row.params, row.params_formula) == ("ChannelScale", "norm", 8, "8")
    assert report.coverage.status["macs"] == "complete" and not report.coverage.not_counted
    assert report.totals.params == 3 * 3 * 3 * 8 + 8 + 8
    # its formula reaches the totals: one norm FLOP per output element under --include norm
    normed = vgg_inspect.analyze_module(_chain(), (2, 3, 16, 16), include="norm")
    assert normed.totals.flops == before.totals.flops  # unbound again: nothing counted for it
    with bindings.registered(SCALE):
        normed = vgg_inspect.analyze_module(_chain(), (2, 3, 16, 16), include="norm")
    assert normed.totals.flops - report.totals.flops == 2 * 8 * 16 * 16
    # the field passes through it, as through any point-wise layer: pool after conv is 4 wide
    assert report.layer("3").receptive_field == 4


def test_an_aten_op_bound_from_a_test_file_names_functional_calls():
    model = Functional().to("meta")
    before = vgg_inspect.analyze_module(model, (1, 3, 16, 16))
    # unbound, hardswish is known as a pointwise activation (torch leaves it untagged: the short list)
    assert (before.layers[1].type, before.layers[1].name, before.layers[1].macs) == ("Pointwise", "act1_1", 0)
    with bindings.registered(HARDSWISH):
        report = vgg_inspect.analyze_module(model, (1, 3, 16, 16), include="relu")
    names = [r.name for r in report.layers]
    assert names == ["conv1_1", "relu1_1", "pool1"]  # a VGG-shaped chain again: paper names
    row = report.layer("relu1_1")
    assert (row.module, row.type) == ("F.hardswish in Functional.forward", "HardSwish")
    assert report.coverage.status["macs"] == "complete" and report.coverage.status["receptive_field"] == "complete"
    assert report.layer("pool1").receptive_field == 4
    assert report.totals.flops == 2 * report.totals.macs + 4 * 8 * 16 * 16


def test_an_op_is_bound_once():
    with pytest.raises(ValueError, match="already bound: Conv2d"):
        bindings.register(bindings.Binding(Scale, (nn.Conv2d,)))
    assert bindings.op_from_module(nn.Conv2d(1, 1, 1)).type_name == "Conv2d"
