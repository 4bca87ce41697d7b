"""Data types by name, without importing torch."""

from __future__ import annotations

from ..errors import VggInspectError

ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}
_ALIASES = {"fp32": "float32", "float": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


def canonical_dtype(name: str) -> str:
    if not isinstance(name, str):
        name = str(name)  # torch.float16 prints as "torch.float16"
    key = name.strip().lower().removeprefix("torch.")
    key = _ALIASES.get(key, key)
    if key not in ITEMSIZE:
        raise VggInspectError(
            f"unknown dtype '{name}'; expected one of {', '.join(ITEMSIZE)} (or fp32, fp16, bf16)", param="dtype"
        )
    return key
