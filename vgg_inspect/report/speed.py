"""How fast, on which device, and how large on disk: the traffic, roofline and storage sections of
a report, assembled from its traces (pure: no torch)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..metrics import storage as sizes
from ..metrics import torch_save
from ..metrics.compute import layer_compute
from ..metrics.devices import DeviceSpec
from ..metrics.traffic import intensity, layer_traffic, turnover_batch
from ..network import ITEMSIZE
from ..network.state import ModelState
from ..ops import Convention
from ..ops.traced import LayerTrace
from .model import Report
from .sizing import DeviceInfo, Roofline, RooflineLayer, RooflinePoint, Storage, StorageRow, Traffic, TrafficRow

TRAFFIC_CONVENTION = (
    "each tensor crosses memory once per pass, caches ignored, operators unfused (eager): the forward reads "
    "weights, buffers and every input and writes its output; training adds the backward's reads (output "
    "gradient, saved tensors, weights for the input gradient) and writes (input and weight gradients); "
    "flatten and eval's dropout move nothing; a lower bound on traffic"
)
ROOFLINE_CONVENTION = (
    "per layer max(FLOPs / peak, bytes / bandwidth) at the dense peak of the dtype's math; the layers run "
    "one after another, so the latency is a lower bound and images/s a ceiling (launch overheads, kernel "
    "efficiency and caches ignored)"
)


def traffic(report: Report, traces: Sequence[LayerTrace], input_requires_grad: bool = False) -> Traffic:
    dtype = report.input.dtype
    convention = Convention(report.options.saved_convention)
    computes = layer_compute(traces, report.options.include, input_requires_grad)
    moved = layer_traffic(traces, computes, ITEMSIZE[dtype], convention)
    rows = [
        TrafficRow(name=row.name, module=row.module, weight_bytes=m.weight_bytes, input_bytes=m.input_bytes,
                   output_bytes=m.output_bytes, bytes=m.bytes, flops=row.flops, intensity=intensity(row.flops, m.bytes),
                   training_bytes=m.training_bytes, train_flops=row.train_flops,
                   train_intensity=intensity(row.train_flops, m.bytes + m.training_bytes),
                   training_weight_bytes=m.training_weight_bytes)
        for row, m in zip(report.layers, moved)
    ]  # fmt: skip
    total = sum(r.bytes for r in rows)
    train_total = total + sum(r.training_bytes for r in rows)
    flops, train_flops = report.totals.flops, report.totals.train_flops
    return Traffic(dtype=dtype, convention=TRAFFIC_CONVENTION, layers=rows, bytes=total, flops=flops,
                   intensity=intensity(flops, total), train_bytes=train_total, train_flops=train_flops,
                   train_intensity=intensity(train_flops, train_total))  # fmt: skip


def device_info(spec: DeviceSpec, math: str) -> DeviceInfo:
    peak = spec.peak(math)
    return DeviceInfo(name=spec.name, title=spec.title, math=math, peak_flops=peak, bandwidth=spec.bandwidth,
                      ridge=peak / spec.bandwidth, memory_gb=spec.memory_gb, source=spec.source,
                      note=spec.note)  # fmt: skip


def point(section: Traffic, batch: int, device: DeviceInfo, train: bool) -> RooflinePoint:
    """One batch on the roofs: each layer's bound and time, the latency bound, the throughput ceiling.
    ``section`` is the traffic at ``batch``."""
    layers = []
    for r in section.layers:
        flops = r.train_flops if train else r.flops
        nbytes = r.bytes + (r.training_bytes if train else 0)
        fixed = r.weight_bytes + (r.training_weight_bytes if train else 0)
        memory_time = nbytes / device.bandwidth
        if flops is None:
            layers.append(RooflineLayer(name=r.name, flops=None, bytes=nbytes, intensity=None, bound="unknown",
                                        time_s=memory_time, share=0.0, turnover_batch=None))  # fmt: skip
            continue
        compute_time = flops / device.peak_flops
        turnover = turnover_batch(
            flops // batch, fixed, (nbytes - fixed) // batch, device.peak_flops, device.bandwidth
        ) if flops else None  # fmt: skip
        bound = "compute" if flops and compute_time >= memory_time else "memory"
        layers.append(RooflineLayer(name=r.name, flops=flops, bytes=nbytes, intensity=intensity(flops, nbytes),
                                    bound=bound, time_s=max(compute_time, memory_time), share=0.0,
                                    turnover_batch=turnover))  # fmt: skip
    latency = sum(x.time_s for x in layers)
    for x in layers:
        x.share = 100 * x.time_s / latency if latency else 0.0
    computing = sum(x.time_s for x in layers if x.bound == "compute")
    flops_total = section.train_flops if train else section.flops
    bytes_total = section.train_bytes if train else section.bytes
    # nothing to compute or move: no finite ceiling, which is not a ceiling of zero
    return RooflinePoint(batch=batch, flops=flops_total, bytes=bytes_total, latency_s=latency,
                         images_per_s=batch / latency if latency else None,
                         compute_bound_share=100 * computing / latency if latency else 0.0, layers=layers)  # fmt: skip


def roofline(sections: dict[int, Traffic], device: DeviceInfo, train: bool) -> Roofline:
    return Roofline(
        device=device,
        train=train,
        convention=ROOFLINE_CONVENTION,
        points=[point(t, b, device, train) for b, t in sections.items()],
    )


def storage(report: Report, state: ModelState, file: str = "model.pt") -> Storage:
    """The weights per format and the checkpoint ``file``, from the model's state dict (every tensor once)."""
    stem = os.path.splitext(os.path.basename(file))[0]  # torch names the archive's folder after it
    split = sizes.split(state)
    rows = []
    for fmt, bits in sizes.FORMATS:
        weights, other = sizes.format_bytes(split, fmt, bits)
        if fmt in sizes.QUANTISED:
            scheme = (f"conv/linear weights at {bits} bits" + (", two per byte" if bits == 4 else "")
                      + " + one float32 scale per output channel; the rest float32")  # fmt: skip
        else:
            scheme = f"every floating-point parameter and buffer at {bits} bits (integer buffers at their own width)"
        total = weights + other
        rows.append(StorageRow(format=fmt, bits=bits, weight_bytes=weights, other_bytes=other, total_bytes=total,
                               scheme=scheme))  # fmt: skip
    note = (
        f"torch.save(model.state_dict(), '{file}') at float32, to the byte: the tensors (each storage once) in "
        f"torch's zip archive (a pickle of the keys, headers, 64-byte alignment); the archive's folder is the file's "
        f"stem, so another name changes the size by a few bytes per record"
    )
    unknown = [
        "activations of a quantised model (they depend on the kernels: int8 convolutions may keep float "
        "outputs, and fp8 needs per-tensor activation scales)",
        "which kernels a device runs for a quantised format, and their speed",
        "compressed checkpoints (zip stores torch's tensors uncompressed)",
        *(f"the state dict's entry {key} (not a tensor: a module's extra state)" for key in state.not_counted),
    ]
    return Storage(params=report.totals.params, quantised_params=split.quantisable, rows=rows,
                   checkpoint_bytes=torch_save.checkpoint_bytes(state, stem), checkpoint_note=note, not_known=unknown,
                   checkpoint_file=file)  # fmt: skip
