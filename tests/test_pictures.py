"""Pictures: the diagram, the HTML report and table exports, checked as a person sees them in a real
browser (headless Chromium), and the README's pictures kept current."""

import hashlib
import itertools
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref

pytest.importorskip("matplotlib")
ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
)


def _svg_texts(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]


@pytest.mark.parametrize("args,kw", [
    (["vgg16"], {"model": "vgg16"}), (["vgg11_lrn_bn"], {"model": "vgg11_lrn_bn"}), (["vgg16_c"], {"model": "vgg16_c"}),
    (["vgg19", "--head", "conv"], {"model": "vgg19", "head": "conv"}),
    (["--config", "32,M,64,LRN,M,1x1-64,M", "--input", "48"], {"config": "32,M,64,LRN,M,1x1-64,M", "input_size": 48}),
])  # fmt: skip
def test_diagram_shows_every_layer_with_its_shape_and_block_totals(tmp_path, args, kw):
    out = tmp_path / "d.svg"
    res = CliRunner().invoke(cli, ["diagram", *args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    texts = " | ".join(_svg_texts(out.read_text()))
    report = vgg_inspect.analyze(kw.pop("model", None), **kw)
    for row in report.layers:
        if row.kind in ("conv", "pool", "fc", "lrn"):
            shape = "×".join(map(str, row.output_shape[1:])) if len(row.output_shape) == 4 else str(row.output_shape[1])
            assert f"{row.name}  {shape}" in texts, row.name
    # each block's parameter total (convs and BatchNorms up to its pool), summed here from the rows
    blocks, current = [], 0
    for row in report.layers:
        current += row.params
        if row.kind == "pool":
            blocks.append(current)
            current = 0
    from vgg_inspect.render.units import si

    for total in blocks:
        assert f"{si(total)} params" in texts


def test_diagram_scales_keep_the_extremes_visible():
    from vgg_inspect.render.diagram import slabs

    geometry = {row.name: (height, depth) for row, height, depth in slabs(vgg_inspect.analyze("vgg16"))}
    heights = [geometry[f"pool{i}"][0] for i in range(1, 6)]
    assert heights == sorted(heights, reverse=True) and heights[-1] > 0.25 * geometry["conv1_1"][0]
    assert geometry["conv1_1"][1] < geometry["conv3_1"][1] < geometry["conv5_1"][1]  # 64 < 256 < 512 channels
    assert geometry["conv1_1"][1] >= 0.15 * geometry["conv5_1"][1]  # 224x224x64 stays visible beside 7x7x512


@pytest.mark.parametrize("suffix,magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_diagram_formats(tmp_path, suffix, magic):
    out = tmp_path / f"d.{suffix}"
    assert CliRunner().invoke(cli, ["diagram", "vgg11", "--annotate", "macs", "-o", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(magic)
    bad = CliRunner().invoke(cli, ["diagram", "vgg11", "-o", str(tmp_path / "d.gif")])
    assert bad.exit_code == 2 and "must end in .svg, .png, .pdf" in bad.output


def _report(tmp_path, *args):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", "vgg16", *args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_report_is_self_contained(tmp_path):
    html = _report(tmp_path).read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert html.count("<svg") == 1  # the diagram, inline; the charts are HTML
    for chart in ("Parameters per layer", "MACs per layer", "Memory per layer", "Receptive field growth"):
        assert chart in html
    assert "width:100.00%" in html  # the largest bar fills its track
    assert "class='marker' style='left:100.00%'" in html  # input 224 px beyond pool5's 212: the marker ends the scale
    for number in ("138,357,544", "15,470,264,320", "15.47 G", "212"):
        assert number in html


@pytest.mark.parametrize("command", [["params"], ["summary"], ["flops", "--train"], ["memory"], ["receptive-field"],
                                     ["variants"], ["explain"], ["list"]])  # fmt: skip
def test_format_html_on_every_command(command):
    res = CliRunner().invoke(cli, [*command, "--format", "html"])
    assert res.exit_code == 0 and res.output.startswith("<!doctype html>") and "<table>" in res.output


def test_exports_save_the_table_as_drawn(tmp_path):
    svg, html = tmp_path / "t.svg", tmp_path / "t.html"
    res = CliRunner().invoke(cli, ["params", "vgg16", "--export-svg", str(svg), "--export-html", str(html)])
    assert res.exit_code == 0
    assert svg.read_text().startswith("<svg") and "102,764,544" in svg.read_text().replace("&#160;", " ")
    assert "102,764,544" in html.read_text() and "<html" in html.read_text()


def _chromium(page, width, height, shot):
    """Screenshot in headless Chromium; (its log, the hosts it asked for). No name resolves (nothing
    leaves the machine), but every request the page makes is in the network log."""
    netlog = shot.with_suffix(".netlog.json")
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}",
         f"--screenshot={shot}", f"--window-size={width},{height}", "--enable-logging=stderr", "--v=0",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    hosts = set(re.findall(r'"url":"(https?://[^"/]+)', netlog.read_text())) if netlog.exists() else set()
    return done.stderr, hosts


def _browser_own_hosts(tmp_path):
    """What Chromium asks for by itself, on an empty page."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>blank</title>")
    return _chromium(blank, 400, 300, tmp_path / "blank.png")[1]


def _not_blank(png):
    from PIL import Image, ImageStat

    image = Image.open(png).convert("L")
    return ImageStat.Stat(image).stddev[0] > 10


@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_report_in_a_real_browser(tmp_path, width):
    page = _report(tmp_path)
    shot = tmp_path / f"shot{width}.png"
    log, hosts = _chromium(page, width, 2000, shot)
    assert shot.exists() and _not_blank(shot)
    assert "CONSOLE" not in log and "Uncaught" not in log  # no console output, let alone errors
    assert hosts <= _browser_own_hosts(tmp_path)  # the page itself requests nothing
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    for number in ("138,357,544", "15.47 G", "212"):
        assert number in dom


@needs_browser
def test_diagram_svg_in_a_real_browser(tmp_path):
    svg = tmp_path / "d.svg"
    CliRunner().invoke(cli, ["diagram", "vgg16", "-o", str(svg)])
    shot = tmp_path / "d.png"
    log, _ = _chromium(svg, 1280, 600, shot)
    assert _not_blank(shot) and "Uncaught" not in log


def test_readme_pictures_are_current():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_images
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs" / "vgg16.svg").read_bytes() == readme_images.diagram_svg()
    from PIL import Image

    recorded = Image.open(ROOT / "docs" / "report.png").text["Source-SHA256"]
    assert recorded == hashlib.sha256(readme_images.report_html().encode("utf-8")).hexdigest(), (
        "docs/report.png is stale: run python scripts/readme_images.py"
    )
    assert ref.PARAMS["vgg16"] == vgg_inspect.analyze("vgg16").totals.params


def test_effective_field_heat_map_in_html():
    res = CliRunner().invoke(cli, ["receptive-field", "vgg11", "--effective", "--input", "64", "--samples", "1",
                                   "--format", "html"])  # fmt: skip
    assert res.exit_code == 0 and "<svg" in res.output and "|gradient| over the field" in res.output


@needs_browser
def test_report_prints(tmp_path):
    page = _report(tmp_path)
    pdf = tmp_path / "report.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=120)  # fmt: skip
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2  # tables flow over pages


def test_picture_names_are_the_tables_shortened():
    from vgg_inspect.render.diagram import picture_name

    assert picture_name("conv3_2") == "conv3_2"
    assert picture_name("F.max_pool2d in StudentVGG.forward#2") == "max_pool2d#2"
    assert picture_name("F.conv2d in FunctionalLayers.forward") == "conv2d"
    assert picture_name("backbone.features.block4.conv_3x3") == "conv_3x3"
    long = picture_name("classifier_layer_with_a_long_name")
    assert len(long) <= 22 and long.startswith("classifier") and long.endswith("long_name") and "…" in long


LONG_NAMES = pathlib.Path(__file__).parent / "models" / "long_names.py"


@pytest.mark.parametrize("model,size", [(f"{LONG_NAMES}:StudentVGG", 32), ("vgg19", 224), ("vgg11_lrn_bn", 64)])
def test_diagram_labels_stay_on_the_page_clear_of_title_and_legend(model, size):
    """Measured as drawn (Agg's font metrics): every label lies inside the figure, and none
    overlaps the title, the legend or another label."""
    pytest.importorskip("matplotlib")
    if ":" in model:
        pytest.importorskip("torch")  # your own model is traced with torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from vgg_inspect.render.diagram import figure

    fig = figure(vgg_inspect.analyze(model, device="meta" if ":" in model else None, input_size=size))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    page = fig.bbox
    title = ax.title.get_window_extent(renderer)
    legend = fig.legends[0].get_window_extent(renderer)
    labels = [t.get_window_extent(renderer) for t in ax.texts if t.get_rotation() == 90]
    assert labels
    for box in labels:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
        assert not box.overlaps(title) and not box.overlaps(legend)
    for a, b in itertools.pairwise(labels):
        assert a.x1 <= b.x0  # side by side, never on top of each other
    blocks = [t for t in ax.texts if t.get_rotation() == 0]
    assert all(page.x0 <= t.get_window_extent(renderer).x0 and t.get_window_extent(renderer).x1 <= page.x1
               for t in blocks)  # fmt: skip


def test_report_charts_keep_each_name_on_one_line(tmp_path):
    """The HTML charts' name column is as wide as the longest (shortened) name."""
    pytest.importorskip("torch")  # the model is your code: traced with torch
    from vgg_inspect.render.html import charts

    html_text = charts(vgg_inspect.analyze(f"{LONG_NAMES}:StudentVGG", device="meta", input_size=32))
    assert "max_pool2d#2" in html_text and "F.max_pool2d in" not in html_text
    widths = {int(w) for w in re.findall(r"--name: (\d+)ch", html_text)}
    assert widths == {22}  # the longest shortened name (21 characters: 10, an ellipsis, 10) and a space


@needs_browser
def test_notebook_html_leaves_the_notebooks_own_styles_alone(tmp_path):
    """A notebook page with a table of its own, then the report's cell output (_repr_html_): in a real
    browser the notebook's table, headings and body keep the browser's styles, while the report's
    own table header gets its background (issue 30: the old :root, body, table, th rules restyled
    the whole notebook)."""
    import vgg_inspect

    fragment = vgg_inspect.analyze("vgg11")._repr_html_()
    probe = """<script>
    const own = document.querySelector('#own th'), theirs = document.querySelector('.vgg-inspect th');
    const s = e => getComputedStyle(e);
    document.body.setAttribute('data-probe', JSON.stringify({
      own_th: s(own).backgroundColor, own_pad: s(own).paddingLeft, body_margin: s(document.body).marginTop,
      body_font: s(document.body).fontFamily, report_th: s(theirs).backgroundColor}));
    </script>"""
    page = tmp_path / "notebook.html"
    page.write_text("<!doctype html><html><body><table id='own'><tr><th>notebook</th></tr></table>"
                    f"{fragment}{probe}</body></html>")  # fmt: skip
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    import html as html_lib
    import json

    probe_json = json.loads(html_lib.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))
    assert probe_json["report_th"] == "rgb(246, 248, 250)"  # the report's own header is styled
    assert probe_json["own_th"] == "rgba(0, 0, 0, 0)" and probe_json["own_pad"] == "1px"  # the notebook's is not
    assert probe_json["body_margin"] == "8px" and "system-ui" not in probe_json["body_font"]
