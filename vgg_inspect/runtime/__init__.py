"""The only package that imports torch (and torchinfo, fvcore): building a VGG on a device,
tracing any ``nn.Module``, the peers, the empirical receptive field and real measurements.

Everything here is imported lazily, when a device, a user's module or a measurement is asked for.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingDependency

_INSTALL = {
    "torch": "pip install torch (the CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "torchinfo": "pip install torchinfo",
    "fvcore": "pip install fvcore",
}


def require(package: str, why: str) -> ModuleType:
    """Import an optional dependency, or say which package to install for what."""
    try:
        return importlib.import_module(package)
    except ImportError:
        how = _INSTALL.get(package, f"pip install {package}")
        raise MissingDependency(
            f"{why} needs the '{package}' package, which is not installed: {how}"
            " (or pip install 'vgg-inspect[torch]' for all of them)"
        ) from None
