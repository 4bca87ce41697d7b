"""Time vgg-inspect against its baselines in one run and print the ratios against the targets.

    python benchmarks/bench_cli.py [--repeat 5]

Each command runs in a fresh process (what a user pays), ``--repeat`` times; the median wall time
and the peak resident memory (ru_maxrss of the child) are reported. Targets come from the issues:

* ``params vgg16`` (closed form, no torch): at most 25% of ``python -c "import torch"``
* ``params vgg16 --device cpu`` (instantiated): at most 120% of ``import torch``
* ``summary vgg19 --device cpu --input 1024 --batch 64``: at most 15% more time and memory than
  at 224, batch 1 (cost independent of input size and batch)
* ``receptive-field`` (no model, arithmetic): at most 25% of ``import torch``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TOOL = [sys.executable, "-m", "vgg_inspect"]


def measure(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median seconds and median peak RSS (MiB) over ``repeat`` fresh processes."""
    times, rss = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
        rss.append(usage.ru_maxrss / 1024)
    return statistics.median(times), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    baseline = [sys.executable, "-c", "import torch"]
    summary = TOOL + ["summary", "vgg19", "--device", "cpu"]
    cmds = {
        "import torch": baseline,
        "params vgg16": TOOL + ["params", "vgg16"],
        "params vgg16 --device cpu": TOOL + ["params", "vgg16", "--device", "cpu"],
        "receptive-field": TOOL + ["receptive-field"],
        "summary 224/1": summary,
        "summary 1024/64": summary + ["--input", "1024", "--batch", "64"],
    }
    if not _has_command("receptive-field"):
        del cmds["receptive-field"]
    # Interleaved rounds: machine drift and noise fall on every command alike.
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(args.repeat):
        for label, cmd in cmds.items():
            samples[label].append(measure(cmd, 1))
    t = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    m = {k: statistics.median(s[1] for s in v) for k, v in samples.items()}
    print(f"median of {args.repeat} interleaved runs; baseline python -c 'import torch': "
          f"{t['import torch']:.3f} s, {m['import torch']:.0f} MiB\n")

    rows = []
    for label, limit in (("params vgg16", 0.25), ("params vgg16 --device cpu", 1.20), ("receptive-field", 0.25)):
        if label in t:
            ratio = t[label] / t["import torch"]
            rows.append((label, f"{t[label]:.3f} s", f"{ratio:.0%} of import torch", f"<= {limit:.0%}", ratio <= limit))
    for what, d in (("time", t), ("peak RSS", m)):
        ratio = d["summary 1024/64"] / d["summary 224/1"]
        unit = "s" if what == "time" else "MiB"
        rows.append((f"summary vgg19 --device cpu, 1024/64 vs 224/1 ({what})",
                     f"{d['summary 1024/64']:.2f} vs {d['summary 224/1']:.2f} {unit}", f"{ratio:.0%}", "<= 115%",
                     ratio <= 1.15))
    width = max(len(r[0]) for r in rows)
    for label, value, ratio, target, ok in rows:
        print(f"{label:<{width}}  {value:>22}  {ratio:>22}  target {target:<7} {'ok' if ok else 'MISSED'}")


def _has_command(name: str) -> bool:
    out = subprocess.run(TOOL + ["--help"], capture_output=True, text=True).stdout
    return name in out


if __name__ == "__main__":
    main()
