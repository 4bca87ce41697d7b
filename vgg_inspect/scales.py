"""The unit table every part of the tool reads and writes: decimal prefixes for counts (K = 10^3),
and byte units, decimal (MB = 10^6 B) and binary (MiB = 2^20 B), keyed in upper case."""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Decimal, localcontext

COUNT_SCALE = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY_BYTES = {"B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
DECIMAL_BYTES = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
BYTE_SCALE = {**BINARY_BYTES, **DECIMAL_BYTES}
UNIT_NAMES = {"KIB": "KiB", "MIB": "MiB", "GIB": "GiB", "TIB": "TiB"}  # their spelling


def rounds_to(value: int | float, scale: int, number: Decimal) -> bool:
    """Does ``value / scale``, rounded half up at the places ``number`` is written to, equal it?
    Exact at any size: the precision follows the digits (decimal's default 28 would overflow at a
    MAC count of a 10^5-pixel input, or a figure written to 40 places)."""
    exponent = number.as_tuple().exponent
    places = exponent if isinstance(exponent, int) else 0
    with localcontext() as ctx:
        ctx.prec = len(str(Decimal(value))) + len(str(scale)) + abs(places) + 2
        ctx.Emax, ctx.Emin = MAX_EMAX, MIN_EMIN
        return (Decimal(value) / scale).quantize(Decimal(1).scaleb(places), rounding=ROUND_HALF_UP) == number
