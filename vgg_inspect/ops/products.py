"""A product of two activations (a Gram matrix in a style loss, an attention map): MACs, but no
weight: it is not a weight layer, and its backward computes the gradient of each operand that
needs one (the trace says which, operand by operand)."""

from __future__ import annotations

from typing import ClassVar

from ..records import record
from .base import Axis, Convention, Geometry, LayerKind, Op, Saved, Shape, numel


@record(frozen=True)
class MatMul(Op):
    """``a @ b`` with ``a`` (…, M, K) and ``b`` (…, K, N); ``bias``: a tensor added (addmm)."""

    kind: ClassVar[LayerKind] = LayerKind.OTHER
    type_name: ClassVar[str] = "matmul"
    rules_measured: ClassVar[bool] = False  # saved tensors are traced, not ruled
    m: int = 1
    k: int = 1
    n: int = 1
    batch: int = 1  # bmm's leading dimension
    bias: bool = False

    def output_shape(self, shape: Shape) -> Shape:
        return (self.batch, self.m, self.n) if self.batch > 1 else (self.m, self.n)

    def macs(self, in_shape: Shape, out_shape: Shape) -> int:
        return self.batch * self.m * self.k * self.n

    def backward_macs(
        self, in_shape: Shape, out_shape: Shape, needs_input_grad: bool, needs_weight_grad: bool = True
    ) -> int:
        # the gradient of a is g @ b^T, of b a^T @ g: each the forward's MACs. "input" is the first
        # operand, "weight" the second.
        return self.macs(in_shape, out_shape) * (int(needs_input_grad) + int(needs_weight_grad))

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"elementwise": numel(out_shape)} if self.bias else {}

    def saved(self, in_shape: Shape, out_shape: Shape, itemsize: int, convention: Convention) -> tuple[Saved, ...]:
        return (Saved("input"), Saved("new", self.batch * self.k * self.n * itemsize))

    def geometry(self, in_shape: Shape) -> Geometry:
        return (Axis.GLOBAL, Axis.GLOBAL)
