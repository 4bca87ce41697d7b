"""`bench` against a plain torch loop, and the roofline against measured layers, in one run.

    python benchmarks/bench_timing.py [--model vgg11] [--input 64] [--batch 4] [--rounds 5] [--device cpu]

1. Overhead of the tool's timing: the same model (built the tool's way: uninitialised storage filled
   with 1/fan-in) timed by ``api.bench`` and by a bare ``for`` loop around ``model(x)`` under
   ``torch.inference_mode`` with ``time.perf_counter`` (CUDA: synchronised), interleaved over
   ``--rounds``; the median images/s of each and their ratio. Target: the tool within 5%.
2. Where time and FLOPs part ways: ``bench --per-layer`` against the roofline at this device's
   measured peaks (``--device-spec cpu``), the ratio per layer. A measurement, not a test: on a CPU
   the compute-bound convs should sit near 1x, the FC layers (BLAS) and pools far above it.
"""

from __future__ import annotations

import argparse
import statistics
import time


def plain_loop(model, x, iterations: int, warmup: int, cuda: bool) -> float:  # type: ignore[no-untyped-def]
    import torch

    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(iterations):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vgg11")
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from vgg_inspect.api import Request, bench
    from vgg_inspect.runtime import bench as b
    from vgg_inspect.runtime.instantiate import instantiate

    req = Request(args.model, input_size=args.input, batch=args.batch, device=args.device)
    model = b.prepare(instantiate(req.spec(), device=args.device), False, False).eval()
    x = b.make_input((args.batch, 3, args.input, args.input), "float32", model.features[0].weight.device, False)
    cuda = args.device.startswith("cuda")
    tool, loop = [], []
    for _ in range(args.rounds):  # interleaved: drift falls on both alike
        run = bench(req, batches=[args.batch], iterations=args.iterations, warmup=2).bench.runs[0]
        tool.append(run.images_per_s)
        loop.append(args.batch / plain_loop(model, x, args.iterations, 2, cuda))
    t, p = statistics.median(tool), statistics.median(loop)
    print(f"{args.model} at {args.input}x{args.input}, batch {args.batch}, {args.device}, {args.rounds} rounds")
    print(f"  bench:      {t:10.1f} images/s")
    print(f"  plain loop: {p:10.1f} images/s")
    print(f"  the tool's time per image / the plain loop's: {p / t:.3f} (target: at most 1.05)")

    report = bench(req, batches=[args.batch], iterations=args.iterations, warmup=2, per_layer=True,
                   device_spec="cpu" if args.device == "cpu" else None)  # fmt: skip
    kinds = {r.module: r.kind for r in report.layers}
    print("\n  layer        measured    roofline   measured/roofline")
    for x_ in report.bench.runs[0].layers or []:
        if kinds.get(x_.module) in ("conv", "fc", "pool") and x_.predicted_s:
            print(f"  {x_.name:10} {x_.measured_s * 1e3:9.3f} ms {x_.predicted_s * 1e3:8.3f} ms {x_.ratio:10.2f}x")


if __name__ == "__main__":
    main()
