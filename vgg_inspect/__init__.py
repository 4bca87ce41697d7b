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


def summary(model: Any, input_shape: Any = None, **kwargs: Any) -> Report:
    """The one-liner: ``vgg_inspect.summary(model, (1, 3, 224, 224))`` for any ``nn.Module`` instance,
    or ``vgg_inspect.summary("vgg16")`` for a variant (``input_shape``, if given, sets batch, channels
    and size). It returns the report, which prints as the summary table (and shows as HTML in a
    notebook); ``kwargs`` go to :func:`analyze_module` or :func:`analyze`."""
    if isinstance(model, str) or model is None:
        if input_shape is not None:
            from . import validate

            n, c, h, w = validate.shape(input_shape) + (0,) * (4 - len(validate.shape(input_shape)))
            kwargs = {"batch": n, "in_channels": c, "input_size": (h, w), **kwargs}
        return analyze(model, **kwargs)
    if input_shape is None:
        raise VggInspectError("input_shape is needed for a module, e.g. (1, 3, 224, 224)")
    return analyze_module(model, input_shape, **kwargs)


def _install_views() -> None:
    """How a Report shows itself (print, rich, notebooks), installed here: the core may not import
    the renderers, and they are imported only when a report is shown."""
    from .report import model

    def text(report: Any) -> str:
        from .render.notebook import as_text

        return as_text(report)

    def rich(report: Any) -> Any:
        from .render.notebook import as_rich

        return as_rich(report)

    def html(report: Any) -> str:
        from .render.notebook import as_html

        return as_html(report)

    model.VIEWS.update(text=text, rich=rich, html=html)


_install_views()

__all__ = ["AnalysisError", "VggInspectError", "__version__", "analyze", "analyze_module", "summary"]


def __dir__() -> list[str]:
    """The API, not the module's imports (``Any``, ``TYPE_CHECKING``, ``annotations``)."""
    return sorted(__all__)
