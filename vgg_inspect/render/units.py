"""Number and byte formatting with exact unit labels (MB = 10^6 bytes, MiB = 2^20 bytes)."""

from __future__ import annotations

import re

from ..errors import VggInspectError
from ..scales import BYTE_SCALE


def count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def si(n: float, unit: str = "") -> str:
    """138357544 -> '138.36 M' (decimal prefixes)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


def binary(n: int) -> str:
    """Bytes in the binary unit their size calls for: 16,384 -> '16.0 KiB', not '0.0 MiB';
    81,470,000,000 -> '75.9 GiB', not '77,697.0 MiB'."""
    for scale, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= scale:
            return _scaled(n / scale, unit)
    return f"{n:,} B"


def decimal(n: int) -> str:
    """The same with decimal units (KB = 10^3 B)."""
    for scale, unit in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if abs(n) >= scale:
            return _scaled(n / scale, unit)
    return f"{n:,} B"


def _scaled(value: float, unit: str) -> str:
    """Three significant digits at least: 1.68 GiB, 16.0 KiB, 527.8 MiB."""
    return f"{value:,.2f} {unit}" if abs(value) < 10 else f"{value:,.1f} {unit}"


def bytes_full(n: int) -> str:
    """'553,430,176 B = 527.8 MiB = 553.4 MB': both conventions, labelled, each in its unit by size."""
    if abs(n) < 1000:
        return f"{n:,} B"
    return f"{n:,} B = {binary(n)} = {decimal(n)}"


def parse_bytes(text: str) -> int:
    """'16GiB', '16 GB', '500MiB', '1024B' -> bytes; a bare number is refused (which unit was meant?)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).upper() if m else ""
    if m and unit in ("K", "M", "G", "T"):  # '16G': which of the two conventions was meant?
        n, u, power = m.group(1), unit, " KMGT".index(unit)
        raise VggInspectError(f"ambiguous size '{text}': did you mean {n}{u}iB (binary, {n}·2^{10 * power} bytes) "
                              f"or {n}{u}B (decimal, {n}·10^{3 * power})?", param="budget")  # fmt: skip
    if not m or (unit and unit not in BYTE_SCALE):
        raise VggInspectError(
            f"malformed size '{text}': expected a number with a unit such as 16GiB, 8GB or 512MiB", param="budget"
        )
    if not unit:  # '16' would be 16 bytes: nobody's budget
        raise VggInspectError(
            f"a size needs a unit: '{text}' would be {m.group(1)} bytes; did you mean {m.group(1)}GiB "
            f"(or {m.group(1)}GB, {m.group(1)}MiB, {m.group(1)}B)?",
            param="budget",
        )
    factor = BYTE_SCALE[unit]
    from fractions import Fraction  # exact: 99999999999999999999999TiB must not go through a float

    value = int(Fraction(m.group(1)) * factor)
    if value <= 0:
        raise VggInspectError(f"size must be positive, got '{text}'", param="budget")
    return value


def shape(s: list[int] | tuple[int, ...], layout: str = "NCHW") -> str:
    """``1×64×224×224``; in NHWC (a channels-last model's own layout) a 4-D shape is ``1×224×224×64``."""
    if layout == "NHWC" and len(s) == 4:
        s = (s[0], s[2], s[3], s[1])
    return "×".join(map(str, s))
