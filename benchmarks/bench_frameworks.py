"""Time vgg-inspect on full-size VGG16 files of other frameworks against its own built-in VGG16 and
against the frameworks' own loaders, in one run, and print the ratios against the targets (issue 28).

    python benchmarks/bench_frameworks.py [--repeat 5] [--keep DIR]

The files are made first (keras and torch.onnx.export, from the test extra): a VGG16 ``.onnx`` with
its 553 MB of weights inside, a ``.keras`` of the same size, the ``.json`` of ``model.to_json()``.
Each command runs in a fresh process, interleaved, ``--repeat`` times; the median wall time and the
median peak resident memory (ru_maxrss of the child) are reported. Targets:

* ``summary vgg16.onnx`` and ``summary vgg16.keras``: at most 1.5x the time of ``summary vgg16``, and
  at most 150 MiB of peak RSS (the weights are never read)
* for comparison, not a target: ``onnx.load`` of the same file (it parses every weight), and
  ``keras.saving.load_model`` of the ``.keras``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOOL = [sys.executable, "-m", "vgg_inspect"]


def make_files(folder: str) -> dict[str, str]:
    """The fixtures, made once in a child (keras on its torch backend, torch.onnx's legacy exporter)."""
    paths = {k: os.path.join(folder, f) for k, f in (("onnx", "vgg16.onnx"), ("keras", "vgg16.keras"),
                                                      ("json", "vgg16.json"))}  # fmt: skip
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    code = f"""
import os
os.environ["KERAS_BACKEND"] = "torch"
import keras, torch
from vgg_inspect.network import model_spec
from vgg_inspect.runtime.instantiate import instantiate
m = keras.applications.VGG16(weights=None)
m.save({paths["keras"]!r})
open({paths["json"]!r}, "w").write(m.to_json())
net = instantiate(model_spec("vgg16"), device="cpu", dtype="float32", init=True).eval()
torch.onnx.export(net, (torch.randn(1, 3, 224, 224),), {paths["onnx"]!r}, dynamo=False, opset_version=17)
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return paths


def rss_of(cmd: list[str]) -> float:
    """Peak RSS (MiB) of one child: its own rusage from wait4 (not the maximum over all children)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="a folder for the fixtures (kept between runs)")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="vgg-inspect-bench-")
    os.makedirs(folder, exist_ok=True)
    paths = make_files(folder)
    loads = {
        "onnx.load (every weight parsed)": [sys.executable, "-c", f"import onnx; onnx.load({paths['onnx']!r})"],
        "keras load_model": [
            sys.executable,
            "-c",
            "import os; os.environ['KERAS_BACKEND']='torch'; import keras; "
            f"keras.saving.load_model({paths['keras']!r})",
        ],
    }
    commands = {
        "summary vgg16 (built-in)": [*TOOL, "summary", "vgg16"],
        "summary vgg16.onnx": [*TOOL, "summary", paths["onnx"]],
        "summary vgg16.keras": [*TOOL, "summary", paths["keras"]],
        "summary vgg16.json": [*TOOL, "summary", paths["json"]],
    }
    times: dict[str, list[float]] = {k: [] for k in [*commands, *loads]}
    peaks: dict[str, list[float]] = {k: [] for k in [*commands, *loads]}
    for _ in range(args.repeat):
        for name, cmd in [*commands.items(), *loads.items()]:
            start = time.perf_counter()
            peaks[name].append(rss_of(cmd))
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["summary vgg16 (built-in)"])
    print(f"{'command':36} {'median s':>9} {'ratio':>6} {'peak RSS MiB':>13}  target")
    for name in [*commands, *loads]:
        t, m = statistics.median(times[name]), statistics.median(peaks[name])
        target = ""
        if name.startswith("summary vgg16.") and name != "summary vgg16.json":
            ok = t <= 1.5 * base and m <= 150
            target = f"<= 1.5x and <= 150 MiB: {'met' if ok else 'MISSED'}"
        print(f"{name:36} {t:9.3f} {t / base:6.2f} {m:13.1f}  {target}")


if __name__ == "__main__":
    main()
