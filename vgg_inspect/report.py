"""The report: plain dataclasses that serialise to the JSON contract (schema_version 1).

Later capabilities add keys; they never rename them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
TOOL_NAME = "vgg-inspect"

AxisValue = int | float | list | None  # a scalar, or [H, W] where the axes differ


@dataclass
class LayerRow:
    name: str  # the paper's name: conv3_2, pool3, lrn1, fc6
    module: str  # module path in torchvision's layout: features.12
    type: str  # the nn.Module class name
    kind: str  # conv | fc | pool | avgpool | relu | norm | lrn | dropout | flatten | other
    input_shape: list[int]
    output_shape: list[int]
    params: int
    trainable_params: int
    buffers: int
    params_formula: str | None
    macs: int | None  # None: no formula for this layer type
    flops: int | None  # 2 x macs, plus any --include'd operations
    train_flops: int | None  # flops + backward (2 x gradient MACs w.r.t. input and weights)
    extra_flops: dict[str, int]  # what each --include category would add (bias, relu, pool, norm)
    activation_bytes: int  # bytes of this layer's output for the dtype and batch
    saved_bytes: int  # bytes autograd keeps for backward first claimed by this layer (train mode)
    receptive_field: AxisValue = None
    jump: AxisValue = None
    start: AxisValue = None
    effective_padding: AxisValue = None
    covers_input: bool | None = None


@dataclass
class Report:
    model: dict[str, Any]
    input: dict[str, Any]
    layers: list[LayerRow]
    totals: dict[str, Any]
    conventions: dict[str, str] = field(default_factory=dict)
    peers: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # command-specific sections (budget, sweeps...)

    def layer(self, key: str) -> LayerRow:
        """A layer by paper name (conv5_3) or module path (features.28)."""
        for row in self.layers:
            if key in (row.name, row.module):
                return row
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": __version__},
            "model": self.model,
            "input": self.input,
            "layers": [dataclasses.asdict(r) for r in self.layers],
            "totals": self.totals,
            "conventions": self.conventions,
        }
        if self.peers is not None:
            out["peers"] = self.peers
        out.update(self.extra)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
