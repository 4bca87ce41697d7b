"""Errors the CLI turns into a one-line message and an exit code (never a traceback)."""

from __future__ import annotations

from collections.abc import Iterable


class VggInspectError(Exception):
    """Bad input: the message says what was wrong and what would be right. Exit code 2."""

    exit_code = 2


class AnalysisError(VggInspectError):
    """A valid request that cannot be carried out here (e.g. a measurement needing CUDA). Exit 1."""

    exit_code = 1


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a swap of two neighbours (vgg61 -> vgg16) is one edit."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """'; did you mean X or Y?' for the closest choices (typos and swaps first), or ''."""
    lowered = word.lower()
    # Ties go to the same letters in another order (vgg61 -> vgg16 before vgg11).
    scored = sorted((edit_distance(lowered, c.lower()), sorted(lowered) != sorted(c.lower()), c)
                    for c in dict.fromkeys(choices))
    limit = max(2, len(word) // 3)
    best = [c for dist, _, c in scored if dist <= limit][:n]
    return "; did you mean " + " or ".join(best) + "?" if best else ""
