"""The workflow a user runs today on their own VGG file: build it, torchinfo.summary, fvcore's
FlopCountAnalysis. The baseline for ``summary file.py:VGGNet`` in bench_cli.py.

    python benchmarks/user_workflow.py FILE.py:NAME BATCH SIZE
"""

from __future__ import annotations

import importlib.util
import sys

import torch
import torchinfo
from fvcore.nn import FlopCountAnalysis


def main() -> None:
    reference, batch, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    path, name = reference.rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("user_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, name)()
    torchinfo.summary(model, input_size=(batch, 3, size, size), verbose=0)
    analysis = FlopCountAnalysis(model, torch.zeros(batch, 3, size, size))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    print(analysis.total())


if __name__ == "__main__":
    main()
