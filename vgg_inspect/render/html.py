"""One self-contained HTML page (no network requests: styles and pictures inline) from a command's
views, and for a model report its diagram and charts. Readable at phone width, printable."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from .views import View

STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --fail: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.4rem; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 0.4rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.85rem; width: 100%; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; text-align: right; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.left, th.left { text-align: left; }
td.prose { white-space: normal; min-width: 12rem; }
tr.dim td { color: var(--muted); }
tr.fail td { color: var(--fail); font-weight: 600; }
ul.notes { color: var(--muted); font-size: 0.85rem; padding-left: 1.2rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figure.diagram { overflow-x: auto; }
figure.diagram svg { min-width: 860px; }  /* on a phone it scrolls rather than shrinks to unreadable */
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 16px; }
.chart h3 { font-size: 0.95rem; margin: 0 0 0.3rem; }
.bar { display: grid; grid-template-columns: var(--name, 8ch) 1fr 7.5rem; gap: 6px; align-items: center;
       font-size: 0.78rem; font-family: ui-monospace, monospace; }
.bar .name { white-space: nowrap; }
.bar .value { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.track { position: relative; height: 0.75rem; background: #f3f4f6; border-radius: 2px; }
.fill { position: absolute; left: 0; height: 50%; background: #4C78A8; border-radius: 2px; }
.fill.full { height: 100%; }
.fill.second { top: 50%; background: #F58518; }
.marker { position: absolute; top: -2px; bottom: -2px; border-left: 2px dashed #E45756; }
.legend { font-size: 0.78rem; color: var(--muted); }
.swatch { display: inline-block; width: 0.8rem; height: 0.6rem; margin: 0 0.2rem 0 0.6rem; }
@media (max-width: 600px) { body { font-size: 14px; } main { padding: 10px; } table { font-size: 0.78rem; } }
@media print { .scroll { overflow: visible; border: none; } th { position: static; }
               figure, table { break-inside: avoid; } main { max-width: none; } }
"""


def _table(view: View) -> str:
    if not view.columns:
        return ""
    head = "".join(
        f'<th class="{"left" if c.justify == "left" else ""}">{html.escape(c.header)}</th>' for c in view.columns
    )
    body = []
    for row in view.rows:
        style = view.styles(row) or ""
        css = "fail" if "red" in style else "dim" if "dim" in style else ""
        cells = []
        for i, c in enumerate(view.columns):
            text = html.escape(c.cell(row))
            if view.emphasis and view.emphasis(row, i) and text:
                text = f"<strong>{text}</strong>"
            kind = "prose" if c.wrap else "left" if c.justify == "left" else ""
            cells.append(f'<td class="{kind}">{text}</td>')
        body.append(f'<tr class="{css}">{"".join(cells)}</tr>')
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _view(view: View) -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in view.notes)
    heat = ""
    if view.heatmap:
        from . import diagram as figures

        heat = f"<figure>{figures.heatmap(view.heatmap)}</figure>"
    return f"<section><h2>{html.escape(view.title)}</h2>{_table(view)}<ul class='notes'>{notes}</ul>{heat}</section>"


def page(views: Sequence[View], document: Any) -> str:
    """The page: title, conventions, the diagram and charts of a model report, then the views."""
    from ..report.model import Report

    title = views[0].title if views else "vgg-inspect"
    parts = []
    if isinstance(document, Report):
        from . import diagram as figures
        from . import units

        m, i, t = document.model, document.input, document.totals
        title = f"vgg-inspect: {m.name}"
        parts.append(
            f"<p class='meta'>Input {units.shape(i.shape)}, {i.dtype}, "
            f"{_how(document)}. "
            f"{t.params:,} parameters; {t.macs:,} MACs ({units.si(t.macs)}); {t.flops:,} FLOPs. "
            f"MACs: {html.escape(document.conventions['macs'])}. FLOPs: {html.escape(document.conventions['flops'])}."
            " MiB = 2<sup>20</sup> bytes, MB = 10<sup>6</sup> bytes.</p>"
        )
        if any(r.kind in figures.SHOWN for r in document.layers):
            parts.append(f"<figure class='diagram'>{figures.inline(figures.diagram(document))}</figure>")
            parts.append(f"<section><h2>Charts</h2><div class='charts'>{charts(document)}</div></section>")
        if document.roofline:
            from .roofline_plot import draw_roofline

            parts.append(f"<figure class='roofline'>{figures.inline(draw_roofline(document, 'svg'))}</figure>")
    parts.extend(_view(v) for v in views)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{''.join(parts)}</main></body></html>\n"
    )


def _how(report: Any) -> str:  # a Report
    if report.input.device:
        return f"instantiated on {report.input.device}"
    if report.model.from_file:
        return "read from the file's description"
    return "your module traced on meta" if report.model.from_module else "closed-form analysis"


def _bars(title: str, rows: list[tuple[str, list[float], str]], legend: list[str], marker: float | None = None) -> str:
    """A bar chart in plain HTML and CSS: one row per layer, bars scaled to the largest value."""
    top = max([max(values) for _, values, _ in rows] + [marker or 0, 1e-12])
    lines = []
    for name, values, text in rows:
        fills = "".join(
            f"<span class='fill {'full' if len(values) == 1 else 'second' if i else ''}' "
            f"style='width:{100 * v / top:.2f}%'></span>"
            for i, v in enumerate(values)
        )
        mark = f"<span class='marker' style='left:{100 * marker / top:.2f}%'></span>" if marker else ""
        lines.append(f"<div class='bar'><span class='name'>{html.escape(name)}</span><span class='track'>{fills}"
                     f"{mark}</span><span class='value'>{html.escape(text)}</span></div>")  # fmt: skip
    colours = ["#4C78A8", "#F58518", "#E45756"]
    key = "".join(
        f"<span class='swatch' style='background:{c}'></span>{html.escape(k)}" for c, k in zip(colours, legend)
    )
    widest = max([len(name) for name, _, _ in rows] + [6])  # the name column fits the longest, on one line
    return (f"<div class='chart' style='--name: {widest + 1}ch'><h3>{html.escape(title)}</h3>"
            f"<div class='legend'>{key}</div>{''.join(lines)}</div>")  # fmt: skip


def charts(report: Any) -> str:
    """Parameters, MACs and memory per layer, and the receptive field's growth with the input size
    marked: plain HTML bars, exact values beside them."""
    from . import units
    from .diagram import SHOWN, picture_name

    rows = [r for r in report.layers if r.kind in SHOWN]
    names = [picture_name(r.name) for r in rows]  # the diagram's labels: one line each
    out = [
        _bars("Parameters per layer", [(n, [r.params], f"{r.params:,}") for n, r in zip(names, rows)], ["parameters"]),
        _bars("MACs per layer", [(n, [r.macs or 0], units.si(r.macs or 0)) for n, r in zip(names, rows)], ["MACs"]),
        _bars("Memory per layer", [(n, [r.activation_bytes, r.saved_bytes],
                                    f"{units.binary(r.activation_bytes)} / {units.binary(r.saved_bytes)}")
                                   for n, r in zip(names, rows)],
              ["output", "saved for backward"]),
    ]  # fmt: skip
    local = [r for r in rows if r.field_status == "local" and isinstance(r.receptive_field, int)]
    if local:
        side = max(report.input.shape[2:])
        out.append(_bars("Receptive field growth (dashed: the input size)",
                         [(picture_name(r.name), [r.receptive_field], f"{r.receptive_field} px") for r in local],
                         ["receptive field", f"input: {side} px"], marker=side))  # fmt: skip
    return "".join(out)
