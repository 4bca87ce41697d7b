"""Regenerate the README's pictures (tests/test_pictures.py checks they are current).

    python scripts/readme_images.py

* docs/vgg16.svg: ``vgg-inspect diagram vgg16 --annotate params`` (deterministic SVG).
* docs/report.png: the top of ``vgg-inspect report vgg16`` in headless Chromium at 1280 pixels; its
  PNG text chunk ``Source-SHA256`` is the hash of the HTML it shows.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vgg_inspect import analyze  # noqa: E402
from vgg_inspect.render import diagram as figures  # noqa: E402
from vgg_inspect.render import presenters  # noqa: E402
from vgg_inspect.render.html import page  # noqa: E402


def diagram_svg() -> bytes:
    return figures.diagram(analyze("vgg16"), "params", "svg")


def report_html() -> str:
    report = analyze("vgg16")
    views = [*presenters.summary_views(report), *presenters.params_views(report)]
    return page(views, report)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def screenshot(html: str, path: pathlib.Path, width: int, height: int) -> str:
    """Screenshot of ``html`` in headless Chromium; returns Chromium's log (stderr)."""
    browser = chromium()
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        page_file = pathlib.Path(tmp) / "page.html"
        page_file.write_text(html, encoding="utf-8")
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--proxy-server=127.0.0.1:9",
             f"--screenshot={path}", f"--window-size={width},{height}", "--enable-logging=stderr", "--v=0",
             page_file.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    return done.stderr


def main() -> None:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "vgg16.svg").write_bytes(diagram_svg())
    from PIL import Image, PngImagePlugin

    html = report_html()
    with tempfile.TemporaryDirectory() as tmp:
        shot = pathlib.Path(tmp) / "shot.png"
        screenshot(html, shot, 1280, 1100)
        image = Image.open(shot).convert("RGB").quantize(colors=64)
        info = PngImagePlugin.PngInfo()
        info.add_text("Source-SHA256", hashlib.sha256(html.encode("utf-8")).hexdigest())
        image.save(docs / "report.png", pnginfo=info, optimize=True)
    print("wrote docs/vgg16.svg and docs/report.png")


if __name__ == "__main__":
    main()
