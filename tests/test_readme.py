"""The README as a new user meets it: every command it shows runs, and the output it prints is the
tool's real output."""

import pathlib
import re
import shlex

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

from .conftest import skip_if_missing

README = (pathlib.Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
NEEDS_GPU = ("--device cuda", "--measure")


def _commands():
    found = []
    for block in re.findall(r"```(?:bash|console)?\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = re.split(r"\s#\s", line)[0].strip()
            if line.startswith("vgg-inspect ") and "&&" not in line:
                found.append(line)
    return sorted(set(found))


FRAMEWORK_FILES = ("vgg16.json", "vgg16.keras", "vgg16.onnx", "vgg16_bn.onnx")


@pytest.fixture(scope="module")
def framework_files(tmp_path_factory):
    """The files of the README's other-frameworks section, made as its comments say: Keras's VGG16
    (to_json and save), and the tool's twins of torchvision's VGG16 and VGG16-BN exported to ONNX."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from .models.twins import torchvision_twin

    folder = tmp_path_factory.mktemp("frameworks")
    model = keras.applications.VGG16(weights=None)
    (folder / "vgg16.json").write_text(model.to_json())
    model.save(folder / "vgg16.keras")
    for name in ("vgg16", "vgg16_bn"):
        net = torchvision_twin(torch, name)
        torch.onnx.export(net, (torch.randn(1, 3, 224, 224),), str(folder / f"{name}.onnx"), dynamo=False,
                          opset_version=17)  # fmt: skip
    return folder


@pytest.mark.parametrize("line", _commands())
def test_readme_command_runs(line, tmp_path, monkeypatch, request):
    if any(g in line for g in NEEDS_GPU):
        pytest.skip("needs a CUDA device")
    monkeypatch.chdir(tmp_path)
    if any(f in line.split() for f in FRAMEWORK_FILES):
        monkeypatch.chdir(request.getfixturevalue("framework_files"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # bench measures this CPU's peaks
    if "--baseline golden.json" in line and "--update" not in line:
        CliRunner().invoke(cli, ["check", "--config", "64,M,128,M", "--baseline", "golden.json", "--update"])
    res = skip_if_missing(CliRunner().invoke(cli, shlex.split(line)[1:], env={"COLUMNS": "200"}))
    assert res.exit_code in (0, 1) and "Traceback" not in res.output, (line, res.output)


def test_readme_has_commands():
    assert len(_commands()) >= 15


def test_readme_params_example_is_the_real_output():
    block = README.split("### `vgg-inspect params vgg16`\n\n```\n")[1].split("```")[0]
    res = CliRunner().invoke(cli, ["params", "vgg16"], env={"COLUMNS": "200"})
    assert res.output.strip() == block.strip()


def test_readme_keras_example_is_the_real_output(framework_files, monkeypatch):
    block = README.split(
        "`vgg-inspect params vgg16.json` on `keras.applications.VGG16(weights=None).to_json()`:\n\n```\n"
    )
    monkeypatch.chdir(framework_files)
    res = CliRunner().invoke(cli, ["params", "vgg16.json"], env={"COLUMNS": "120"})
    assert res.exit_code == 0 and res.output.strip() == block[1].split("```")[0].strip()


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    code = README.split("## Python API\n\n```python\n")[1].split("```")[0]
    torch = pytest.importorskip("torch")
    namespace = {"my_module": torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())}
    models = pathlib.Path(__file__).parent / "models" / "functional_vgg.py"  # a VGG16 as people write it
    (tmp_path / "my_vgg.py").write_text(models.read_text() + "\nVGG16 = VGGNetAdaptive\n")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), namespace)


def test_readme_quotes_every_convention_as_the_tool_states_it():
    """Each convention's text is defined once (report/assemble.CONVENTIONS) and the README quotes the
    words a report carries, so the two cannot drift apart."""
    import vgg_inspect

    listed = dict(re.findall(r"^- `(\w+)`: (.*)\.$", README, re.M))
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


@pytest.mark.parametrize(
    "line",
    ["check vgg16 --expect params=138357544 --expect macs=15.47G", "explain vgg16 138M 30.94G"],
)
def test_readme_first_screen_outputs_are_the_real_ones(line):
    block = README.split(f"### `vgg-inspect {line}`\n\n```\n")[1].split("```")[0]
    res = CliRunner().invoke(cli, shlex.split(line), env={"COLUMNS": "100"})
    assert res.output.strip() == block.strip()
