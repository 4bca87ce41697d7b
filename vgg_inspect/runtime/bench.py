"""Time a model for real on a device: warm-up, then timed forward passes (or training steps).

CUDA: one pair of CUDA events around each iteration, the device synchronised before reading them;
the peak memory is ``torch.cuda.max_memory_allocated``. CPU: ``time.perf_counter`` around each
iteration at torch's thread count; the peak memory is the tensors held plus the peak of what one
more (untimed) step allocates, from torch.profiler's memory events. Weights are
not initialised by the paper's scheme: they
are filled with 1/fan-in (fast, and no uninitialised memory whose denormals would slow a CPU); the
values do not change a dense kernel's speed. Ctrl-C stops the run with the iterations done so far.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import require

require("torch", "timing a model")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..errors import AnalysisError  # noqa: E402
from ..records import record  # noqa: E402
from .instantiate import TORCH_DTYPES  # noqa: E402


@record
class Timing:
    times: list[float]  # seconds per timed iteration
    peak_memory: int | None  # bytes
    stopped: bool  # Ctrl-C ended it early
    layer_times: dict[str, list[float]]  # module path -> seconds per iteration (--per-layer)


def spec_for_cuda(device: torch.device) -> str | None:
    """The device table's name for this GPU (``DeviceSpec.cuda_name``), None where no part matches."""
    from ..metrics.devices import for_cuda_name

    found = for_cuda_name(torch.cuda.get_device_name(device))
    return found.name if found is not None else None


def float32_math(device: torch.device) -> str:
    """The peak float32 runs at: cuDNN convolutions on a CUDA GPU use TF32 unless told not to
    (``torch.backends.cudnn.allow_tf32``, on by torch's default), and convolutions are VGG's FLOPs."""
    return "tf32" if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else "fp32"


def prepare(module: nn.Module, channels_last: bool, compile_: bool) -> Any:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0 / max(1, p[0].numel()) if p.dim() > 1 else 0.0)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    if compile_:
        try:
            return torch.compile(module)
        except Exception as exc:  # torch.compile refuses before running (a Python it does not support)
            raise AnalysisError(f"torch.compile failed: {str(exc).splitlines()[0]}") from None
    return module


def _layer_hooks(module: nn.Module, sync: Callable[[], None], times: dict[str, list[float]]) -> list[Any]:
    started: dict[str, float] = {}
    handles = []
    for name, child in module.named_modules():
        if name and not any(True for _ in child.children()):

            def pre(_m: nn.Module, _a: Any, name: str = name) -> None:
                sync()
                started[name] = time.perf_counter()

            def post(_m: nn.Module, _a: Any, _o: Any, name: str = name) -> None:
                sync()
                times.setdefault(name, []).append(time.perf_counter() - started[name])

            handles += [child.register_forward_pre_hook(pre), child.register_forward_hook(post)]
    return handles


class CpuClock:
    """perf_counter around each iteration. CPU torch keeps no allocator statistics: the peak is
    taken by one more, untimed, step under torch.profiler's memory events (see ``cpu_peak``)."""

    def sync(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def time(self, step: Callable[[], None]) -> float:
        t0 = time.perf_counter()
        step()
        return time.perf_counter() - t0

    def peak(self) -> int | None:
        return None


class CudaClock:
    """A pair of CUDA events around each iteration, read once the end event has completed (the
    host returns before the GPU finishes); the peak is max_memory_allocated since the reset."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def sync(self) -> None:
        torch.cuda.synchronize(self.device)

    def reset(self) -> None:
        torch.cuda.reset_peak_memory_stats(self.device)

    def time(self, step: Callable[[], None]) -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1000  # milliseconds

    def peak(self) -> int | None:
        return int(torch.cuda.max_memory_allocated(self.device))


def clock_for(device: torch.device) -> CpuClock | CudaClock:
    return CudaClock(device) if device.type == "cuda" else CpuClock()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The profiler's C++ side logs its start and stop on file descriptor 2: not the user's business."""
    sys.stderr.flush()
    saved, sink = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


def cpu_peak(step: Callable[[], None], held: list[torch.Tensor]) -> int:
    """The most bytes of tensors alive at once during ``step``: those ``held`` before it (weights,
    buffers, input, gradients, optimizer state; each storage once) plus the peak of what the step
    allocates, from torch.profiler's allocation events: CPU's counterpart of max_memory_allocated."""
    from torch.profiler import ProfilerActivity, profile

    storages = {t.untyped_storage()._cdata: t.untyped_storage().nbytes() for t in held}
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    live = top = 0
    for _, nbytes in events:
        live += nbytes
        top = max(top, live)
    return int(sum(storages.values()) + top)


def run(
    module: Any,
    x: torch.Tensor,
    clock: CpuClock | CudaClock,
    *,
    train: bool,
    warmup: int,
    iterations: int,
    per_layer: nn.Module | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Timing:
    """``warmup`` untimed and ``iterations`` timed passes of ``module`` on ``x``; with ``per_layer``,
    then a few more with each of its modules timed (apart: the hooks' synchronisation costs time)."""
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-9, momentum=0.9) if train else None

    def step() -> None:
        if optimizer is None:
            with torch.inference_mode():
                module(x)
            return
        optimizer.zero_grad(set_to_none=True)
        out = module(x)
        (out.float().sum() if isinstance(out, torch.Tensor) else sum(o.float().sum() for o in out)).backward()
        optimizer.step()

    if hasattr(module, "train"):
        module.train(train)
    layer_times: dict[str, list[float]] = {}
    times: list[float] = []
    clock.reset()
    stopped = False
    try:
        for i in range(warmup):
            step()
            if on_step:
                on_step(f"warm-up {i + 1}/{warmup}")
        clock.sync()
        for i in range(iterations):
            times.append(clock.time(step))
            if on_step:
                on_step(f"timed {i + 1}/{iterations}")
        if per_layer is not None:
            handles = _layer_hooks(per_layer, clock.sync, layer_times)
            try:
                for _ in range(max(3, min(iterations, 10))):
                    step()
            finally:
                for h in handles:
                    h.remove()
    except KeyboardInterrupt:
        stopped = True
        if not times:
            raise
    except torch.cuda.OutOfMemoryError:
        raise AnalysisError(
            f"out of memory at input {tuple(x.shape)}: the estimate fit, the run did not; try a smaller --batch"
        ) from None
    except Exception as exc:  # the model's own code (ValueError, KeyError, an assert) or a kernel refusing
        raise failed_run(exc, x) from None
    clock.sync()
    peak = clock.peak()
    if peak is None and not stopped:
        # A step starts by freeing the last step's gradients (zero_grad(set_to_none=True)) and makes new
        # ones: free them first, so that they are counted once, among what the step allocates.
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
        state = [v for s in (optimizer.state.values() if optimizer else ()) for v in s.values() if torch.is_tensor(v)]
        peak = cpu_peak(step, [*module.parameters(), *module.buffers(), x, *state])
    return Timing(times, peak, stopped, layer_times)


def failed_run(exc: BaseException, x: torch.Tensor) -> AnalysisError:
    """One line: what failed, in which line of the model's code, and what to do where it is known."""
    from .. import errors
    from .tracer import own_line

    hint = ""
    if "more than 1 value per channel when training" in str(exc):
        hint = (f"; BatchNorm cannot train on one value per channel (input {tuple(x.shape)}): a larger --batch "
                "or --input, or time inference without --train")  # fmt: skip
    return errors.code_failed(f"the run failed{own_line(exc)}: {type(exc).__name__}: {errors.first_line(exc)}{hint}",
                              exc)  # fmt: skip


def release(device: torch.device) -> None:
    """Give the cached blocks of a finished model back, so the next dtype's estimate meets free memory."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def make_input(shape: tuple[int, ...], dtype: str, device: torch.device, channels_last: bool) -> torch.Tensor:
    x = torch.full(shape, 0.5, dtype=TORCH_DTYPES[dtype], device=device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def summary(times: list[float]) -> tuple[float, float]:
    """Median and 90th percentile (nearest rank) of the iteration times."""
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, max(0, -(-9 * len(ordered) // 10) - 1))]
    return statistics.median(ordered), p90


def threads() -> int:
    return int(torch.get_num_threads())


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    from .peaks import _cpu_model

    return _cpu_model() or "CPU"
