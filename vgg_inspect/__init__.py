"""vgg-inspect: architecture analysis for VGG networks.

``analyze("vgg16", input_size=224)`` returns a :class:`~vgg_inspect.report.Report`. Importing this
package does not import torch: built-in variants are analysed with closed-form formulas, and torch
is loaded only when a device is asked for (or a user's ``nn.Module`` is analysed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .report import Report


def analyze(model: str | None = None, **kwargs: Any) -> "Report":
    """Analyse a variant; see :func:`vgg_inspect.analysis.analyze` for the options."""
    from .analysis import analyze as _analyze

    return _analyze(model, **kwargs)


def analyze_module(module: Any, input_shape: tuple[int, ...], **kwargs: Any) -> "Report":
    """Analyse any instantiated ``nn.Module``; see :func:`vgg_inspect.analysis.analyze_module`."""
    from .analysis import analyze_module as _analyze_module

    return _analyze_module(module, input_shape, **kwargs)


__all__ = ["__version__", "analyze", "analyze_module"]
