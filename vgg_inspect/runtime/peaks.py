"""This machine's CPU peaks, measured rather than assumed: a matmul and a VGG-sized convolution at
the dtype for FLOP/s (the faster counts), a large copy for bandwidth. Cached per machine, dtype,
thread count and torch version in the user's cache folder (``$XDG_CACHE_HOME/vgg-inspect``, else
``~/.cache/vgg-inspect``) with when, and under what load, each entry was measured; ``refresh``
measures again. ``--device-spec cpu`` and ``bench --device cpu`` read them.

The measurement is bounded in time: a short probe at the dtype sizes the problems so that one
product takes about ``TARGET_SECONDS`` (a CPU without fast float16 units runs a 2048³ float16 matmul
for minutes), and a 16-bit dtype that runs far slower than float32 is said to have no fast path.
A cached entry that is not two positive finite numbers is measured again, and said so."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time
from typing import Any

from . import require

require("torch", "measuring this CPU's peaks")
import torch  # noqa: E402

from ..metrics.devices import DeviceSpec, math_mode  # noqa: E402
from .instantiate import TORCH_DTYPES  # noqa: E402

MATMUL_N = 2048  # the largest product: 17 GFLOP, long enough to time on a fast CPU
PROBE_N = 128  # the probe that sizes the problems: 4 MFLOP, milliseconds even without a fast path
CONV_CHANNELS, CONV_BATCH, CONV_SIDE = 256, 4, 56  # conv3_2 of VGG16 at batch 4, at most
TARGET_SECONDS = 0.1  # one product or convolution takes about this long, at most
COPY_BYTES = 256 * 2**20  # well beyond the caches
SECONDS = 0.3  # each measurement repeats for at least this long, best kept
SLOW_PATH = 0.5  # a 16-bit dtype below this fraction of float32's probe has no fast path here
BUSY_LOAD = 0.5  # one-minute load average per core above which a measurement is called loaded


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


def _say(text: str, progress: bool = False) -> None:
    """A warning on stderr (never into --format json on stdout); ``progress`` (what is being
    measured) only where stderr is a terminal, where someone waits for it."""
    if progress and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return
    print(f"vgg-inspect: {text}", file=sys.stderr, flush=True)


def _best(run: Any) -> float:
    """The shortest time of one call, repeated for at least SECONDS after a warm-up."""
    run()
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def _probe(kind: torch.dtype) -> float:
    """FLOP/s of a small matmul at ``kind``: enough to size the real problems."""
    a = torch.ones(PROBE_N, PROBE_N, dtype=kind)
    torch.mm(a, a)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        torch.mm(a, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * PROBE_N**3 / max(best, 1e-9)


def sizes_for(rate: float) -> tuple[int, int]:
    """(matmul side, convolution side) whose one run takes about TARGET_SECONDS at ``rate`` FLOP/s,
    within (PROBE_N..MATMUL_N, 8..CONV_SIDE)."""
    budget = rate * TARGET_SECONDS
    n = int(min(MATMUL_N, max(PROBE_N, (budget / 2) ** (1 / 3))))
    per_pixel = 2 * CONV_CHANNELS * CONV_CHANNELS * 9 * CONV_BATCH
    side = int(min(CONV_SIDE, max(8, math.sqrt(budget / per_pixel))))
    return n, side


def measure(dtype: str) -> dict[str, Any]:
    """FLOP/s at ``dtype``: the faster of an N x N matmul and a VGG-sized 3x3 convolution (BLAS and
    oneDNN differ by 2x on some CPUs: MKL takes a slower path on AMD's), each sized by a probe;
    bytes/s of a large copy (read + write counted). With when and under what load it ran."""
    kind = TORCH_DTYPES[dtype]
    load = os.getloadavg()[0] / (os.cpu_count() or 1) if hasattr(os, "getloadavg") else None
    rate = _probe(kind)
    n, side = sizes_for(rate)
    _say(f"measuring this CPU's {dtype} peak once (a {n}x{n} matmul, a 256->256 3x3 convolution at {side}x{side}, "
         f"a {COPY_BYTES // 2**20} MiB copy, a few seconds; cached in {cache_path()}; Ctrl-C stops it, and a "
         "dtype measured before stays cached)", progress=True)  # fmt: skip
    note = ""
    if dtype != "float32":
        ratio = rate / _probe(torch.float32)
        if ratio < SLOW_PATH:
            note = f"no fast {dtype} path on this CPU: a matmul runs at {ratio:.2f}x float32's speed"
    a, b = torch.ones(n, n, dtype=kind), torch.ones(n, n, dtype=kind)
    x = torch.ones(CONV_BATCH, CONV_CHANNELS, side, side, dtype=kind)
    w = torch.full((CONV_CHANNELS, CONV_CHANNELS, 3, 3), 1e-3, dtype=kind)
    conv_flops = 2 * CONV_CHANNELS * CONV_CHANNELS * 9 * CONV_BATCH * side * side
    flops = max(
        2 * n**3 / _best(lambda: torch.mm(a, b)),
        conv_flops / _best(lambda: torch.nn.functional.conv2d(x, w, padding=1)),
    )
    src = torch.empty(COPY_BYTES // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    bandwidth = 2 * COPY_BYTES / _best(lambda: dst.copy_(src))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"flops": flops, "bandwidth": bandwidth, "measured_at": when, "load_per_core": load, "matmul_n": n,
            "conv_side": side, "note": note}  # fmt: skip


def problem(entry: Any) -> str | None:
    """Why a cached entry cannot be used (None: it can): two positive finite numbers are needed."""
    if not isinstance(entry, dict):
        return f"not an object: {entry!r}"[:80]
    for key in ("flops", "bandwidth"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{key} is {value!r}"[:80]
        if not (math.isfinite(value) and value > 0):
            return f"{key} is {value!r}"
    return None


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path) as fh:
            cache = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        _say(f"the CPU peak cache {path} cannot be read ({type(exc).__name__}): measuring again")
        return {}
    return cache if isinstance(cache, dict) else {}


def _write(path: str, cache: dict[str, Any]) -> None:
    """Atomically, and never over something that is not a regular file; no temporary file is left."""
    if os.path.lexists(path) and not os.path.isfile(path):
        _say(f"not caching the CPU peaks: {path} is not a regular file (measured again next time)")
        return
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cpu-peaks.", suffix=".tmp", dir=os.path.dirname(path))
        with os.fdopen(fd, "w") as fh:
            json.dump(cache, fh, indent=1)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:  # a read-only home: measured again next time
        _say(f"not caching the CPU peaks in {path} ({exc.strerror or exc}): measured again next time")
    finally:
        if tmp is not None:
            _unlink(tmp)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def cpu_peaks(dtype: str, refresh: bool = False) -> dict[str, Any]:
    """The cached entry for this machine at ``dtype`` (measured and cached if missing, unusable or
    ``refresh``): flops, bandwidth, and measured_at, load_per_core, note where known."""
    path, key = cache_path(), _machine_key(dtype)
    cache = _read(path)
    entry = cache.get(key)
    why = problem(entry) if entry is not None else None
    if why is not None:
        _say(f"the cached {dtype} peak in {path} is unusable ({why}): measuring again")
    if refresh or entry is None or why is not None:
        cache[key] = entry = measure(dtype)
        _write(path, cache)
    assert isinstance(entry, dict)
    return {**entry, "flops": float(entry["flops"]), "bandwidth": float(entry["bandwidth"])}


def _age(measured_at: Any, now: datetime.datetime | None = None) -> str:
    """'measured 2026-12-07 14:20 UTC, 3 days ago' (or at an unknown time, for an older cache)."""
    try:
        when = datetime.datetime.strptime(str(measured_at), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return "measured at an unknown time"
    seconds = ((now or datetime.datetime.now(datetime.timezone.utc)) - when).total_seconds()
    ago = ("just now" if seconds < 60 else f"{seconds / 60:.0f} min ago" if seconds < 3600 else
           f"{seconds / 3600:.0f} h ago" if seconds < 86400 else f"{seconds / 86400:.0f} days ago")  # fmt: skip
    return f"measured {when:%Y-%m-%d %H:%M} UTC, {ago}"


def describe(entry: dict[str, Any]) -> str:
    """Where the peak comes from, how old it is, under what load, and how to measure it again."""
    load = entry.get("load_per_core")
    loaded = isinstance(load, (int, float)) and not isinstance(load, bool) and load > BUSY_LOAD
    return (
        f"measured here: the faster of a matmul and a 256->256 3x3 conv at the dtype, and a {COPY_BYTES // 2**20} "
        f"MiB copy (best of {SECONDS} s each); {_age(entry.get('measured_at'))}"
        + (f", under load ({load:.2f} per core: the peak may be low)" if loaded else "")
        + f"; cached in {cache_path()}, --refresh measures again"
    )


def cpu_spec(dtype: str, refresh: bool = False) -> DeviceSpec:
    got = cpu_peaks(dtype, refresh)
    name = _cpu_model() or platform.processor() or "this CPU"
    return DeviceSpec("cpu", f"{name} ({torch.get_num_threads()} threads)", {math_mode(dtype): got["flops"] / 1e12},
                      got["bandwidth"] / 1e12, None, describe(got), str(got.get("note") or ""))  # fmt: skip
