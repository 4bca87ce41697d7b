"""Accelerators as data: dense peak throughput per math mode, memory bandwidth and capacity, each
device with its source. Dense figures only: vendors' "with sparsity" peaks are exactly twice these
(2:4 structured sparsity, which a dense VGG does not use) and are often quoted as if dense.

Figures from NVIDIA's data sheets, as collected in the project's REFERENCE (§8). TFLOP/s and TB/s
are decimal (10^12); capacity is the data sheet's "GB" figure, as written there.
"""

from __future__ import annotations

import math as _math

from ..errors import VggInspectError, did_you_mean
from ..records import record


@record(frozen=True)
class DeviceSpec:
    name: str  # the key: h100-sxm
    title: str  # NVIDIA H100 SXM
    peak_tflops: dict[str, float]  # dense TFLOP/s per math mode; a mode the device lacks is absent
    bandwidth_tbs: float  # memory bandwidth, TB/s (10^12 B/s)
    memory_gb: float | None  # capacity as the data sheet writes it (GB)
    source: str
    note: str = ""
    # torch.cuda.get_device_name() of this part, as a regular expression on whole words: an L40S is
    # no L4, a GH200 no H200, and the NVL, PCIe-80GB and 4090 D/laptop parts (other peaks or
    # bandwidths) match none. None: never matched (bench --device-spec names it).
    cuda_name: str | None = None

    def peak(self, math: str) -> float:
        """Dense FLOP/s for ``math``; an error that says which modes the device has."""
        if math not in self.peak_tflops:
            raise VggInspectError(
                f"{self.title} has no {math} peak in its data sheet; it lists {', '.join(self.peak_tflops)}",
                param="dtype",
            )
        return self.peak_tflops[math] * 1e12

    @property
    def bandwidth(self) -> float:
        return self.bandwidth_tbs * 1e12


_SHEET = "NVIDIA data sheet (dense, without sparsity)"
_HOPPER = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9}

DEVICES: dict[str, DeviceSpec] = {
    d.name: d
    for d in (
        DeviceSpec(
            "h100-sxm",
            "NVIDIA H100 SXM",
            _HOPPER,
            3.35,
            80,
            f"{_SHEET}: H100 SXM5",
            cuda_name=r"\bH100\b(?!.*\b(NVL|PCIe)\b)",
        ),
        DeviceSpec(
            "h100-pcie",
            "NVIDIA H100 PCIe",
            {"fp32": 51.2, "tf32": 378, "bf16": 756, "fp16": 756, "fp8": 1513},
            2.0,
            80,
            f"{_SHEET}: H100 PCIe",
            cuda_name=r"\bH100 PCIe\b",
        ),
        DeviceSpec(
            "h200", "NVIDIA H200 SXM", _HOPPER, 4.8, 141, f"{_SHEET}: H200 SXM", cuda_name=r"\bH200\b(?!.*\bNVL\b)"
        ),
        DeviceSpec(
            "a100-80gb",
            "NVIDIA A100 SXM 80 GB",
            {"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312},
            2.039,
            80,
            f"{_SHEET}: A100 80GB SXM",
            cuda_name=r"\bA100-SXM4-80GB\b",
        ),
        DeviceSpec(
            "a100-40gb",
            "NVIDIA A100 40 GB",
            {"fp32": 19.5, "tf32": 156, "bf16": 312, "fp16": 312},
            1.555,
            40,
            f"{_SHEET}: A100 40GB",
            cuda_name=r"\bA100\b.*\b40GB\b",
        ),
        DeviceSpec(
            "l4",
            "NVIDIA L4",
            {"fp32": 30.3, "tf32": 60, "bf16": 121, "fp16": 121, "fp8": 242},
            0.3,
            24,
            f"{_SHEET}: L4",
            cuda_name=r"\bL4$",
        ),
        DeviceSpec(
            "rtx-4090",
            "NVIDIA GeForce RTX 4090",
            {"fp32": 82.6, "tf32": 82.6, "bf16": 165.2, "fp16": 165.2, "fp8": 330.3},
            1.008,
            24,
            "NVIDIA Ada architecture white paper: RTX 4090",
            "16-bit and fp8 peaks with fp32 accumulate (GeForce cards halve them against fp16 accumulate)",
            cuda_name=r"\bRTX 4090$",
        ),
    )
}
# Other names of one card. A prefix that several cards share (h100, a100) is not one: it lists them.
ALIASES = {"4090": "rtx-4090", "h200-sxm": "h200"}


def device_spec(name: str) -> DeviceSpec:
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = ALIASES.get(key, key)
    several = [d for d in DEVICES if d.startswith(key + "-")] if key not in DEVICES else []
    if len(several) > 1:
        raise VggInspectError(f"'{name}' is {len(several)} cards with different figures: {', '.join(several)}; "
                              "name one", param="device_spec")  # fmt: skip
    if len(several) == 1:
        key = several[0]
    if key not in DEVICES:
        choices = [*DEVICES, "cpu"]
        raise VggInspectError(
            f"unknown device spec '{name}'{did_you_mean(key, [*choices, *ALIASES])}; expected one of "
            f"{', '.join(choices)}, or --peak-tflops and --bandwidth for any other device",
            param="device_spec",
        )
    return DEVICES[key]


def custom_spec(peak_tflops: float, bandwidth_tbs: float, math: str) -> DeviceSpec:
    """A device the user describes: one peak (for the dtype in use) and a bandwidth."""
    for value, what in ((peak_tflops, "peak_tflops"), (bandwidth_tbs, "bandwidth")):
        # in FLOP/s and B/s (x 10^12) it must stay finite: 1e300 TFLOP/s passes > 0 and overflows later
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite_positive(value):
            raise VggInspectError(f"{{param}} must be a positive, finite number, got {value!r}", param=what)
    return DeviceSpec("custom", "your device", {math: float(peak_tflops)}, float(bandwidth_tbs), None,
                      "given on the command line")  # fmt: skip


def for_cuda_name(name: str) -> DeviceSpec | None:
    """The spec whose ``cuda_name`` matches what torch.cuda calls the device; None: no part's figures known."""
    import re

    return next((d for d in DEVICES.values() if d.cuda_name and re.search(d.cuda_name, name.strip())), None)


def _finite_positive(value: float) -> bool:
    """``value`` x 10^12 (TFLOP/s, TB/s) is a positive finite float."""
    try:
        scaled = float(value) * 1e12
        return scaled > 0 and _math.isfinite(scaled)
    except OverflowError:  # an int beyond any float
        return False


def math_mode(dtype: str, tf32: bool = False) -> str:
    """Which peak a dtype runs at: float32 at fp32 (tf32 where asked), the 16-bit types at their own."""
    return {"float32": "tf32" if tf32 else "fp32", "bfloat16": "bf16", "float16": "fp16"}[dtype]
