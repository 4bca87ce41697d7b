"""The fixed matrix of command lines whose outputs pin behaviour across refactors.

``python -m tests.matrix --write`` records them into ``tests/golden_matrix/`` (one file per line) and
prints which values moved, by JSON path (``--allow 'storage.checkpoint_*'`` refuses to write anything
else); ``tests/test_matrix.py`` runs each again and compares byte for byte, the tool's version aside,
naming the values that moved when they differ.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONAL = os.path.join(HERE, "models", "functional_vgg.py")
ODD = os.path.join(HERE, "models", "odd_forwards.py")
GOLDEN = os.path.join(HERE, "golden_matrix")

# (needs torch, arguments). Paths to the test models are written relative to tests/.
MATRIX: list[tuple[bool, list[str]]] = [
    (False, ["list", "--format", "json"]),
    (False, ["list", "--format", "csv"]),
    (False, ["params", "vgg16", "--format", "json"]),
    (False, ["params", "vgg16", "--format", "csv"]),
    (False, ["params", "vgg16", "--format", "markdown"]),
    (False, ["params", "vgg11_lrn", "--batch-norm", "--num-classes", "10", "--in-channels", "1", "--format", "json"]),
    (False, ["summary", "vgg19", "--input", "320x480", "--format", "json"]),
    (False, ["summary", "vgg16_c", "--dtype", "bfloat16", "--batch", "4", "--format", "csv"]),
    (False, ["summary", "vgg16", "--head", "conv", "--input", "384", "--format", "json"]),
    (False, ["summary", "--config", "64,64,M,128,1x1-128,M,LRN", "--input", "32", "--format", "json"]),
    (False, ["summary", "D-BN", "--all-layers", "--format", "markdown"]),
    (False, ["flops", "vgg16", "--include", "bias,relu,pool,norm", "--train", "--format", "json"]),
    (False, ["flops", "vgg13_bn", "--input", "224,32", "--format", "json"]),
    (False, ["flops", "vgg16", "--format", "csv"]),
    (False, ["memory", "vgg16_bn", "--budget", "16GiB", "--optimizer", "adam", "--format", "json"]),
    (False, ["memory", "vgg11", "--dtype", "float16", "--batch", "8", "--format", "json"]),
    (False, ["receptive-field", "vgg16", "--format", "json"]),
    (
        False,
        [
            "roofline",
            "vgg16",
            "--device-spec",
            "h100-sxm",
            "--dtype",
            "bfloat16",
            "--batch",
            "1,256",
            "--format",
            "csv",
        ],
    ),
    (False, ["roofline", "vgg11_bn", "--train", "--device-spec", "l4", "--input", "64", "--format", "markdown"]),
    (False, ["storage", "vgg16_bn", "--format", "markdown"]),
    (False, ["receptive-field", "vgg16", "--input", "200", "--format", "csv"]),
    (False, ["receptive-field", "--format", "json"]),
    (
        False,
        [
            "receptive-field",
            "--in-channels",
            "64",
            "--out-channels",
            "1",
            "--kernel",
            "11",
            "--bias",
            "--format",
            "json",
        ],
    ),
    (False, ["receptive-field", "--model", "vgg16", "--format", "json"]),
    (False, ["variants", "--format", "json"]),
    (False, ["variants", "--bn", "--format", "json"]),
    (False, ["explain", "--format", "json"]),
    (False, ["explain", "vgg16", "1728", "30.94G", "93MB", "--format", "json"]),
    (
        False,
        ["check", "vgg16", "--expect", "params=138357544", "--expect", "conv5_3.params=2359808", "--format", "json"],
    ),
    (False, ["check", "vgg16", "--expect", "params=1", "--format", "json"]),
    (False, ["diff", "vgg11", "vgg13", "--format", "json"]),
    (False, ["diff", "vgg16", "vgg16_c", "--format", "csv"]),
    (False, ["diff", "vgg16", "config:64,64,M,128,128,M", "--format", "json"]),
    (True, ["params", "vgg16", "--device", "meta", "--format", "json"]),
    (True, ["summary", "vgg11_bn", "--device", "cpu", "--input", "64", "--format", "json"]),
    (True, ["memory", "vgg11_lrn", "--device", "meta", "--dtype", "float16", "--input", "64", "--format", "json"]),
    (True, ["flops", "vgg11", "--compare", "--input", "32", "--format", "json"]),
    (True, ["receptive-field", "vgg11", "--effective", "--mode", "support", "--input", "64", "--format", "json"]),
    (
        True,
        [
            "receptive-field",
            "vgg11",
            "--effective",
            "--layer",
            "conv3_2",
            "--input",
            "64",
            "--samples",
            "2",
            "--format",
            "json",
        ],
    ),
    (True, ["summary", "models/functional_vgg.py:VGGNet", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:VGGNet", "--format", "csv"]),
    (True, ["summary", "models/functional_vgg.py:TorchvisionCopy", "--batch", "2", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:Branches", "--input", "32", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:Tied", "--input", "8", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:AvgPooled", "--input", "32", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:LstmHead", "--input", "8", "--format", "json"]),
    (
        True,
        ["summary", "models/functional_vgg.py:FunctionalLayers", "--input", "16", "--batch", "2", "--format", "json"],
    ),
    (True, ["summary", "models/functional_vgg.py:IndexedPool", "--input", "8", "--format", "json"]),
    (
        True,
        [
            "summary",
            "models/functional_vgg.py:make_small",
            "--kwargs",
            "num_classes=7",
            "--input",
            "32",
            "--format",
            "json",
        ],
    ),
    (True, ["summary", "models/odd_forwards.py:ReturnsDict", "--input", "32", "--format", "json"]),
    (True, ["params", "models/functional_vgg.py:VGGNet", "--device", "cpu", "--format", "json"]),
    (True, ["flops", "models/functional_vgg.py:VGGNetAdaptive", "--train", "--input", "64", "--format", "json"]),
    (True, ["flops", "models/functional_vgg.py:make_small", "--compare", "--input", "32", "--format", "json"]),
    (True, ["memory", "models/functional_vgg.py:VGGNet", "--budget", "8GB", "--format", "json"]),
    (True, ["receptive-field", "models/functional_vgg.py:VGGNet", "--format", "json"]),
    (True, ["receptive-field", "--model", "models/functional_vgg.py:VGGNet", "--format", "json"]),
    (
        True,
        [
            "receptive-field",
            "models/functional_vgg.py:FunctionalLayers",
            "--effective",
            "--mode",
            "support",
            "--input",
            "16",
            "--format",
            "json",
        ],
    ),
    (True, ["summary", "models/functional_vgg.py:LstmHead", "--input", "32", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:Broken", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:NeedsArgs", "--format", "json"]),
    (True, ["summary", "models/functional_vgg.py:VGGNet", "--device", "meta", "--batch", "3", "--format", "csv"]),
    (True, ["check", "models/functional_vgg.py:VGGNet", "--expect", "params=1", "--format", "json"]),
    (True, ["explain", "models/functional_vgg.py:TorchvisionCopy", "--format", "json"]),
    (True, ["check", "models/functional_vgg.py:VGGNet", "--expect", "params=138357544", "--format", "json"]),
    (True, ["diff", "models/functional_vgg.py:TorchvisionCopy", "vgg16", "--format", "json"]),
    (True, ["diff", "models/functional_vgg.py:VGGNet", "vgg16", "--format", "csv"]),
    (
        True,
        [
            "diff",
            "models/functional_vgg.py:make_small",
            "vgg11",
            "--num-classes",
            "10",
            "--input",
            "32",
            "--format",
            "json",
        ],
    ),
]

_VERSION = re.compile(r'("version": ")[^"]*(")')


def key(args: list[str]) -> str:
    text = " ".join(args)
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60]
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def normalise(text: str) -> str:
    """The version, and the checkout's own path (errors name your file), made neutral."""
    return _VERSION.sub(r"\g<1>X\g<2>", text).replace(HERE, "<tests>")


def run(args: list[str]) -> tuple[int, str]:
    """The command run in-process from tests/ (so relative model paths resolve), its exit and stdout."""
    from click.testing import CliRunner

    from vgg_inspect.cli import cli

    cwd = os.getcwd()
    os.chdir(HERE)
    try:
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "120"})
    finally:
        os.chdir(cwd)
    return result.exit_code, normalise(result.stdout + "--- stderr\n" + result.stderr)


def _json(text: str) -> object | None:
    """The JSON document a recorded output holds (stdout before the stderr mark), or None."""
    body = text.split("\n", 1)[1] if text.startswith("exit ") else text
    try:
        return json.loads(body.split("--- stderr\n", 1)[0])
    except ValueError:
        return None


def _flat(value: object, path: str = "") -> dict[str, object]:
    if isinstance(value, (dict, list)) and not value:  # an empty one is a value too (a key added as [])
        return {path: value}
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{path}.{key}" if path else key).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{path}[{i}]").items()}
    return {path: value}


def changes(old: str, new: str) -> list[str]:
    """What moved between two recordings of one line: each JSON value by its path (layers[3].macs:
    a -> b), else each line that differs."""
    a, b = _json(old), _json(new)
    if a is not None and b is not None:
        fa, fb = _flat(a), _flat(b)
        moved = [f"{k}: {fa.get(k, '(absent)')!r} -> {fb.get(k, '(absent)')!r}" for k in sorted(set(fa) | set(fb))
                 if fa.get(k, ...) != fb.get(k, ...)]  # fmt: skip
        if moved or old == new:
            return moved
        # the same values, other text (the exit line, stderr): fall through to the lines
    la, lb = old.splitlines(), new.splitlines()
    return [f"line {i + 1}: {x!r} -> {y!r}" for i, (x, y) in enumerate(zip(la, lb)) if x != y] + (
        [f"{len(lb) - len(la):+d} lines"] if len(la) != len(lb) else []
    )


def main() -> None:
    """``--write`` records every line and prints, per file, which values moved; ``--allow PATTERN``
    (repeatable, fnmatch on the JSON path or 'line N') refuses a re-record that moves anything else."""
    if "--write" not in sys.argv:
        raise SystemExit("usage: python -m tests.matrix --write [--allow PATTERN ...]")
    allowed = [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--allow"]
    os.makedirs(GOLDEN, exist_ok=True)
    planned: list[tuple[str, str, list[str]]] = []
    for _, args in MATRIX:
        code, out = run(args)
        path = os.path.join(GOLDEN, key(args) + ".txt")
        new = f"exit {code}\n{out}"
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        moved = changes(old, new) if old else ["(new)"]
        planned.append((path, new, moved))
        print(" ".join(args), "unchanged" if not moved else "", sep=": " if not moved else "")
        for m in moved[:40]:
            print("   ", m)
    unexpected = [
        m
        for _, _, moved in planned
        for m in moved
        if allowed and m != "(new)" and not any(fnmatch.fnmatch(m.split(":")[0], p) for p in allowed)
    ]
    if unexpected:
        raise SystemExit(f"not written: {len(unexpected)} change(s) outside --allow, e.g. {unexpected[0]}")
    for path, new, moved in planned:
        if moved:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(new)


if __name__ == "__main__":
    main()
