"""`flops --compare`: run FlopCounterMode, fvcore and torchinfo on the instantiated model and
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
from collections.abc import Callable, Sequence

from . import require

require("torch", "comparing with peer tools")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..ops import LayerKind, Op  # noqa: E402
from ..report.model import Peer, Report  # noqa: E402
from .instantiate import TORCH_DTYPES, available_bytes  # noqa: E402

FVCORE_LIMIT_FLOPS = 200 * 10**9  # fvcore runs a real forward on CPU: skip beyond this
FLOP_COUNTER = "torch.utils.flop_counter.FlopCounterMode"
FVCORE = "fvcore FlopCountAnalysis"
TORCHINFO = "torchinfo total_mult_adds"


def _parts(report: Report, ops_: Sequence[Op], functional: list[bool]) -> tuple[dict[str, int], dict[str, int]]:
    """fvcore's and torchinfo's counts by part, each row's as its op's record says (``Op.fvcore_parts``,
    ``Op.torchinfo_parts``). torchinfo sees modules only: a functional row counts there only as a
    layer with parameters inside a module of the model's (a hand-written L2Norm's scale), never the
    model's own parameters."""
    batch = report.input.shape[0]
    root = f" in {report.model.name.rpartition(':')[2]}.forward"  # the model's own parameters: not a leaf's
    weighted = (LayerKind.CONV, LayerKind.FC, LayerKind.RESAMPLE)
    fvcore: dict[str, int] = {}
    torchinfo: dict[str, int] = {}
    for r, op, f in zip(report.layers, ops_, functional):
        shapes = (tuple(r.input_shape), tuple(r.output_shape))
        for part, n in op.fvcore_parts(*shapes).items():
            fvcore[part] = fvcore.get(part, 0) + n
        if not f:
            found = op.torchinfo_parts(*shapes, r.params, batch)
        elif r.kind not in weighted and r.params and not r.module.endswith(root):
            found = {"params": batch * r.params}
        else:
            found = {}
        for part, n in found.items():
            torchinfo[part] = torchinfo.get(part, 0) + n
    return fvcore, torchinfo


def _rule_values(report: Report, ops_: Sequence[Op], functional: list[bool]) -> dict[str, tuple[int, str]]:
    macs = report.totals.macs
    batch = report.input.shape[0]
    fvcore, torchinfo = _parts(report, ops_, functional)
    avgpool_in, bn_norm, upsampled = fvcore.get("avgpool", 0), fvcore.get("norm", 0), fvcore.get("upsampling", 0)
    module_macs, bias = torchinfo.get("macs", 0), torchinfo.get("bias", 0)
    bn_params = torchinfo.get("params", 0) // batch
    unseen = f" of module layers (the {macs - module_macs:,} MACs of functional calls are invisible to it)"
    return {
        FLOP_COUNTER: (
            2 * macs,
            "FLOPs = 2 x MACs of conv and matmul; bias, activations, pooling and norms not counted",
        ),
        FVCORE: (
            sum(fvcore.values()),
            f"MACs (called 'flops') {macs:,}"
            + (f" + {avgpool_in:,} for adaptive_avg_pool2d (1 per input element)" if avgpool_in else "")
            + (f" + {bn_norm:,} for batch_norm (2 per element; group/layer/instance norm 5)" if bn_norm else "")
            + (f" + {upsampled:,} for upsampling (nearest 1, bilinear 4 per output)" if upsampled else "")
            + "; max-pool, avg_pool2d and LRN skipped as unsupported",
        ),
        TORCHINFO: (
            sum(torchinfo.values()),
            f"MACs {module_macs:,}{unseen if module_macs != macs else ''} + {bias:,} bias adds (1 per output "
            "element of a biased conv/linear)"
            + (
                f" + {batch * bn_params:,} for BatchNorm and other layers with parameters (batch x their "
                f"{bn_params:,} parameters)"
                if bn_params
                else ""
            ),
        ),
    }


PEER_MEMORY_BYTES = 2 * 2**30  # what a peer's real CPU run may take: VGG16 at 448 px and batch 4 fit

SHORT = {"flopcounter": FLOP_COUNTER, "fvcore": FVCORE, "torchinfo": TORCHINFO}


def compare(
    report: Report,
    meta_model: nn.Module,
    cpu_model: Callable[[], nn.Module],
    *,
    on_meta: bool,
    only: tuple[str, ...] = (),
    functional: list[bool],
    ops_: Sequence[Op],
    train: bool = False,
    input_requires_grad: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> list[Peer]:
    """Each peer's own number next to the number reproduced from ``report``'s per-layer data.
    ``meta_model`` is the model on meta; fvcore needs real tensors: it runs ``cpu_model()`` (its
    weights uninitialised) unless ``on_meta``, within the memory available. ``functional[i]``: row i
    is an operation the forward calls itself, which torchinfo (modules only) cannot see. ``on_step``
    is told which peer runs; Ctrl-C during a run keeps the peers done and skips the rest, saying so."""
    rules = _rule_values(report, ops_, functional)
    if train:  # the count asked for: forward + backward, where a peer has one
        rules[FLOP_COUNTER] = (
            report.totals.train_flops,
            "FLOPs of forward + backward = 2 x the MACs of conv and matmul in both passes (weight gradients, and "
            "input gradients where the input needs one); bias, activations, pooling and norms not counted",
        )
        for tool in (FVCORE, TORCHINFO):
            reproduced, text = rules[tool]
            rules[tool] = (reproduced, f"forward only (it counts no backward pass): {text}")
    shape = tuple(report.input.shape)
    dtype = report.input.dtype
    results: list[Peer] = []

    wanted = {SHORT[name] for name in only}
    stopped: list[str] = []

    def add(tool: str, run: Callable[[], int], skip: str | None, place: str) -> None:
        reproduced, explanation = rules[tool]
        skip = skip or (f"not run: Ctrl-C stopped the comparison during {stopped[0]}" if stopped else None)
        peer = Peer(tool, None, reproduced, explanation.split(";")[0], explanation, "skipped", skip, tool in wanted)
        if skip is None:
            if on_step:
                on_step(f"running {tool} ({place}; Ctrl-C keeps the peers done)")
            try:
                peer.value = int(run())
                peer.status = "agrees" if peer.value == reproduced else "differs"
                if peer.status == "differs" and report.coverage.not_counted:
                    left_out = ", ".join(f"{n} (x{k})" for n, k in report.coverage.not_counted.items())
                    peer.reason = f"vgg-inspect has no formulas for {left_out}, which this peer may count"
            except KeyboardInterrupt:  # keep what the peers before it gave
                stopped.append(tool)
                peer.reason = "stopped by Ctrl-C"
            except Exception as exc:  # a peer failing is reported, not fatal
                peer.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        results.append(peer)

    def flop_counter() -> int:
        from torch.utils.flop_counter import FlopCounterMode

        x = torch.empty(shape, device="meta", dtype=TORCH_DTYPES[dtype])
        if train:  # a train step's forward and backward, on meta (shapes only, nothing allocated)
            x.requires_grad_(input_requires_grad)
            with FlopCounterMode(display=False) as counter:
                out = meta_model.train()(x)
                out.float().sum().backward()
            return int(counter.get_total_flops())
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            meta_model.eval()(x)
        return int(counter.get_total_flops())

    def fvcore() -> int:
        nn_fvcore = require("fvcore.nn", "the fvcore comparison")
        model = cpu_model().eval()
        logging.getLogger("fvcore").setLevel(logging.ERROR)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            analysis = nn_fvcore.FlopCountAnalysis(model, torch.zeros(shape, dtype=TORCH_DTYPES[dtype]))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return int(analysis.total())

    def torchinfo() -> int:
        ti = require("torchinfo", "the torchinfo comparison")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = ti.summary(meta_model, input_size=shape, device="meta", verbose=0, dtypes=[TORCH_DTYPES[dtype]])
        return int(stats.total_mult_adds)

    plan = [(FLOP_COUNTER, flop_counter, None), (FVCORE, fvcore, _fvcore_skip(report, on_meta)),
            (TORCHINFO, torchinfo, _memory_skip("torchinfo", report))]  # fmt: skip
    plan = [p for p in plan if not wanted or p[0] in wanted]
    for i, (tool, run, skip) in enumerate(plan, 1):
        add(tool, run, skip, f"{i} of {len(plan)}")
    return results


def _fvcore_skip(report: Report, on_meta: bool) -> str | None:
    if on_meta:
        return "fvcore traces with torch.jit, which needs real tensors: not possible on the meta device"
    gflops = 2 * report.totals.macs
    if gflops > FVCORE_LIMIT_FLOPS:
        return (
            f"fvcore runs a real forward on CPU ({gflops / 1e9:,.0f} GFLOPs here, "
            f"limit {FVCORE_LIMIT_FLOPS / 1e9:.0f}); use a smaller --input or --batch"
        )
    return _memory_skip("fvcore", report)


def _memory_skip(tool: str, report: Report) -> str | None:
    """Refuse, before it allocates, a peer run that would take more than PEER_MEMORY_BYTES or what
    is free: fvcore runs the model for real; torchinfo allocates CPU tensors of the batch's size even
    on the meta device. A comparison is no measured run: its memory must not follow the input."""
    need = report.totals.inference_required_bytes
    free = available_bytes(torch.device("cpu"))
    if free is not None and need > free:
        return f"{tool} would need about {need / 2**30:,.2f} GiB of CPU memory; {free / 2**30:,.2f} GiB is available"
    if need > PEER_MEMORY_BYTES:
        return (
            f"{tool} would allocate about {need / 2**30:,.2f} GiB of CPU memory for this input (a comparison takes "
            f"at most {PEER_MEMORY_BYTES / 2**30:.0f} GiB); use a smaller --input or --batch"
        )
    return None
