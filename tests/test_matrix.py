"""Behaviour pinned across refactors: every command line of ``tests/matrix.py`` prints exactly what
it printed when the matrix was recorded (the tool's version aside), exit code and stderr included."""

from __future__ import annotations

import importlib.util
import os

import pytest

from .matrix import GOLDEN, MATRIX, key, run

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize(("needs_torch", "args"), MATRIX, ids=[" ".join(a) for _, a in MATRIX])
def test_output_is_unchanged(needs_torch: bool, args: list[str]) -> None:
    if needs_torch and not HAS_TORCH:
        pytest.skip("needs torch (pip install 'vgg-inspect[torch]')")
    with open(os.path.join(GOLDEN, key(args) + ".txt"), encoding="utf-8") as fh:
        expected = fh.read()
    code, out = run(args)
    assert f"exit {code}\n{out}" == expected


def test_every_recorded_file_is_in_the_matrix() -> None:
    assert sorted(os.listdir(GOLDEN)) == sorted(key(a) + ".txt" for _, a in MATRIX)
