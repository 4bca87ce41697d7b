"""vgg-inspect: architecture analysis for VGG networks.

``analyze("vgg16", input_size=224)`` returns a typed :class:`~vgg_inspect.report.model.Report`.
Importing this package imports neither torch nor click nor rich: built-in variants are analysed
with closed-form formulas, and torch is loaded only when a device or a user's ``nn.Module`` is
analysed. Bad arguments raise :class:`VggInspectError`, a ``ValueError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import AnalysisError, VggInspectError

if TYPE_CHECKING:
    from .report.model import Report


def analyze(model: str | None = None, **kwargs: Any) -> Report:
    """Analyse a variant; see :func:`vgg_inspect.api.analyze` for the options."""
    from .api import analyze as _analyze

    return _analyze(model, **kwargs)


def analyze_module(module: Any, input_shape: Any, **kwargs: Any) -> Report:
    """Analyse any instantiated ``nn.Module``; see :func:`vgg_inspect.api.analyze_module`."""
    from .api import analyze_module as _analyze_module

    return _analyze_module(module, input_shape, **kwargs)


__all__ = ["AnalysisError", "VggInspectError", "__version__", "analyze", "analyze_module"]
