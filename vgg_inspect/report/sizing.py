"""The records of sizing a backbone: bytes moved (traffic), rooflines on a device, storage per number
format, measured runs (bench). ``report.model`` re-exports them with the rest of the report."""

from __future__ import annotations

from ..records import record


@record
class TrafficRow:
    """Bytes one layer moves (metrics/traffic.py's convention) and its FLOPs per byte."""

    name: str
    module: str
    weight_bytes: int  # parameters and buffers read
    input_bytes: int  # every tensor it reads
    output_bytes: int  # its output, written
    bytes: int  # the three above: the forward's traffic
    flops: int | None
    intensity: float | None  # flops / bytes; None: FLOPs not counted, or nothing moved
    training_bytes: int  # what training adds (backward reads and writes, Dropout's forward)
    train_flops: int | None
    train_intensity: float | None  # train_flops / (bytes + training_bytes)
    training_weight_bytes: int = 0  # of training_bytes, the part that does not grow with the batch


@record
class Traffic:
    dtype: str
    convention: str
    layers: list[TrafficRow]
    bytes: int
    flops: int
    intensity: float | None
    train_bytes: int  # bytes + every layer's training_bytes
    train_flops: int
    train_intensity: float | None


@record
class DeviceInfo:
    name: str
    title: str
    math: str  # which peak: fp32, tf32, bf16, fp16, fp8
    peak_flops: float  # dense FLOP/s
    bandwidth: float  # bytes/s
    ridge: float  # FLOP/byte where the roofs meet
    memory_gb: float | None
    source: str
    note: str


@record
class RooflineLayer:
    name: str
    flops: int | None
    bytes: int
    intensity: float | None
    bound: str  # compute | memory | unknown (no FLOP formula: the time is the memory time alone)
    time_s: float  # max(FLOPs / peak, bytes / bandwidth)
    share: float  # percent of the point's total time
    turnover_batch: int | None  # the smallest batch at which it is compute-bound; None: never


@record
class RooflinePoint:
    batch: int
    flops: int
    bytes: int
    latency_s: float  # a lower bound: the layers' times added (one after another, each at its roof)
    images_per_s: float | None  # a ceiling: batch / latency_s; None: no finite ceiling (nothing to compute or move)
    compute_bound_share: float  # percent of the time spent in compute-bound layers
    layers: list[RooflineLayer]


@record
class Roofline:
    device: DeviceInfo
    train: bool  # forward + backward (the FLOPs are train_flops, the bytes include training_bytes)
    convention: str
    points: list[RooflinePoint]


@record
class StorageRow:
    format: str  # fp32, fp16, bf16, fp8, int8, int4
    bits: int
    weight_bytes: int  # conv and linear weights at this format, with their scales
    other_bytes: int  # biases, norm parameters and buffers, kept at float32 (or the 16-bit dtype)
    total_bytes: int
    scheme: str


@record
class Storage:
    params: int
    quantised_params: int  # conv and linear weights: what a quantised format stores in fewer bits
    rows: list[StorageRow]
    checkpoint_bytes: int  # what torch.save(model.state_dict(), checkpoint_file) writes at float32, exactly
    checkpoint_note: str
    not_known: list[str]
    checkpoint_file: str = "model.pt"  # the file name the checkpoint size is for (its stem names the archive)


@record
class BenchLayer:
    name: str
    module: str
    measured_s: float  # median of the per-layer runs (hooks, synchronised on CUDA)
    predicted_s: float | None  # the roofline's time at the device's peaks; None: no peaks known
    ratio: float | None  # measured / predicted


@record
class BenchRun:
    batch: int
    iterations: int  # timed (fewer than asked when Ctrl-C stopped the run)
    median_s: float
    p90_s: float
    images_per_s: float  # batch / median
    achieved_flops: float  # the report's FLOPs (train FLOPs with --train) per median second
    peak_percent: float | None  # of the device's dense peak at the dtype; None: no peak known
    peak_memory_bytes: int | None  # measured (see memory_convention); None: not measurable here
    estimate_bytes: int  # the report's inference_required_bytes (training_total_bytes with --train)
    stopped: bool
    layers: list[BenchLayer] | None  # with per_layer
    dtype: str
    peak_flops: float | None  # the dense peak peak_percent is of (None: none known)
    peak_math: str  # whose peak: fp32, tf32, bf16 or fp16


@record
class Bench:
    device: str  # cpu, cuda:0
    device_name: str  # what the device calls itself
    dtype: str  # the first run's (the report's); each run says its own
    train: bool  # forward, backward and an SGD-momentum step
    channels_last: bool
    compiled: bool
    method: str  # how the time was taken
    memory_convention: str
    weights: str  # how the weights were filled
    peak_flops: float | None  # the first run's; each run says its own
    peak_source: str | None  # where the peaks come from (each source once)
    peak_math: str  # the first run's: fp32, tf32, bf16 or fp16
    runs: list[BenchRun]
