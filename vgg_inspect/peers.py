"""`flops --compare`: run fvcore, torchinfo and FlopCounterMode on the instantiated model and
reproduce each one's number exactly from vgg-inspect's per-layer data.

What each counts (checked on torch 2.13, fvcore 0.1.5, torchinfo 1.8):
* FlopCounterMode: FLOPs = 2 x MACs of conv and matmul ops; nothing else.
* fvcore FlopCountAnalysis: MACs (it calls them flops), plus one per *input* element of
  adaptive_avg_pool2d and 2 per element of batch_norm (eval, affine); max-pool and LRN's
  element-wise ops are unsupported and skipped.
* torchinfo total_mult_adds: per layer, parameters x output positions: MACs, plus one add per
  output element of a biased conv/linear, plus batch x parameters for BatchNorm.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from .ops import numel
from .report import Report

FVCORE_LIMIT_FLOPS = 200 * 10**9  # fvcore runs a real forward on CPU: skip beyond this


def _rule_values(report: Report) -> dict[str, tuple[int, str]]:
    rows = report.layers
    macs = report.totals["macs"]
    bias = sum(r.extra_flops.get("bias", 0) for r in rows)
    avgpool_in = sum(numel(tuple(r.input_shape)) for r in rows if r.kind == "avgpool")
    bn_norm = sum(r.extra_flops.get("norm", 0) for r in rows if r.type == "BatchNorm2d")
    bn_params = sum(r.params for r in rows if r.type == "BatchNorm2d")
    batch = report.input["shape"][0]
    return {
        "torch.utils.flop_counter.FlopCounterMode": (
            2 * macs, "FLOPs = 2 x MACs of conv and matmul; bias, activations, pooling and norms not counted"),
        "fvcore FlopCountAnalysis": (
            macs + avgpool_in + bn_norm,
            f"MACs (called 'flops') {macs:,} + {avgpool_in:,} for adaptive_avg_pool2d (1 per input element)"
            + (f" + {bn_norm:,} for batch_norm (2 per element)" if bn_norm else "")
            + "; max-pool and LRN skipped as unsupported"),
        "torchinfo total_mult_adds": (
            macs + bias + batch * bn_params,
            f"MACs {macs:,} + {bias:,} bias adds (1 per output element of a biased conv/linear)"
            + (f" + {batch * bn_params:,} for BatchNorm (batch x its {bn_params:,} parameters)" if bn_params else "")),
    }


def compare(report: Report, model: Any, meta_model: Any) -> list[dict[str, Any]]:
    """Each peer's own number next to the number reproduced from ``report``'s per-layer data.
    ``model`` is on CPU with real (uninitialised) storage, or None when only meta is possible."""
    import torch

    rules = _rule_values(report)
    shape = tuple(report.input["shape"])
    results: list[dict[str, Any]] = []

    def add(tool: str, run: Any, skip: str | None = None) -> None:
        reproduced, explanation = rules[tool]
        entry: dict[str, Any] = {"tool": tool, "value": None, "reproduced": reproduced,
                                 "convention": explanation.split(";")[0], "difference_explained": explanation}
        if skip:
            entry.update(status="skipped", reason=skip)
        else:
            try:
                entry["value"] = int(run())
                entry["status"] = "agrees" if entry["value"] == reproduced else "differs"
            except Exception as exc:  # a peer failing is reported, not fatal
                entry.update(status="skipped", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        results.append(entry)

    def flop_counter() -> int:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter, torch.no_grad():
            meta_model.eval()(torch.empty(shape, device="meta", dtype=_dtype(meta_model)))
        return counter.get_total_flops()

    def fvcore() -> int:
        from fvcore.nn import FlopCountAnalysis

        logging.getLogger("fvcore").setLevel(logging.ERROR)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model.eval(), torch.zeros(shape, dtype=_dtype(model)))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return analysis.total()

    def torchinfo() -> int:
        import torchinfo as ti

        return ti.summary(meta_model, input_size=shape, device="meta", verbose=0, dtypes=[_dtype(meta_model)]).total_mult_adds

    add("torch.utils.flop_counter.FlopCounterMode", flop_counter)
    fv_skip = None
    if model is None:
        fv_skip = "fvcore traces with torch.jit, which needs real tensors: not possible on the meta device"
    elif 2 * report.totals["macs"] > FVCORE_LIMIT_FLOPS:
        fv_skip = (f"fvcore runs a real forward on CPU ({2 * report.totals['macs'] / 1e9:,.0f} GFLOPs here, "
                   f"limit {FVCORE_LIMIT_FLOPS / 1e9:.0f}); use a smaller --input or --batch")
    add("fvcore FlopCountAnalysis", fvcore, fv_skip)
    add("torchinfo total_mult_adds", torchinfo)
    return results


def _dtype(model: Any) -> Any:
    import torch

    return next((p.dtype for p in model.parameters()), torch.float32)
