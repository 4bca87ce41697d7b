"""The documentation as a newcomer follows it: README.md and docs/*.md, read page by page.

A page's examples run in order in one folder of their own, as a reader typing them would run them:

- a ```console block holds ``$ command`` lines, each followed by the output it prints (stdout and
  stderr as a terminal shows them, at 100 columns). ``vgg-inspect`` runs in process; ``python
  file.py`` runs in a subprocess. A line ``...`` in the shown output stands for any number of lines
  (measured times); ``# exit N`` at the end of a command says the exit status it must have (else 0);
- a ```python block headed with a file name (```python my_vgg.py) is written to that file; one
  without is run there, and one that defines ``test_*`` functions is run by pytest;
- a ```bash block's ``vgg-inspect`` lines run and must exit 0 (they show no output); its other lines
  (``pip install``, ``python -m venv``) are set-up, run by CI on a fresh clone;
- a ```yaml block's ``vgg-inspect`` commands (a GitHub Actions ``run:``, a pre-commit hook's args)
  run as written.

``python -m tests.docs --write [PAGE ...]`` writes the real outputs into the pages (a block with
``...`` keeps its elision when the output still matches it, and is named when it does not).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[1]
COLUMNS = 100
FENCE = re.compile(r"^```([\w-]*)(?:[ \t]+(\S+))?[ \t]*$")
EXIT = re.compile(r"\s+#\s*exits?\s+(\d+)\b.*$")
GPU_ONLY = ("--device cuda", "--measure")
# Files the pages use that a reader makes with other frameworks (the pages say how): the tests make
# them with keras and torch when those are installed.
FRAMEWORK_FILES = ("vgg16.json", "vgg16.keras", "vgg16.onnx", "vgg16_bn.onnx")


def pages() -> list[pathlib.Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclasses.dataclass
class Example:
    """One thing a page asks the reader to do, in page order."""

    page: pathlib.Path
    line: int  # 1-based line of the command (or of the block's fence)
    kind: str  # "command", "file", "python", "pytest"
    text: str  # the command line, or the block's code
    exit_code: int = 0
    expected: list[str] | None = None  # shown output lines; None where a block shows none
    filename: str | None = None
    span: tuple[int, int] | None = None  # 0-based [start, end) of the shown output in the page

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def _console(page: pathlib.Path, lines: list[str], first: int) -> list[Example]:
    found: list[Example] = []
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            cmd = line[2:]
            code = 0
            if m := EXIT.search(cmd):
                code, cmd = int(m.group(1)), cmd[: m.start()]
            found.append(Example(page, first + i + 1, "command", cmd.strip(), code, [], span=(first + i + 1, 0)))
        elif found:
            assert found[-1].expected is not None
            found[-1].expected.append(line)
        else:
            raise ValueError(f"{page.name}:{first + i + 1}: console output before any '$ ' command")
    for ex, nxt in zip(found, [*found[1:], None], strict=True):
        end = first + len(lines) if nxt is None else nxt.line - 1
        ex.span = (ex.line, end)
    return found


def _commands_in(text: str) -> list[str]:
    """The vgg-inspect commands of a shell line or a CI step: each ``vgg-inspect ...`` segment."""
    found = []
    for segment in re.split(r"&&|\|\||;", text):
        segment = re.split(r"\s#\s", segment)[0].strip()
        if segment.startswith("vgg-inspect "):
            found.append(segment)
    return found


def _yaml(page: pathlib.Path, code: str, line: int) -> list[Example]:
    import yaml

    found = []
    data = yaml.safe_load(code)
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict):
            continue
        for cmd in _commands_in(str(item.get("run", ""))):
            found.append(Example(page, line, "command", cmd))
        for hook in item.get("hooks", []):  # a pre-commit hook of this repository: its entry + args
            hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
            entry = next(h["entry"] for h in hooks if h["id"] == hook["id"])
            found.append(Example(page, line, "command", shlex.join([*shlex.split(entry), *hook.get("args", [])])))
    return found


def examples(page: pathlib.Path) -> list[Example]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, name = m.group(1), m.group(2)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[i + 1 : end]
        code = "\n".join(body) + "\n"
        if lang == "console":
            found += _console(page, body, i + 1)
        elif lang in ("bash", "sh"):
            for k, line in enumerate(body):
                found += [Example(page, i + k + 2, "command", c) for c in _commands_in(line)]
        elif lang == "yaml":
            found += _yaml(page, code, i + 1)
        elif lang == "python" and name:
            found.append(Example(page, i + 1, "file", code, filename=name))
        elif lang == "python":
            kind = "pytest" if re.search(r"^def test_", code, re.M) else "python"
            found.append(Example(page, i + 1, kind, code))
        elif any(line.lstrip().startswith("vgg-inspect ") for line in body):
            raise ValueError(f"{page.name}:{i + 1}: a vgg-inspect command in a ```{lang} block: use console or bash")
        i = end + 1
    return found


@dataclasses.dataclass
class Outcome:
    exit_code: int
    output: str
    skipped: str | None = None


def _make_framework_file(folder: pathlib.Path, name: str) -> str | None:
    """Make one of the other frameworks' files as the pages say they were made; a reason if not."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import torch

        if name.endswith(".onnx"):
            import onnx  # noqa: F401  (torch.onnx.export needs it)
        else:
            import keras
    except ImportError as exc:
        return f"making {name} needs {exc.name}"
    if name.endswith(".onnx"):
        from tests.models.twins import torchvision_twin

        net = torchvision_twin(torch, name.removesuffix(".onnx"))
        torch.onnx.export(net, (torch.randn(1, 3, 224, 224),), str(folder / name), dynamo=False, opset_version=17)
        return None
    model = keras.applications.VGG16(weights=None)
    if name.endswith(".json"):
        (folder / name).write_text(model.to_json())
    else:
        model.save(folder / name)
    return None


def run(ex: Example, folder: pathlib.Path, cache: pathlib.Path | None = None) -> Outcome:
    """Run one example in the page's folder: what it exits with and prints (or why it cannot run)."""
    if ex.kind == "file":
        assert ex.filename is not None
        (folder / ex.filename).write_text(ex.text)
        return Outcome(0, "")
    if ex.kind in ("python", "pytest"):
        script = folder / f"_example_{ex.line}.py"
        script.write_text(ex.text)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
        proc = subprocess.run(
            argv if ex.kind == "pytest" else [sys.executable, script.name],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, env=_env(cache),
        )  # fmt: skip
        return _python_outcome(proc)
    words = shlex.split(ex.text)
    if any(g in ex.text for g in GPU_ONLY):
        return Outcome(0, "", "needs a CUDA device")
    for name in FRAMEWORK_FILES:
        if name in words and not (folder / name).exists():
            if reason := _make_framework_file(folder, name):
                return Outcome(0, "", reason)
    if words[0] == "python":
        proc = subprocess.run(
            [sys.executable, *words[1:]], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=600, env=_env(cache),
        )  # fmt: skip
        return _python_outcome(proc)
    assert words[0] == "vgg-inspect", ex.text
    from click.testing import CliRunner

    from vgg_inspect.cli import cli

    here = os.getcwd()
    os.chdir(folder)
    try:
        res = CliRunner().invoke(cli, words[1:], env=_env(cache), prog_name="vgg-inspect")
    finally:
        os.chdir(here)
    skipped = None
    if res.exit_code == 2 and "which is not installed" in res.output:
        skipped = res.output.strip().removeprefix("Error: ").split(" (or pip install")[0]
    return Outcome(res.exit_code, res.output, skipped)


def _python_outcome(proc: subprocess.CompletedProcess[str]) -> Outcome:
    """A script's outcome; skipped, saying which, where it stopped at a package this venv lacks."""
    missing = re.search(r"No module named '(torch|keras|onnx|matplotlib|fvcore|torchinfo|h5py)", proc.stdout)
    return Outcome(proc.returncode, proc.stdout, f"needs {missing.group(1)}" if missing else None)


def _env(cache: pathlib.Path | None) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": str(COLUMNS), "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)  # bench measures this CPU's peaks once per folder
    return env


def normalised(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line for line, where a line '...' stands for any number of lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in normalised("\n".join(expected))
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _write(page: pathlib.Path, folder: pathlib.Path) -> list[str]:
    """Run a page's examples and write each command's real output under it; what needs a person."""
    lines = page.read_text(encoding="utf-8").splitlines()
    notes, edits = [], []
    for ex in examples(page):
        out = run(ex, folder, folder / ".cache")
        if out.skipped:
            notes.append(f"{ex.id}: not run ({out.skipped})")
            continue
        if out.exit_code != ex.exit_code:
            notes.append(f"{ex.id}: exit {out.exit_code}, the page says {ex.exit_code}: {ex.text}")
        if ex.expected is None or ex.span is None:
            continue
        actual = normalised(out.output)
        if matches(ex.expected, actual):
            continue
        if "..." in ex.expected:
            notes.append(f"{ex.id}: its elided output no longer matches; written whole, elide it again")
        edits.append((ex.span, actual))
    for (start, end), actual in reversed(edits):
        blanks = len(lines[start:end]) - len(normalised("\n".join(lines[start:end])))
        lines[start:end] = actual + [""] * blanks  # the blank line between two commands stays
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return notes


def main(argv: list[str]) -> int:
    import tempfile

    if not argv or argv[0] != "--write":
        print("usage: python -m tests.docs --write [PAGE ...]", file=sys.stderr)
        return 2
    chosen = [pathlib.Path(p).resolve() for p in argv[1:]] or pages()
    for page in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            for note in _write(page, pathlib.Path(tmp)):
                print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
