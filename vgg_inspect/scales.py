"""The unit table every part of the tool reads and writes: decimal prefixes for counts (K = 10^3),
and byte units, decimal (MB = 10^6 B) and binary (MiB = 2^20 B), keyed in upper case."""

from __future__ import annotations

COUNT_SCALE = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BINARY_BYTES = {"B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
DECIMAL_BYTES = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
BYTE_SCALE = {**BINARY_BYTES, **DECIMAL_BYTES}
UNIT_NAMES = {"KIB": "KiB", "MIB": "MiB", "GIB": "GiB", "TIB": "TiB"}  # their spelling
