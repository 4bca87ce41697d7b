#!/usr/bin/env bash
# The device check of issue 17, in one run on a machine with a CUDA GPU: the CUDA tests for real, then
# `bench vgg16` in bf16 at batch 256, compiled and channels-last (the README's figure), then eager in
# bf16 and float32 (held to the TF32 peak while cuDNN runs TF32) with --per-layer beside the roofline. About 3-4 minutes on an H200, most of it torch.compile.
#
#   bash benchmarks/cuda_check.sh [OUT_DIR]     (default: $OUT, else ./cuda-check)
#
# It needs torch with CUDA, click, rich and pytest (hypothesis for the test suite's conftest), run
# from the checkout itself: no install, so a machine without internet can run it as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-cuda-check}}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 COLUMNS=120
python3 - <<'PY' | tee "$out/device.txt"
import torch
assert torch.cuda.is_available(), "no CUDA GPU here"
print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}")
PY
python3 -m pytest -q -p no:cacheprovider tests/test_bench.py 2>&1 | tee "$out/pytest.log"
vgg() { python3 -m vgg_inspect "$@"; }
vgg bench vgg16 --device cuda --dtype bfloat16 --batch 256 --compile --channels-last --warmup 5 --iterations 30 \
    --format json -o "$out/bench-vgg16-bf16-256-compiled.json"
vgg bench vgg16 --device cuda --dtype bfloat16,float32 --batch 1,64,256 --channels-last --iterations 30 --per-layer \
    --format json -o "$out/bench-vgg16-eager.json"
vgg roofline vgg16 --device-spec h200 --dtype bfloat16 --batch 1,64,256 | tee "$out/roofline-h200.txt"
python3 - "$out" <<'PY' | tee "$out/summary.txt"
import json, pathlib, sys

for path in sorted(pathlib.Path(sys.argv[1]).glob("bench-*.json")):
    b = json.loads(path.read_text())["bench"]
    for r in b["runs"]:
        share = "-" if r["peak_percent"] is None else f"{r['peak_percent']:.1f}%"
        print(f"{path.stem}: {b['device_name']}, {r['dtype']}, batch {r['batch']}: median {r['median_s'] * 1e3:.2f} ms, "
              f"{r['images_per_s']:,.0f} img/s, {r['achieved_flops'] / 1e12:.1f} TFLOP/s = {share} of the dense "
              f"{r['peak_math']} peak; peak memory {r['peak_memory_bytes'] / 2**30:.2f} GiB, "
              f"estimate {r['estimate_bytes'] / 2**30:.2f} GiB")
PY
