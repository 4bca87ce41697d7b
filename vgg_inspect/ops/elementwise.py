"""Operators that compute per element or along one dimension, as torch classifies them: pointwise
ops (its ``Tag.pointwise``: activations, arithmetic, copies), softmaxes and reductions.

Conventions (README, "Counting rules"): none has MACs. ``--include elementwise`` adds 1 FLOP per
output element of a pointwise op (0 for a copy), 1 per input element of a reduction and 3 per
element of a softmax (exp, sum, normalise). A pointwise op keeps the receptive field (of several
inputs, their union); a softmax or reduction over channels keeps it, one over a spatial axis sees
that whole axis.
"""

from __future__ import annotations

from typing import ClassVar

from ..records import record
from .base import Axis, AxisOp, Geometry, LayerKind, Op, Shape, numel


@record(frozen=True)
class Pointwise(Op):
    """One elementwise op (``name``: torch's, e.g. gelu or mul); a module's own parameters (PReLU's
    slopes) are counted from the module. Its binding says whether it is an activation (named
    act1_1... after the layer it follows) or arithmetic written in a forward, and whether it only
    copies (no FLOP)."""

    type_name: ClassVar[str] = "Pointwise"
    rules_measured: ClassVar[bool] = False
    name: str = "add"
    activation: bool = False
    copy: bool = False

    @property
    def kind(self) -> LayerKind:  # type: ignore[override]
        return LayerKind.ACTIVATION if self.activation else LayerKind.POINTWISE

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"elementwise": 0 if self.copy else numel(out_shape)}


def _axis_dims(dims: tuple[int, ...], rank: int) -> set[int]:
    return {d % rank for d in dims} if dims else set(range(rank))


def _along(dims: set[int], rank: int) -> Geometry:
    """A spatial axis reduced is seen whole; channels (or anything after a flatten) keep the field."""
    if rank != 4:
        return (Axis.POINT, Axis.POINT)
    axes: list[AxisOp] = [Axis.GLOBAL if d in dims else Axis.POINT for d in (2, 3)]
    return axes[0], axes[1]


@record(frozen=True)
class Softmax(Op):
    """``softmax`` / ``log_softmax`` along ``dim`` (the paper's last layer, "soft-max")."""

    kind: ClassVar[LayerKind] = LayerKind.ACTIVATION
    type_name: ClassVar[str] = "Softmax"
    rules_measured: ClassVar[bool] = False
    dim: int = 1
    log: bool = False

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"elementwise": 3 * numel(out_shape)}

    def geometry(self, in_shape: Shape) -> Geometry:
        return _along(_axis_dims((self.dim,), len(in_shape)), len(in_shape))


@record(frozen=True)
class Reduction(Op):
    """A reduction torch tags as one (sum, mean, amax, a norm) over ``dims`` (empty: all)."""

    kind: ClassVar[LayerKind] = LayerKind.POINTWISE
    type_name: ClassVar[str] = "Reduction"
    rules_measured: ClassVar[bool] = False
    name: str = "sum"
    dims: tuple[int, ...] = ()
    keepdim: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        reduced = _axis_dims(self.dims, len(shape))
        if self.keepdim:
            return tuple(1 if i in reduced else n for i, n in enumerate(shape))
        return tuple(n for i, n in enumerate(shape) if i not in reduced)

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"elementwise": numel(in_shape)}

    def geometry(self, in_shape: Shape) -> Geometry:
        reduced = _axis_dims(self.dims, len(in_shape))
        if len(in_shape) == 4 and not self.keepdim and reduced & {2, 3} != {2, 3} and reduced - {1}:
            return (Axis.UNKNOWN, Axis.UNKNOWN)  # a spatial axis dropped: the rows after it lose their grid
        return _along(reduced, len(in_shape))


@record(frozen=True)
class Constant(Op):
    """A tensor made from no pixel (``zeros_like``, ``ones_like``, ``full_like``, ``new_zeros``...):
    no FLOPs, nothing saved, and no receptive field: a merge with it keeps the other maps' field."""

    kind: ClassVar[LayerKind] = LayerKind.POINTWISE
    type_name: ClassVar[str] = "constant"
    rules_measured: ClassVar[bool] = True  # saves nothing, no workspace (tests/test_real_code2.py)
    name: str = "zeros_like"

    def geometry(self, in_shape: Shape) -> Geometry:
        return "constant"
