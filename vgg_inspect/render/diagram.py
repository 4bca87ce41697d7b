"""Pictures drawn with matplotlib (imported here only, and only by the commands that draw): the
classic VGG figure with the report's numbers on it, and the per-layer charts of the HTML report.

Slabs: one per conv, pool and FC layer in execution order; height follows the spatial size and
thickness the channel count, both on log scales so that 224x224x64 and 7x7x512 stay visible.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from ..ops import LayerKind
from ..report.model import LayerRow, Report
from . import units

COLOURS = {LayerKind.CONV: "#4C78A8", LayerKind.POOL: "#E45756", LayerKind.FC: "#54A24B", LayerKind.LRN: "#B279A2",
           LayerKind.AVGPOOL: "#F58518"}  # fmt: skip
KIND_NAMES = {LayerKind.CONV: "conv", LayerKind.POOL: "max-pool", LayerKind.FC: "fully connected", LayerKind.LRN: "LRN",
              LayerKind.AVGPOOL: "average pool"}  # fmt: skip
SHOWN = tuple(COLOURS)
ANNOTATIONS = ("params", "macs", "memory", "rf")


CALL = re.compile(r"(?:F\.)?(?P<op>[\w.]+) in \S+?(?P<n>#\d+)?")
LONGEST = 22  # characters of a layer's label in a picture


def picture_name(name: str) -> str:
    """A layer's label in pictures: the table's name, shortened where it would not fit. A
    functional call is its op and count (``F.max_pool2d in StudentVGG.forward#2``: max_pool2d#2), a
    long module path its last part, and what is still too long keeps its two ends around an
    ellipsis (the table's Module column has the whole path)."""
    call = CALL.fullmatch(name)
    if call:
        name = call["op"] + (call["n"] or "")
    if len(name) > LONGEST and "." in name:
        name = name.rsplit(".", 1)[1]
    if len(name) > LONGEST:
        half = (LONGEST - 1) // 2
        name = f"{name[:half]}…{name[-half:]}"
    return name


def _figure(width: float, height: float) -> Any:
    try:
        import matplotlib
    except ImportError:
        from ..errors import MissingDependency

        raise MissingDependency(
            "drawing needs the 'matplotlib' package, which is not installed: pip install matplotlib "
            "(or pip install 'vgg-inspect[pictures]')"
        ) from None

    matplotlib.rcParams["svg.hashsalt"] = "vgg-inspect"  # stable ids: the same figure is the same file
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=110 if fmt == "png" else None, metadata=_metadata(fmt))
    return buffer.getvalue()


def inline(svg: bytes | str) -> str:
    """An SVG document as an element for an HTML page: no XML prolog, doctype or RDF metadata."""
    import re

    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "svg":
        return {"Date": None, "Creator": "vgg-inspect"}
    if fmt == "pdf":
        return {"CreationDate": None, "Creator": "vgg-inspect"}
    return {"Software": "vgg-inspect"}


def _spatial(row: LayerRow) -> tuple[int, int]:
    shape = row.output_shape
    return (shape[2], shape[3]) if len(shape) == 4 else (1, 1)


def _annotation(row: LayerRow, what: str) -> str:
    if what == "params":
        return units.si(row.params) if row.params else ""
    if what == "macs":
        return units.si(row.macs) if row.macs else ""
    if what == "memory":
        return units.binary(row.activation_bytes)
    field = row.receptive_field
    return "global" if row.field_status == "global" else "" if field is None else f"RF {field}"


def slabs(report: Report) -> list[tuple[LayerRow, float, float]]:
    """(layer, height, thickness) of each slab: height on a log scale of the spatial size (of the
    feature count for FC layers), thickness on a log scale of the channels."""
    rows = [r for r in report.layers if r.kind in SHOWN]
    largest = max([*(max(_spatial(r)) for r in rows), 2])
    out = []
    for row in rows:
        c = row.output_shape[1]
        height = 0.6 + 2.6 * math.log2(max(max(_spatial(row)), 1)) / math.log2(largest)
        if row.kind == LayerKind.FC:
            height = 0.6 + 2.6 * math.log2(max(c, 2)) / math.log2(max(4096, c))
        depth = 0.1 + 0.8 * min(max(math.log2(max(c, 2)) - 5, 0), 7) / 7  # 32 channels thin, 4096 thick
        out.append((row, height, depth))
    return out


def _block_totals(report: Report) -> list[tuple[int, int]]:
    """(params, MACs) of each block (every layer up to and including its max-pool: BN counts), then
    of the head."""
    out, params, macs = [], 0, 0
    for row in report.layers:
        params += row.params
        macs += row.macs or 0
        if row.kind == LayerKind.POOL:
            out.append((params, macs))
            params = macs = 0
    return [*out, (params, macs)]


def diagram(report: Report, annotate: str | None = None, fmt: str = "svg") -> bytes:
    """The network as slabs, grouped by block, with shapes and per-block totals."""
    return save(figure(report, annotate), fmt)


def figure(report: Report, annotate: str | None = None) -> Any:
    """The diagram's matplotlib Figure, laid out (what ``diagram`` saves)."""
    fig = _figure(8.0, 4.6)  # checks that matplotlib is there before anything else
    from matplotlib.patches import Polygon, Rectangle

    geometry = slabs(report)
    if not geometry:
        from ..errors import AnalysisError

        raise AnalysisError(
            f"nothing to draw: {report.model.name} has no conv, pool, LRN or fully connected layer (the diagram "
            "draws those); summary lists its layers"
        )
    rows = [g[0] for g in geometry]
    fig.set_size_inches(max(8.0, 0.42 * len(rows) + 2), 4.6)
    ax = fig.add_subplot()
    x = 0.0
    labels: list[Any] = []
    blocks: list[list[tuple[LayerRow, float]]] = [[]]
    for row, height, depth in geometry:
        c = row.output_shape[1]
        colour = COLOURS[row.kind]
        ax.add_patch(Rectangle((x, -height / 2), depth, height, facecolor=colour, edgecolor="#222", lw=0.6))
        skew = min(0.25, depth * 0.8)
        ax.add_patch(Polygon([(x, height / 2), (x + skew, height / 2 + skew), (x + depth + skew, height / 2 + skew),
                              (x + depth, height / 2)], closed=True, facecolor=colour, alpha=0.55, lw=0.4,
                             edgecolor="#222"))  # fmt: skip
        label = "×".join(map(str, row.output_shape[1:])) if len(row.output_shape) == 4 else str(c)
        labels.append(ax.text(x + depth / 2, height / 2 + skew + 0.12, f"{picture_name(row.name)}  {label}",
                              rotation=90, ha="center", va="bottom", fontsize=7))  # fmt: skip
        if annotate:
            ax.text(x + depth / 2, -height / 2 - 0.1, _annotation(row, annotate), rotation=90, ha="center",
                    va="top", fontsize=6.5, color="#333")  # fmt: skip
        blocks[-1].append((row, x))
        if row.kind == LayerKind.POOL:
            blocks.append([])
        x += depth + 0.22
    totals = _block_totals(report)
    for number, block in enumerate((b for b in blocks if b), start=1):
        first, last = block[0][1], block[-1][1] + 0.3
        params, macs = totals[number - 1] if number - 1 < len(totals) else (0, 0)
        last_row = block[-1][0]
        field = "global" if last_row.field_status == "global" else last_row.receptive_field
        names = (
            "head" if any(r.kind == LayerKind.FC or r.name.startswith("fc") for r, _ in block) else f"block {number}"
        )
        ax.annotate("", xy=(first, -2.55), xytext=(last, -2.55), arrowprops={"arrowstyle": "-", "color": "#888"})
        ax.text((first + last) / 2, -2.7, f"{names}\n{units.si(params)} params\n{units.si(macs)} MACs\nRF {field}",
                ha="center", va="top", fontsize=6.5)  # fmt: skip
    ax.set_xlim(-0.3, x + 0.3)
    ax.set_ylim(-4.2, 4.6)
    ax.axis("off")
    m, i = report.model, report.input
    ax.set_title(f"{m.name}: input {units.shape(i.shape)}, {units.si(report.totals.params)} params, "
                 f"{units.si(report.totals.macs)} MACs", fontsize=10, loc="left")  # fmt: skip
    handles = [Rectangle((0, 0), 1, 1, facecolor=COLOURS[k]) for k in SHOWN if any(r.kind == k for r in rows)]
    kinds = [KIND_NAMES[k] for k in SHOWN if any(r.kind == k for r in rows)]
    fig.legend(handles, kinds, loc="outside lower right", fontsize=7, frameon=False, ncol=len(kinds))
    _fit_labels(fig, ax, labels)
    return fig


def _fit_labels(fig: Any, ax: Any, labels: list[Any]) -> None:
    """Room above the slabs for the longest label: the figure grows with it, and the axes' top is
    raised until every label ends inside them (nothing runs into the title or off the page)."""
    if not labels:
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]  # SVG's and PDF's font metrics
    fig.draw_without_rendering()
    tallest = max(t.get_window_extent(renderer).height for t in labels) / fig.dpi  # inches
    fig.set_size_inches(fig.get_size_inches()[0], 4.6 + max(0.0, tallest - 1.2))
    for _ in range(4):  # the scale changes with the limits: a few rounds settle it
        fig.draw_without_rendering()
        to_data = ax.transData.inverted()
        top = max(to_data.transform((0, t.get_window_extent(renderer).y1))[1] for t in labels)
        low, high = ax.get_ylim()
        if high - 0.05 <= top + 0.15 <= high:
            break
        ax.set_ylim(low, max(4.6, top + 0.15))


def heatmap(grid: list[list[float]]) -> str:
    """The empirical field's |gradient| as an SVG image."""
    fig = _figure(3.2, 3.0)
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="inferno", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("|gradient| over the field", fontsize=9)
    ax.axis("off")
    return inline(save(fig, "svg"))
