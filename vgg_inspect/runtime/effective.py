"""The empirical receptive field: gradient of one output unit with respect to the input.

* ``support``: weights positive (1/fan-in), biases zero, BatchNorm the identity, max-pools swapped
  for average pools of the same geometry (a max-pool passes gradient to one element per window,
  so its support would be the argmax pattern, not the field), positive input so every ReLU
  passes. The gradient is then non-zero exactly on the theoretical field, clipped to the image.
* ``effective`` (Luo et al., NeurIPS 2016): torchvision's random initialisation, real ReLUs and
  max-pools, Gaussian inputs; |gradient| averaged over ``samples`` inputs. Reported as the
  smallest centred squares holding 50 / 90 / 99 % of the gradient mass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from . import require

require("torch", "the empirical receptive field (--effective)")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..errors import VggInspectError  # noqa: E402
from ..network import ITEMSIZE, ModelSpec, layer_defs  # noqa: E402
from ..ops.traced import LayerTrace  # noqa: E402
from ..report.model import EffectiveField, LayerRow, Report  # noqa: E402
from .instantiate import ensure_fits, init_weights, instantiate, reset_running_stats  # noqa: E402

MASS_LEVELS = (50, 90, 99)
HEATMAP_CELLS = 32


def _box(values: torch.Tensor) -> list[int] | None:
    ys, xs = torch.nonzero(values, as_tuple=True)
    if ys.numel() == 0:
        return None
    return [int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())]


def _mass_square(mass: torch.Tensor, centre: tuple[float, float], level: float) -> int:
    """Smallest side s of a square centred on ``centre`` (clipped to the image) holding ``level``."""
    h, w = mass.shape
    total = float(mass.sum())
    cum = torch.zeros(h + 1, w + 1, dtype=torch.float64)
    cum[1:, 1:] = mass.double().cumsum(0).cumsum(1)
    cy, cx = centre
    side = 1 if float(cy).is_integer() else 2  # whole pixels: odd sides around a pixel, even around a corner
    while True:
        half = (side - 1) / 2
        y0, y1 = max(0, int(cy - half)), min(h - 1, int(cy + half))
        x0, x1 = max(0, int(cx - half)), min(w - 1, int(cx + half))
        inside = cum[y1 + 1, x1 + 1] - cum[y0, x1 + 1] - cum[y1 + 1, x0] + cum[y0, x0]
        if float(inside) >= level * total - 1e-12 * total or (y0 == 0 and x0 == 0 and y1 == h - 1 and x1 == w - 1):
            return side
        side += 2


def effective_field(
    spec: ModelSpec,
    report: Report,
    index: int,
    *,
    mode: str = "effective",
    seed: int = 0,
    samples: int = 4,
    on_step: Callable[[str], None] | None = None,
) -> EffectiveField:
    """The empirical field of layer ``index`` (a layer of ``features``) of a built-in variant."""
    row = report.layers[index]
    defs = layer_defs(spec)
    if not defs[index].feature:
        raise VggInspectError(f"{row.name} is not a feature layer; pick a conv or pool layer", param="layer")
    step = on_step or (lambda _: None)
    _, channels, h, w = report.input.shape
    unit, centre, theoretical = _geometry(row, (h, w))
    jump = _axes(row.jump)
    # Only the unit's field can carry gradient: run on a crop that holds it, its origin a multiple of
    # the jump so that every layer's grid lines up with the full image's (the result is exact), and
    # the cost no longer depends on the input size.
    origin = [theoretical[0] // jump[0] * jump[0], theoretical[2] // jump[1] * jump[1]]
    kept = [d.op for d in defs][: index + 1]
    crop = [_crop_length(kept, axis, origin[axis], theoretical[2 * axis + 1], (h, w)[axis], unit[axis], jump[axis],
                         channels) for axis in (0, 1)]  # fmt: skip
    local_unit = (unit[0] - origin[0] // jump[0], unit[1] - origin[1] // jump[1])
    model = instantiate(spec, device="cpu", dtype="float32").eval()
    features = nn.Sequential(*list(model.features)[: index + 1])  # the head is never run or initialised
    if mode == "effective":
        torch.manual_seed(seed)
        init_weights(features)
    grad_sum, done = _gradients(features, mode, seed, samples, (1, channels, crop[0], crop[1]), local_unit, step)
    return _result(row, mode, seed, done, unit, centre, theoretical, grad_sum, origin)


def _gradients(
    model: nn.Module,
    mode: str,
    seed: int,
    samples: int,
    shape: tuple[int, int, int, int],
    unit: tuple[int, int],
    step: Callable[[str], None],
    output: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, int]:
    """|d unit / d input| summed over channels and ``samples`` inputs (one positive input in
    support mode, where weights are positive and max-pools average), and how many ran (fewer where
    Ctrl-C stopped it after one at least). ``output`` reads the layer's
    output from a run of ``model`` (default: the model's own output)."""
    if mode == "support":
        model = _positive(model).double()
        samples = 1
    model.requires_grad_(False)  # only the input's gradient is read
    step("model built")
    read = output or (lambda m, x: m(x))
    grad_sum = torch.zeros(shape[2], shape[3], dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    done = 0
    try:
        for i in range(samples):
            x = torch.ones(shape, dtype=torch.float64) if mode == "support" else torch.randn(shape, generator=generator)
            x.requires_grad_(True)
            with _average_pools(mode == "support"):
                out = read(model, x)
            out[0, :, unit[0], unit[1]].sum().backward()
            assert x.grad is not None
            grad_sum += x.grad[0].abs().sum(0).double()
            done += 1
            step(f"sample {i + 1}/{samples} (Ctrl-C keeps the samples done)")
    except KeyboardInterrupt:  # the samples done are a field of their own: keep them
        if not done:
            raise
    return grad_sum, done


def _geometry(row: LayerRow, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[Any, ...], list[int]]:
    """The centre unit, its field's centre in the input, and the field clipped to the image."""
    rf, jump, start = (_axes(getattr(row, k)) for k in ("receptive_field", "jump", "start"))
    unit = ((row.output_shape[2] - 1) // 2, (row.output_shape[3] - 1) // 2)
    centre = tuple(s + u * j for s, u, j in zip(start, unit, jump))
    theoretical: list[int] = []
    for c, r, n in zip(centre, rf, size):
        theoretical += [max(0, math.ceil(c - (r - 1) / 2)), min(n - 1, math.floor(c + (r - 1) / 2))]
    return unit, centre, theoretical


def _result(
    row: LayerRow,
    mode: str,
    seed: int,
    samples: int,
    unit: tuple[int, int],
    centre: tuple[Any, ...],
    theoretical: list[int],
    grad_sum: torch.Tensor,
    origin: list[int],
) -> EffectiveField:
    rf = _axes(row.receptive_field)
    box = _box(grad_sum > 0)
    support = None if box is None else [box[0] + origin[0], box[1] + origin[0], box[2] + origin[1], box[3] + origin[1]]
    local_centre = (centre[0] - origin[0], centre[1] - origin[1])
    field = grad_sum[theoretical[0] - origin[0] : theoretical[1] - origin[0] + 1,
                     theoretical[2] - origin[1] : theoretical[3] - origin[1] + 1]  # fmt: skip
    pooled = torch.nn.functional.adaptive_avg_pool2d(
        field[None, None], (min(field.shape[0], HEATMAP_CELLS), min(field.shape[1], HEATMAP_CELLS))
    )[0, 0]
    peak = float(pooled.max()) or 1.0
    return EffectiveField(
        layer=row.name,
        module=row.module,
        mode=mode,
        seed=seed,
        samples=samples,
        unit=list(unit),
        centre=list(centre),
        theoretical_rf=list(rf),
        theoretical_box=theoretical,
        support_box=support,
        support_matches_theory=support == theoretical,
        mass_squares={str(p): _mass_square(grad_sum, local_centre, p / 100) for p in MASS_LEVELS},
        heatmap=[[round(float(v) / peak, 4) for v in r] for r in pooled],
    )


class _Reached(Exception):
    """Raised by the traced layer's hook: the rest of the model is never run."""

    def __init__(self, output: torch.Tensor) -> None:
        self.output = output


def module_effective_field(
    build: Callable[[], nn.Module],
    report: Report,
    traces: Sequence[LayerTrace],
    index: int,
    *,
    mode: str = "effective",
    seed: int = 0,
    samples: int = 4,
    on_step: Callable[[str], None] | None = None,
) -> EffectiveField:
    """The empirical field of layer ``index`` of your own model, from ``build()`` on CPU (your code,
    your initialisation, seeded). The whole image is run up to the layer (your forward cannot be
    cut into a crop). A module layer is read by a hook; a functional call (F.max_pool2d in forward)
    is found again as the same call of its op family that ``traces`` recorded."""
    row, call = report.layers[index], traces[index].call
    step = on_step or (lambda _: None)
    _, channels, h, w = report.input.shape
    unit, centre, theoretical = _geometry(row, (h, w))
    # What one image keeps for its backward and produces, at the run's precision, and the weights.
    t, batch = report.totals, report.input.shape[0]
    scale = (8 if mode == "support" else 4) / ITEMSIZE[report.input.dtype]
    need = int((t.training_saved_bytes + t.activation_bytes) / batch * scale) + 2 * t.weight_bytes
    ensure_fits(need, torch.device("cpu"), "the empirical field of your model (the whole image, up to the layer)")
    torch.manual_seed(seed)
    model = build().eval()
    grad_sum, done = _gradients(model, mode, seed, samples, (1, channels, h, w), unit, step,
                                output=lambda m, x: _output_at(m, row, call, x))  # fmt: skip
    return _result(row, mode, seed, done, unit, centre, theoretical, grad_sum, [0, 0])


def _output_at(model: nn.Module, row: LayerRow, call: tuple[str, int] | None, x: torch.Tensor) -> torch.Tensor:
    """The output of ``row`` in a forward of ``model`` on ``x``: a module's by a hook that stops the
    forward there; a functional call's found by its place among the calls of its op family."""
    from .bindings import op_family
    from .recorder import EagerMode
    from .tracer import leaves

    found: list[torch.Tensor] = []
    depth = [0]  # inside a leaf module: its own ops are not the forward's calls
    counts: dict[str, int] = {}

    class Find(EagerMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            # The forward runs to its end: stopping it from inside an op leaves the found output's own
            # backward without the tensors it saved (seen with relu).
            out = func(*args, **(kwargs or {}))
            if depth[0] == 0:
                family = op_family(func.overloadpacket.__name__)
                counts[family] = counts.get(family, 0) + 1
                if (family, counts[family]) == call:
                    found.append(out[0] if isinstance(out, (tuple, list)) else out)
            return out

    def reached(_: nn.Module, __: Any, out: Any) -> None:
        raise _Reached(out[0] if isinstance(out, tuple) else out)

    def enter(*_: Any) -> None:
        depth[0] += 1

    def leave(*_: Any) -> None:
        depth[0] -= 1

    handles = []
    if call is None:
        target = dict(model.named_modules()).get(row.module)
        if target is None:
            raise VggInspectError(f"{row.name}: no module '{row.module}' in the model", param="layer")
        handles.append(target.register_forward_hook(reached))
    else:
        for _, m in leaves(model):
            handles += [m.register_forward_pre_hook(enter), m.register_forward_hook(leave)]
    try:
        if call is None:
            model(x)
        else:
            with Find():
                model(x)
    except _Reached as got:
        return got.output
    finally:
        for h in handles:
            h.remove()
    if found:
        return found[0]
    raise VggInspectError(f"{row.name} ({row.module}) was not reached by the forward", param="layer")


def _positive(model: nn.Module) -> nn.Module:
    """Every weight 1/fan-in, biases zero, norms the identity at their reset statistics: with a
    positive input, every ReLU passes and every structural dependence carries gradient."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.dim() >= 2:
                p.fill_(1.0 / p[0].numel())
            else:
                p.fill_(1.0)
    reset_running_stats(model)
    return model


class _average_pools:
    """For the support run only: max-pools average over the same windows (a max-pool passes
    gradient to one element per window, so its support is the argmax pattern, not the field)."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.saved: Any = None

    def __enter__(self) -> None:
        if not self.active:
            return
        functional = torch.nn.functional
        self.saved = functional.max_pool2d

        def as_average(x: torch.Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                       ceil_mode: bool = False, return_indices: bool = False) -> Any:  # fmt: skip
            if dilation not in (1, (1, 1), [1, 1]):
                raise VggInspectError("--mode support cannot average a dilated max-pool; use --mode effective")
            out = functional.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad=True)
            return (out, torch.zeros(out.shape, dtype=torch.int64)) if return_indices else out

        functional.max_pool2d = as_average

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            torch.nn.functional.max_pool2d = self.saved


def _crop_length(ops: list[Any], axis: int, origin: int, last: int, size: int, unit: int, jump: int, c: int) -> int:
    """The shortest crop from ``origin`` that holds pixel ``last`` and gives output ``unit``."""
    needed = unit - origin // jump
    length = last + 1 - origin
    while True:
        shape: tuple[int, ...] = (1, c, length, length)
        try:
            for op in ops:
                shape = op.output_shape(shape)
        except ValueError:
            shape = (1, c, 0, 0)
        if shape[2] > needed or origin + length >= size:
            return min(length, size - origin)
        length += 1


def _axes(v: Any) -> tuple[Any, Any]:
    return (v, v) if not isinstance(v, list) else (v[0], v[1])
