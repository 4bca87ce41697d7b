"""Tables fit the terminal they are printed in, and a number is never cut."""

import csv
import io
import pathlib

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

USER = str(pathlib.Path(__file__).parent / "models" / "functional_vgg.py")
COMMANDS = [
    ["list"], ["params", "vgg16"], ["summary", "vgg19_bn"], ["flops", "vgg16", "--train"],
    ["flops", "vgg16", "--input", "224,448"], ["memory", "vgg16_bn", "--budget", "8GiB"],
    ["receptive-field", "vgg16", "--input", "320x480"], ["receptive-field"], ["receptive-field", "--model", "C"],
    ["check", "vgg16", "--expect", "params=1"], ["variants", "--bn"], ["explain"], ["explain", "vgg16", "1728"],
    ["summary", "vgg16", "--all-layers", "--head", "conv"], ["diff", "vgg16", "vgg16_c"], ["diff", "vgg11", "vgg11_bn"],
    # your own model: long functional row names (F.max_pool2d in VGGNet.forward), a partial total
    ["summary", f"{USER}:VGGNet", "--all-layers"], ["flops", f"{USER}:Branches", "--input", "16"],
    ["diff", f"{USER}:VGGNet", "vgg16"], ["storage", "vgg16_bn"],
    ["roofline", "vgg16", "--device-spec", "h100-sxm", "--dtype", "bfloat16", "--batch", "1,256"],
]  # fmt: skip
WIDTHS = [60, 80, 100, 120, 200]


def _run(args, width):
    return CliRunner().invoke(cli, args, env={"COLUMNS": str(width)})


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_fits_or_says_why(args, width):
    if len(args) > 1 and ":" in args[1]:
        pytest.importorskip("torch")
    res = _run(args, width)
    assert res.exit_code in (0, 1), res.output
    lines = res.output.splitlines()
    assert "…" not in res.output  # rich's mark of a cut cell
    assert all(line == line.rstrip() for line in lines)  # no trailing spaces
    if max(len(line) for line in lines) > width:  # only when even the narrowest form cannot fit
        assert "more than the" in " ".join(res.output.split()) and args[0] in ("variants", "explain", "diff")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command,column", [("params", "Params"), ("summary", "MACs"), ("flops", "FLOPs")])
def test_numbers_are_whole_exact_or_si(command, column, width):
    from vgg_inspect.render import units

    raw = list(csv.DictReader(io.StringIO(_run([command, "vgg16", "--format", "csv"], width).output)))
    table = _run([command, "vgg16"], width).output
    si = "Numbers in SI units to fit" in table
    for row in raw:
        value = int(row[column])
        shown = units.si(value) if si else f"{value:,}"
        assert shown in table, (row["Layer"], shown)
    if width == 200:
        assert "Left out to fit" not in table and not si


def test_piped_output_without_columns_is_not_wrapped():
    res = CliRunner().invoke(cli, ["params", "vgg16"], env={"COLUMNS": ""})
    assert "Module" in res.output and "Running total" in res.output and "Left out" not in res.output


def test_wide_shows_every_column():
    res = _run(["params", "vgg16", "--wide"], 60)
    assert "Running total" in res.output and "Module" in res.output and "Left out" not in res.output


def test_notes_are_facts_of_the_report_they_sit_under():
    """The CS231n note is about VGG16 at 224: printed for it, not for a CIFAR VGG13 at 32; the
    sweep's note on the FC layers says what these sizes show (the conv head's fc6 grows)."""
    from click.testing import CliRunner

    from vgg_inspect.cli import cli

    def table(*args: str) -> str:
        return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"}).stdout

    assert "CS231n notes print" in table("memory", "vgg16")
    assert "CS231n notes print" not in table("memory", "vgg13", "--input", "32", "--num-classes", "10")
    assert "MACs are the same at every size" in table("flops", "vgg16", "--input", "224,448")
    conv_head = table("flops", "vgg16", "--head", "conv", "--input", "224,448")
    assert "MACs are the same at every size" not in conv_head and "fc6-fc8 are convolutions" in conv_head
    assert "no FC layers" not in conv_head


@pytest.mark.parametrize("width, left_out", [(80, True), (100, False)])
def test_the_si_note_only_sits_under_si_numbers(width, left_out):
    """Columns dropped after compacting can leave room for the exact numbers: then they are shown,
    and the table does not claim SI units it no longer has (storage at 80 columns)."""
    table = _run(["storage", "vgg16_bn"], width).output
    assert "Numbers in SI units" not in table and ("Left out to fit" in table) == left_out
    for total in ("553,497,864", "276,748,984", "138,519,144", "69,347,080"):  # total bytes, exact
        assert total in table
    rows = [line for line in table.splitlines() if line.startswith("│")]
    assert len(rows) == 6  # one line a format: the How column is short enough not to wrap
