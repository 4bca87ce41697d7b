"""This machine's CPU peaks, measured rather than assumed: a large matmul and a large convolution at
the dtype for FLOP/s (the faster counts), a large copy for bandwidth. Cached per machine, dtype,
thread count and torch version in the user's cache folder (``$XDG_CACHE_HOME/vgg-inspect``, else
``~/.cache/vgg-inspect``); ``refresh`` measures again. ``--device-spec cpu`` and ``bench --device
cpu`` read them."""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

from . import require

require("torch", "measuring this CPU's peaks")
import torch  # noqa: E402

from ..metrics.devices import DeviceSpec, math_mode  # noqa: E402
from .instantiate import TORCH_DTYPES  # noqa: E402

MATMUL_N = 2048  # 17 GFLOP a product: long enough to time, short enough for 2 cores
CONV_SHAPE, CONV_WEIGHT = (4, 256, 56, 56), (256, 256, 3, 3)  # conv3_2 of VGG16 at batch 4
COPY_BYTES = 256 * 2**20  # well beyond the caches
SECONDS = 0.3  # each measurement runs at least this long, best repeat kept


def cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vgg-inspect", "cpu-peaks.json")


def _machine_key(dtype: str) -> str:
    return f"{platform.machine()}|{platform.processor() or _cpu_model()}|{torch.get_num_threads()} threads|" \
           f"torch {torch.__version__}|{dtype}"  # fmt: skip


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        return ""


def _best(run: Any) -> float:
    """The shortest time of one call, repeated for at least SECONDS after a warm-up."""
    run()
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(dtype: str) -> dict[str, float]:
    """FLOP/s at ``dtype``: the faster of an N x N matmul and a VGG-sized 3x3 convolution (BLAS and
    oneDNN differ by 2x on some CPUs: MKL takes a slower path on AMD's); bytes/s of a large copy
    (read + write counted)."""
    kind = TORCH_DTYPES[dtype]
    a, b = torch.randn(MATMUL_N, MATMUL_N).to(kind), torch.randn(MATMUL_N, MATMUL_N).to(kind)
    x, w = torch.randn(CONV_SHAPE).to(kind), torch.randn(CONV_WEIGHT).to(kind)
    conv_flops = 2 * CONV_WEIGHT[0] * CONV_WEIGHT[1] * 9 * CONV_SHAPE[0] * CONV_SHAPE[2] * CONV_SHAPE[3]
    flops = max(
        2 * MATMUL_N**3 / _best(lambda: torch.mm(a, b)),
        conv_flops / _best(lambda: torch.nn.functional.conv2d(x, w, padding=1)),
    )
    src = torch.empty(COPY_BYTES // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    bandwidth = 2 * COPY_BYTES / _best(lambda: dst.copy_(src))
    return {"flops": flops, "bandwidth": bandwidth}


def cpu_peaks(dtype: str, refresh: bool = False) -> dict[str, float]:
    path, key = cache_path(), _machine_key(dtype)
    try:
        with open(path) as fh:
            cache = json.load(fh)
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    if refresh or not isinstance(cache.get(key), dict):
        cache[key] = measure(dtype)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as fh:
                json.dump(cache, fh, indent=1)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: measured again next time
    return {"flops": float(cache[key]["flops"]), "bandwidth": float(cache[key]["bandwidth"])}


def cpu_spec(dtype: str, refresh: bool = False) -> DeviceSpec:
    got = cpu_peaks(dtype, refresh)
    name = _cpu_model() or platform.processor() or "this CPU"
    return DeviceSpec(
        "cpu", f"{name} ({torch.get_num_threads()} threads)", {math_mode(dtype): got["flops"] / 1e12},
        got["bandwidth"] / 1e12, None,
        f"measured here: the faster of a {MATMUL_N}x{MATMUL_N} matmul and a 256->256 3x3 conv at the dtype, and a "
        f"{COPY_BYTES // 2**20} MiB copy (best of {SECONDS} s each; cached in {cache_path()})",
    )  # fmt: skip
