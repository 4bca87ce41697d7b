"""Independent measurements on real modules, written without the tool's rules (tests only).

* ``saved_bytes``: a real CPU forward in train mode; every tensor autograd saves is counted once
  by storage, parameters and buffers left out.
* ``inference_bytes``: a real CPU forward without autograd under the profiler; the allocator's
  memory events give the peak beside the weights, buffers and input held before the call.
* ``gradient_supports``: which input pixels each output unit depends on, from input gradients.
* ``assert_centre_field``: a row's receptive field against the gradient support of its centre unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch


def saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    state = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    seen: dict[int, int] = {}
    held = []  # keeps saved storages alive so that no address is reused during the forward

    def pack(t: torch.Tensor) -> None:
        s = t.untyped_storage()
        if s.data_ptr() not in state:
            seen[s.data_ptr()] = s.nbytes()
            held.append(s)
        # Returning None, not t: a pack hook that returns the tensor makes a reference cycle.

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda _: None):
        model.train()(x)
    held.clear()
    return sum(seen.values())


def inference_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Weights + buffers + input + the peak of what the forward allocates (profiler events)."""
    from torch.profiler import ProfilerActivity, profile

    held = sum(t.untyped_storage().nbytes() for t in [*model.parameters(), *model.buffers(), x])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof, torch.no_grad():
        model.eval()(x)
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return held + peak


def positive_probe(modules: list[torch.nn.Module]) -> torch.nn.Sequential:
    """The same geometry with positive weights and average pools: every structural dependence
    carries gradient (a max-pool passes it to one element per window)."""
    nn = torch.nn
    out = []
    for m in modules:
        if isinstance(m, nn.MaxPool2d):
            m = nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
        out.append(m)
    return nn.Sequential(*out).double()


def gradient_supports(model: torch.nn.Module, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(support of each output unit over the input pixels, shape units x H x W; the output).
    A unit is one spatial position (all channels), or one feature of a flat output."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    flat = out[0].sum(0).reshape(-1) if out.dim() == 4 else out[0].reshape(-1)
    # One batched backward: row i of the identity picks unit i.
    eye = torch.eye(flat.numel(), dtype=flat.dtype)
    (grads,) = torch.autograd.grad(flat, x, grad_outputs=eye, is_grads_batched=True)
    return grads[:, 0].abs().sum(1) > 0, out


def assert_centre_field(row: Any, probe: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...]) -> None:
    """The field the report gives ``row`` (size, jump, start) against the input-gradient support
    of the centre unit of ``probe`` (the same geometry, positive weights, average pools) in float64."""
    h, w = shape[2], shape[3]
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    out = probe(x)
    uy, ux = (out.shape[2] - 1) // 2, (out.shape[3] - 1) // 2
    out[0, :, uy, ux].sum().backward()
    assert x.grad is not None
    ys, xs = torch.nonzero(x.grad[0].sum(0), as_tuple=True)
    rf, jump, start = ([v, v] if not isinstance(v, list) else v for v in (row.receptive_field, row.jump, row.start))
    box: list[int] = []
    for c, r in ((start[0] + uy * jump[0], rf[0]), (start[1] + ux * jump[1], rf[1])):
        box += [math.ceil(c - (r - 1) / 2), math.floor(c + (r - 1) / 2)]
    inside = box[0] >= 0 and box[2] >= 0 and box[1] < h and box[3] < w
    if ys.numel() == 0:
        # An empty support is legitimate: a unit whose whole field lies in the padding (or in the
        # holes of a dilated/strided stack) sees no pixel. Its span then cannot be inside the image.
        assert not inside
        return
    support = [int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())]
    if inside:  # the field's span: its extreme taps always reach the input
        assert support == box
    else:  # clipped: a dilated or strided kernel's holes may leave the clipped edge unseen
        clipped = [max(0, box[0]), min(h - 1, box[1]), max(0, box[2]), min(w - 1, box[3])]
        assert clipped[0] <= support[0] <= support[1] <= clipped[1]
        assert clipped[2] <= support[2] <= support[3] <= clipped[3]
