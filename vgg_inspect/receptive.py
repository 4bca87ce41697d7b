"""Receptive-field algebra (one axis at a time), after Araujo et al. / google-research receptive_field.

For a layer with kernel k, dilation d (span s = d*(k-1)+1), stride t and padding p:

    rf_out    = rf_in + (s - 1) * jump_in
    jump_out  = jump_in * t
    start_out = start_in + ((s - 1) / 2 - p) * jump_in      (centre of the first output unit)
    pad_out   = pad_in + p * jump_in                        (effective padding)

with input-pixel centres at 0, 1, 2, ... so rf = jump = 1, start = pad = 0 at the input.
Point-wise layers (ReLU, BN, LRN across channels, Dropout) leave everything unchanged. A fully
connected layer, or an adaptive pool that is not a plain window, sees the whole input: its
geometry is None and ``covers_input`` is True.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ops import AdaptiveAvgPool2d, Flatten, Linear, Op, Shape, Unknown, Window


@dataclass(frozen=True)
class AxisField:
    rf: int
    jump: int
    start: float
    pad: int

    def through(self, w: Window) -> "AxisField":
        return AxisField(
            rf=self.rf + (w.span - 1) * self.jump,
            jump=self.jump * w.stride,
            start=self.start + ((w.span - 1) / 2 - w.padding) * self.jump,
            pad=self.pad + w.padding * self.jump,
        )


INPUT_FIELD = AxisField(1, 1, 0.0, 0)


def _windows(op: Op, in_shape: Shape) -> tuple[Window, Window] | None | str:
    """Per-axis windows, None for point-wise, "global" when the layer sees everything, or
    "unknown" for a layer without formulas (its geometry cannot be assumed)."""
    if isinstance(op, Unknown):
        return "unknown"
    if isinstance(op, Linear):
        return "global"
    if isinstance(op, Flatten):
        return None
    if isinstance(op, AdaptiveAvgPool2d):
        out = []
        for size, o in zip(in_shape[2:], op.output_size):
            if o is None or o == size:
                out.append(Window(1, 1, 0))
            elif size % o == 0:  # exactly a k x k, stride-k average pool
                out.append(Window(size // o, size // o, 0))
            else:
                return "global"
        return out[0], out[1]
    return op.windows()


@dataclass(frozen=True)
class LayerField:
    h: AxisField | None
    w: AxisField | None
    covers: bool | None  # None: unknown (after a layer without formulas)


def receptive_fields(ops_and_shapes: Sequence[tuple[Op, Shape]], input_hw: tuple[int, int]) -> list[LayerField]:
    """The field of every layer's output units, in input coordinates."""
    h, w = INPUT_FIELD, INPUT_FIELD
    state = "local"  # then "global" (sees everything) or "unknown"; neither changes back
    out: list[LayerField] = []
    for op, in_shape in ops_and_shapes:
        if state == "local":
            win = _windows(op, in_shape)
            if win in ("global", "unknown"):
                state = str(win)
            elif win is not None:
                h, w = h.through(win[0]), w.through(win[1])
        if state != "local":
            out.append(LayerField(None, None, True if state == "global" else None))
        else:
            out.append(LayerField(h, w, h.rf >= input_hw[0] and w.rf >= input_hw[1]))
    return out


def axis_value(h: float | int | None, w: float | int | None) -> float | int | list | None:
    """One number when both axes agree, else [H, W] (the JSON contract's per-axis form)."""
    return h if h == w else [h, w]
