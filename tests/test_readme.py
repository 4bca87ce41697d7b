"""The README as a new user meets it: its first screens, its command table, links that resolve, and
the conventions quoted as the tool states them (tests/test_docs.py runs every example)."""

import pathlib
import re

from vgg_inspect.cli import cli

ROOT = pathlib.Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONVENTIONS = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")


def test_the_first_screens_show_install_three_commands_and_the_diagram():
    """What it is, how to install it, three commands with their output and the picture, before
    line 100; then the command table, the MODEL grammar, the shared options and the links to docs/
    (the outputs themselves are compared by tests/test_docs.py)."""
    lines = README.splitlines()
    first = "\n".join(lines[:100])
    assert "pip install -e ." in first and 'pip install -e ".[all]"' in first
    assert len(re.findall(r"^\$ vgg-inspect ", first, re.M)) == 3
    assert "![VGG16, drawn by vgg-inspect diagram](docs/vgg16.svg)" in first
    headings = re.findall(r"^## (.*)$", README, re.M)
    assert headings[:6] == ["In a minute", "Set-up: two commands", "Commands", "MODEL",
                            "Options every model command shares", "Documentation"]  # fmt: skip
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)", README))
    assert linked == {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}


def test_the_command_table_lists_every_command_and_says_what_needs_torch():
    import click

    table = README.split("## Commands\n")[1].split("\n## ")[0]
    listed = {name for cell in re.findall(r"^\| ([^|]+) \|", table, re.M) for name in re.findall(r"`([\w-]+)`", cell)}
    assert listed == set(cli.list_commands(click.Context(cli)))
    needs = dict(re.findall(r"^\| `([\w-]+)`[^|]*\|[^|]*\|\s*([^|]*?)\s*\|$", table, re.M))
    assert "torch" in needs["bench"] and "matplotlib" in needs["diagram"] and needs["params"] == ""


def test_docs_links_resolve():
    """Every relative link of README and docs/ points at a file that exists, and every #anchor at a
    heading of that page (GitHub's slugs)."""

    def slug(heading: str) -> str:
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith("http"):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and dest.suffix == ".md":
                slugs = {slug(h) for h in re.findall(r"^#+ (.*)$", dest.read_text(encoding="utf-8"), re.M)}
                if anchor not in slugs:
                    broken.append(f"{page.name}: {target}")
    assert broken == []


def test_readme_quotes_every_convention_as_the_tool_states_it():
    """Each convention's text is defined once (report/assemble.CONVENTIONS) and the README quotes the
    words a report carries, so the two cannot drift apart."""
    import vgg_inspect

    items = re.findall(r"^- `(\w+)`: (.*?)\.\n(?=- |\n|\Z)", CONVENTIONS, re.M | re.S)
    listed = {key: " ".join(text.split()) for key, text in items}  # the page wraps them at 100 columns
    stated = vgg_inspect.analyze("vgg16").conventions
    assert {k: listed.get(k) for k in stated} == stated


def test_contributing_names_only_files_that_exist():
    """CONTRIBUTING.md (the layout, adding an op in two files and one suite entry, the benchmarks):
    every file path it names in backquotes exists, so the guide does not drift from the code."""
    root = pathlib.Path(__file__).parents[1]
    text = (root / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "two files" in text and "tests/test_op_suite.py" in text
    paths = set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.(?:py|json|toml|sh))`", text))
    assert paths
    missing = [p for p in sorted(paths) if not any((base / p).exists() for base in (root, root / "vgg_inspect"))]
    assert missing == []
    assert "CONTRIBUTING.md" in README and "LICENSE" in README and (root / "LICENSE").exists()
