"""Behaviour pinned across refactors: every command line of ``tests/matrix.py`` prints exactly what
it printed when the matrix was recorded (the tool's version aside), exit code and stderr included."""

from __future__ import annotations

import importlib.util
import os

import pytest

from .matrix import GOLDEN, MATRIX, changes, key, run

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize(("needs_torch", "args"), MATRIX, ids=[" ".join(a) for _, a in MATRIX])
def test_output_is_unchanged(needs_torch: bool, args: list[str]) -> None:
    if needs_torch and not HAS_TORCH:
        pytest.skip("needs torch (pip install 'vgg-inspect[torch]')")
    with open(os.path.join(GOLDEN, key(args) + ".txt"), encoding="utf-8") as fh:
        expected = fh.read()
    code, out = run(args)
    got = f"exit {code}\n{out}"
    assert got == expected, "moved:\n" + "\n".join(changes(expected, got)[:40])


def test_every_recorded_file_is_in_the_matrix() -> None:
    assert sorted(os.listdir(GOLDEN)) == sorted(key(a) + ".txt" for _, a in MATRIX)


def test_a_change_is_named_by_the_values_that_moved() -> None:
    old = 'exit 0\n{"layers": [{"macs": 1}, {"macs": 2}], "totals": {"macs": 3}}\n--- stderr\n'
    new = 'exit 0\n{"layers": [{"macs": 1}, {"macs": 5}], "totals": {"macs": 6}}\n--- stderr\n'
    assert changes(old, new) == ["layers[1].macs: 2 -> 5", "totals.macs: 3 -> 6"]
    assert changes("exit 0\na\nb\n", "exit 0\na\nc\n") == ["line 3: 'b' -> 'c'"]
    # the same JSON, a stray blank line less on stderr: still a change, named by its lines
    assert changes('exit 0\n{"a": 1}\n--- stderr\n\n', 'exit 0\n{"a": 1}\n--- stderr\n') == ["-1 lines"]
