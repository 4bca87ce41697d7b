"""Normalisations other than BatchNorm and LRN: GroupNorm, LayerNorm, InstanceNorm2d.

Conventions: no MACs; ``--include norm`` adds 5 FLOPs per element with an affine transform and 4
without (fvcore's rule for these norms). The receptive field follows the conv and pool geometry: a
norm's statistics (per group, per sample) are not counted as a dependence, as BatchNorm's are not.
"""

from __future__ import annotations

from typing import ClassVar

from ..records import record
from .base import LayerKind, Op, Shape, numel


@record(frozen=True)
class Normalization(Op):
    """``what``: GroupNorm, LayerNorm or InstanceNorm2d; ``affine_size``: elements of its weight (and of
    its bias, where it has one); ``buffer_count``: running statistics kept (InstanceNorm's option)."""

    kind: ClassVar[LayerKind] = LayerKind.GROUP_NORM
    type_name: ClassVar[str] = "Normalization"
    rules_measured: ClassVar[bool] = False
    what: str = "GroupNorm"
    affine_size: int = 0
    bias: bool = True
    buffer_count: int = 0

    def params(self) -> int:
        return self.affine_size * (2 if self.bias else 1)

    def buffers(self) -> int:
        return self.buffer_count

    def buffer_bytes(self, itemsize: int) -> int:
        return (self.buffer_count - 1) * itemsize + 8 if self.buffer_count else 0

    def params_formula(self, in_shape: Shape) -> str | None:
        return (f"2·{self.affine_size}" if self.bias else str(self.affine_size)) if self.affine_size else None

    def extra_flops(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"norm": (5 if self.affine_size else 4) * numel(out_shape)}

    def fvcore_parts(self, in_shape: Shape, out_shape: Shape) -> dict[str, int]:
        return {"macs": 0, "norm": self.extra_flops(in_shape, out_shape)["norm"]}
