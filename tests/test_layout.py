"""The dependency rule of the layout, enforced: which package may import torch, click and rich."""

import subprocess
import sys

import pytest


def test_import_contracts_hold():
    """import-linter's contracts in pyproject.toml: the core imports neither torch, click nor rich;
    only runtime imports torch, only cli imports click; the layers have no cycles."""
    pytest.importorskip("importlinter")
    from pathlib import Path

    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()
    root = Path(__file__).resolve().parents[1]
    assert lint_imports(config_filename=str(root / "pyproject.toml")) is True  # prints the broken contract


def _loaded_after(code: str) -> list[str]:
    probe = code + "\nimport sys; print(' '.join(m for m in ('torch', 'click', 'rich') if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()


def test_api_imports_neither_torch_click_nor_rich():
    assert _loaded_after("import vgg_inspect; vgg_inspect.analyze('vgg16_bn', input_size='300x200')") == []
    assert (
        _loaded_after(
            "import vgg_inspect.api as a; a.stack_comparison(64, 64); a.variants();"
            "a.block_comparison(a.Request('vgg16')); a.budget(a.Request('vgg11'), 2**30)"
        )
        == []
    )
    # the empirical field's layer is chosen (or refused) before any torch work
    pick = """
import vgg_inspect.api as a
r = a.Request('vgg16')
rep = a.analyze_request(r)
assert rep.layers[a.pick_layer(r, rep, None)].name == 'conv5_3'
assert rep.layers[a.pick_layer(r, rep, 'pool4')].name == 'pool4'
try:
    a.pick_layer(r, rep, 'fc6')
    raise SystemExit('fc6 was accepted')
except a.VggInspectError as exc:
    assert 'no single local field' in str(exc), exc
"""
    assert _loaded_after(pick) == []


def test_cli_imports_only_what_the_command_needs():
    run = "from vgg_inspect.cli import cli; from click.testing import CliRunner; CliRunner().invoke(cli, {})"
    assert _loaded_after(run.format("['params', 'vgg16', '--format', 'json']")) == ["click"]
    assert _loaded_after(run.format("['params', 'vgg16']")) == ["click", "rich"]
    assert _loaded_after(run.format("['receptive-field', '--model', 'vgg16']")) == ["click", "rich"]


def test_missing_torch_is_a_clear_error():
    """Without torch installed, a command that needs it says which package to install (exit 2)."""
    code = (
        "import sys; sys.modules['torch'] = None\n"  # import torch now raises ImportError
        "from click.testing import CliRunner; from vgg_inspect.cli import cli\n"
        "r = CliRunner().invoke(cli, ['params', 'vgg11', '--device', 'cpu'])\n"
        "print(r.exit_code); print(r.output)\n"
        "assert CliRunner().invoke(cli, ['params', 'vgg11']).exit_code == 0\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    code_line, message = out.split("\n", 1)
    assert code_line == "2"
    assert message.startswith("Error: instantiating a model on a device needs the 'torch' package")
    assert "pip install" in message and "Traceback" not in message


def test_no_module_is_over_400_lines():
    """Small modules: a module that outgrows 400 lines is split where its parts separate."""
    import pathlib

    package = pathlib.Path(__file__).parents[1] / "vgg_inspect"
    long = {
        str(p.relative_to(package)): n for p in package.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
