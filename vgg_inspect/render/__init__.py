"""From typed data to what people read: views (columns, notes) per command, rendered as a rich
table, CSV or Markdown; number and unit formatting. A new output format is a function over
``views.View`` here; only ``rich_table`` (and ``output``, lazily) import rich."""
