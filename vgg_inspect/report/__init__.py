"""The typed report (pure Python): records and their JSON contract (``schema.json``), the
builder from traces, and ``check``'s expectations. A new report section is a named field of
``Report`` plus its entry in ``schema.json``."""

from .model import SCHEMA_VERSION, LayerRow, Report, Totals

__all__ = ["SCHEMA_VERSION", "LayerRow", "Report", "Totals"]
