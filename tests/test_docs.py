"""Every example in README.md and docs/*.md runs, and prints what the page shows (tests/docs.py says
how the pages are read; ``python -m tests.docs --write`` records the real outputs)."""

from __future__ import annotations

import difflib
import pathlib

import pytest

from . import docs

ALL = [ex for page in docs.pages() for ex in docs.examples(page)]


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    made: dict[pathlib.Path, pathlib.Path] = {}

    def folder(page: pathlib.Path) -> pathlib.Path:
        if page not in made:
            made[page] = tmp_path_factory.mktemp(page.stem.lower())
        return made[page]

    return folder


@pytest.mark.parametrize("ex", ALL, ids=[ex.id for ex in ALL])
def test_example(ex, folders):
    folder = folders(ex.page)
    out = docs.run(ex, folder, folder / ".cache")
    if out.skipped:
        pytest.skip(out.skipped)
    assert "Traceback" not in out.output or ex.kind != "command", out.output
    assert out.exit_code == ex.exit_code, f"{ex.id} {ex.text}: exit {out.exit_code}\n{out.output}"
    if ex.expected is not None:
        actual = docs.normalised(out.output)
        if not docs.matches(ex.expected, actual):
            diff = "\n".join(difflib.unified_diff(ex.expected, actual, "page", "real", lineterm=""))
            pytest.fail(f"{ex.id} {ex.text}: the page shows another output "
                        f"(python -m tests.docs --write records it)\n{diff}")  # fmt: skip


def test_every_page_has_examples_and_every_command_shows_its_output():
    for page in docs.pages():
        assert docs.examples(page), page.name
    shown = [ex for ex in ALL if ex.kind == "command" and ex.expected is not None]
    assert len(shown) >= 60


def test_pages_are_wrapped_at_100_columns():
    """Prose and code alike: a page reads in a 100-column editor or terminal without wrapping (a
    table row of the Markdown source and a link may run longer)."""
    long = [
        f"{page.name}:{n}"
        for page in docs.pages()
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > docs.COLUMNS and not line.startswith("|") and "](" not in line
    ]
    assert long == []


def test_the_runner_compares_and_elides():
    assert docs.matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert docs.matches(["a", "...", "d"], ["a", "d"])
    assert not docs.matches(["a", "...", "d"], ["a", "b", "c"])
    assert not docs.matches(["a", "b"], ["a", "c"])
    page = pathlib.Path("x.md")
    exs = docs._console(page, ["$ vgg-inspect list  # exit 1", "out", "", "$ vgg-inspect params"], 10)
    assert [(e.text, e.exit_code, e.expected) for e in exs] == [("vgg-inspect list", 1, ["out", ""]),
                                                                ("vgg-inspect params", 0, [])]  # fmt: skip
