"""Which layer the empirical receptive field traces (pure: chosen before any torch work)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import VggInspectError, did_you_mean
from ..ops import LayerKind
from .model import Report

MAX_SAMPLES = 1000


def pick_layer(report: Report, layer: str | None, readable: Sequence[bool]) -> int:
    """The index of ``layer`` (default: the last conv with a local field). ``readable[i]``: row i's
    output can be read in a real run (a built-in's feature layer; any layer of your own model)."""
    if layer is None:
        convs = [i for i, r in enumerate(report.layers)
                 if r.kind == LayerKind.CONV and readable[i] and r.field_status == "local"]  # fmt: skip
        if not convs:
            raise VggInspectError("the model has no conv layer to trace; name a pool layer with {param}", param="layer")
        return convs[-1]
    try:
        row = report.layer(layer)
    except KeyError:
        names = [r.name for r in report.layers]
        raise VggInspectError(f"unknown layer '{layer}'{did_you_mean(layer, names)}", param="layer") from None
    index = report.layers.index(row)
    if row.field_status != "local" or not readable[index]:
        raise VggInspectError(
            f"{row.name} has no single local field (it is {row.field_status}); pick a conv or pool layer", param="layer"
        )
    return index


def check_args(mode: str, seed: int, samples: int) -> None:
    if mode not in ("effective", "support"):
        raise VggInspectError(f"unknown {{param}} '{mode}'; expected effective or support", param="mode")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise VggInspectError(f"{{param}} must be an integer from 1 to {MAX_SAMPLES}, got {samples!r}", param="samples")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise VggInspectError(f"{{param}} must be an integer from 0 to 2^63-1, got {seed!r}", param="seed")
