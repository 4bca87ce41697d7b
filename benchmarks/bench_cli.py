"""Time vgg-inspect against its baselines in one run and print the ratios against the targets.

    python benchmarks/bench_cli.py [--repeat 7] [--only zoo]

Each command runs in a fresh process (what a user pays), ``--repeat`` times, interleaved so that
machine drift falls on every command alike; the median wall time and the median peak resident
memory (ru_maxrss of the child) are reported. Targets:

* ``params vgg16`` (closed form, a rich table): at most 1.25x ``python -c "import click, rich.console,
  rich.table"``, the floor of any rich table
* ``params vgg16 --format json`` (no rich): at most 1.25x ``python -c "import click"``
* ``params vgg16 --device cpu`` (instantiated): under ``python -c "import torch"``
* ``summary vgg19 --device cpu --input 1024 --batch 64``: at most 15% more time and memory than at
  224, batch 1 (cost independent of input size and batch)
* ``receptive-field`` (no model, arithmetic): at most 1.25x the rich floor
* ``diagram vgg16`` and ``report vgg16``: at most 1.5x ``python -c "import matplotlib.pyplot"``
* ``summary file.py:VGGNet`` (a hand-written VGG16, functional pools, batch 2 at 224): at most 0.5x
  the workflow a user runs on it today (``benchmarks/user_workflow.py``: build it, torchinfo.summary,
  fvcore FlopCountAnalysis); ``file.py:VGGNetAdaptive`` at 1024/64 within 1.15x of 224/1
* the zoo (``tests/zoo``: FCN-8s, SSD300, timm, d2l, CIFAR, ...): ``summary`` at most 0.5x the
  torchinfo + fvcore workflow on each file, and, since both must import torch (the model file
  does), at most 0.5x of what the workflow adds beyond ``import torch``
* ``receptive-field vgg16 --effective --input 4096``: within 1.15x of 224 in time and memory (the
  run is cropped to the unit's field)
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time

TOOL = [sys.executable, "-m", "vgg_inspect"]
HERE = os.path.dirname(os.path.abspath(__file__))
USER_FILE = os.path.join(HERE, "..", "tests", "models", "functional_vgg.py")
ZOO = os.path.join(HERE, "..", "tests", "zoo")
# VGGs as people write them (tests/zoo): the tool against the torchinfo + fvcore workflow on each
ZOO_MODELS = {"FCN8s": ("fcn.py", "FCN8s", 224), "SSD300": ("ssd.py", "SSDBackbone", 300),
              "ModernVGG": ("activations.py", "ModernVGG", 32),
              "FunctionalActs": ("activations.py", "FunctionalActs", 32),
              "d2l": ("d2l.py", "VGG", 224), "timm": ("timm_style.py", "TimmVGG16", 224),
              "CIFAR": ("cifar.py", "VGG", 32), "perceptual": ("perceptual.py", "PerceptualVGG19", 224)}  # fmt: skip
BASELINES = ("import click", "import click, rich", "import torch")


def measure(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", default="", help="run only the checks whose label contains this (e.g. 'zoo')")
    args = parser.parse_args()
    # What an installed package has: its modules byte-compiled (pip does it; an editable install under
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every run).
    compileall.compile_dir(os.path.join(os.path.dirname(__file__), "..", "vgg_inspect"), quiet=1)

    summary = [*TOOL, "summary", "vgg19", "--device", "cpu"]
    cmds = {
        "import click": [sys.executable, "-c", "import click"],
        "import click, rich": [sys.executable, "-c", "import click, rich.console, rich.table"],
        "import torch": [sys.executable, "-c", "import torch"],
        "import matplotlib.pyplot": [sys.executable, "-c", "import matplotlib.pyplot"],
        "diagram vgg16": [*TOOL, "diagram", "vgg16", "-o", "-"],
        "report vgg16": [*TOOL, "report", "vgg16", "-o", "-"],
        "params vgg16": [*TOOL, "params", "vgg16"],
        "params vgg16 --format json": [*TOOL, "params", "vgg16", "--format", "json"],
        "params vgg16 --device cpu": [*TOOL, "params", "vgg16", "--device", "cpu"],
        "receptive-field": [*TOOL, "receptive-field"],
        "summary 224/1": summary,
        "summary 1024/64": [*summary, "--input", "1024", "--batch", "64"],
        "summary file.py:VGGNet": [*TOOL, "summary", f"{USER_FILE}:VGGNet", "--batch", "2"],
        "torchinfo + fvcore on it": [sys.executable, os.path.join(HERE, "user_workflow.py"), f"{USER_FILE}:VGGNet",
                                     "2", "224"],
        "user 224/1": [*TOOL, "summary", f"{USER_FILE}:VGGNetAdaptive"],
        "user 1024/64": [*TOOL, "summary", f"{USER_FILE}:VGGNetAdaptive", "--input", "1024", "--batch", "64"],
        "effective 224": [*TOOL, "receptive-field", "vgg16", "--effective", "--samples", "1", "--format", "json"],
        "effective 4096": [*TOOL, "receptive-field", "vgg16", "--effective", "--samples", "1", "--format", "json",
                           "--input", "4096"],
    }  # fmt: skip
    for label, (file, name, size) in ZOO_MODELS.items():
        ref = f"{os.path.join(ZOO, file)}:{name}"
        cmds[f"summary {label}"] = [*TOOL, "summary", ref, "--input", str(size)]
        cmds[f"torchinfo + fvcore on {label}"] = [sys.executable, os.path.join(HERE, "user_workflow.py"), ref, "1",
                                                  str(size)]  # fmt: skip
    if args.only:  # the checks asked for and their baselines
        wanted = "summary " if args.only == "zoo" else args.only
        keep = {k for k in cmds if args.only in k or (args.only == "zoo" and k.removeprefix(wanted) in ZOO_MODELS)}
        keep |= {f"torchinfo + fvcore on {k.removeprefix('summary ')}" for k in keep} | set(BASELINES)
        cmds = {k: v for k, v in cmds.items() if k in keep}
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(args.repeat):
        for label, cmd in cmds.items():
            samples[label].append(measure(cmd))
    t = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    m = {k: statistics.median(s[1] for s in v) for k, v in samples.items()}
    print(
        f"median of {args.repeat} interleaved runs; baselines: import click {t['import click']:.3f} s, "
        f"import click+rich {t['import click, rich']:.3f} s, import torch {t['import torch']:.3f} s\n"
    )

    rows = []
    for label, base, limit in (
        ("params vgg16", "import click, rich", 1.25),
        ("params vgg16 --format json", "import click", 1.25),
        ("receptive-field", "import click, rich", 1.25),
        ("params vgg16 --device cpu", "import torch", 1.0),
        ("diagram vgg16", "import matplotlib.pyplot", 1.5),
        ("report vgg16", "import matplotlib.pyplot", 1.5),
        ("summary file.py:VGGNet", "torchinfo + fvcore on it", 0.5),
        *((f"summary {label}", f"torchinfo + fvcore on {label}", 0.5) for label in ZOO_MODELS),
    ):
        if label not in t or base not in t:
            continue
        ratio = t[label] / t[base]
        rows.append((label, f"{t[label]:.3f} s", f"{ratio:.2f}x {base}", f"<= {limit:.2f}x", ratio <= limit))
    # Both sides import torch (the user's file does): what each adds beyond that shared floor.
    for label in ZOO_MODELS:
        tool, base = f"summary {label}", f"torchinfo + fvcore on {label}"
        if tool in t and base in t:
            extra, theirs = t[tool] - t["import torch"], t[base] - t["import torch"]
            ratio = max(extra, 0.0) / theirs if theirs > 0 else float("inf")
            rows.append((f"{tool} beyond import torch", f"{extra:+.3f} s vs {theirs:+.3f} s",  # below 0: at the floor
                         f"{ratio:.2f}x the workflow's", "<= 0.50x", ratio <= 0.5))  # fmt: skip
    for what, d in (("time", t), ("peak RSS", m)):
        unit = "s" if what == "time" else "MiB"
        for title, big, small in (
            ("summary vgg19 --device cpu, 1024/64 vs 224/1", "summary 1024/64", "summary 224/1"),
            ("summary file.py:VGGNetAdaptive, 1024/64 vs 224/1", "user 1024/64", "user 224/1"),
            ("receptive-field vgg16 --effective, 4096 vs 224", "effective 4096", "effective 224"),
        ):
            if big not in d or small not in d:
                continue
            ratio = d[big] / d[small]
            rows.append((f"{title} ({what})", f"{d[big]:.2f} vs {d[small]:.2f} {unit}",
                         f"{ratio:.2f}x", "<= 1.15x", ratio <= 1.15))  # fmt: skip
    width = max([len(r[0]) for r in rows] + [1])
    for label, value, shown, target, ok in rows:
        print(f"{label:<{width}}  {value:>22}  {shown:>26}  target {target:<8} {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
