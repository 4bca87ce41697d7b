"""First contact (issue 30, in part): a mistyped command, an ambiguous size, a source file given
where a checkpoint goes, a baseline of another model: each says what was meant."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_a_mistyped_command_suggests_the_one_meant():
    result = _run("sumary", "vgg16")
    assert result.exit_code == 2
    assert "did you mean summary?" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("size", "binary", "decimal"), [("16G", "16GiB", "16GB"), ("512M", "512MiB", "512MB")])
def test_a_size_without_its_convention_offers_both(size, binary, decimal):
    result = _run("memory", "vgg16", "--budget", size)
    assert result.exit_code == 2 and binary in result.output and decimal in result.output


def test_identify_of_python_source_names_what_it_takes(tmp_path):
    pytest.importorskip("torch")
    src = tmp_path / "my_vgg.py"
    src.write_text("import torch\n")
    result = _run("identify", str(src))
    assert result.exit_code == 2
    assert "is Python source, not a checkpoint" in result.output and f"summary {src}:Name" in result.output
    assert "pickle" not in result.output


def test_a_baseline_of_another_model_says_so_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run("check", "--config", "64,M,128,M", "--baseline", "golden.json", "--update").exit_code == 0
    result = _run("check", "vgg16", "--baseline", "golden.json")
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first == "golden.json was recorded for --config 64,M,128,M; you are checking vgg16"
    same = _run("check", "--config", "64,M,128,M", "--baseline", "golden.json")
    assert same.exit_code == 0 and "recorded for" not in same.output


def test_identify_has_real_headers(tmp_path):
    import json

    from .test_frameworks import KERAS2

    path = tmp_path / "k2.json"
    path.write_text(json.dumps(KERAS2))
    result = _run("identify", str(path))
    assert result.exit_code == 0
    header = next(line for line in result.output.splitlines() if "┃" in line)
    assert "Property" in header and "Found in the file" in header


def test_titles_say_only_what_the_answer_depends_on():
    assert "input" not in _run("storage", "vgg16").output.splitlines()[0]  # weights do not depend on it
    first = _run("receptive-field").output.splitlines()[0]
    assert "receptive-field vgg16" in first  # the stacks table says how to get a model's own fields


def test_the_output_files_extension_sets_its_format(tmp_path):
    import json

    assert _run("params", "vgg16", "-o", str(tmp_path / "p.csv")).exit_code == 0
    assert (tmp_path / "p.csv").read_text().startswith("Layer,Module,Type")  # CSV, not a box-drawn table
    assert _run("params", "vgg16", "-o", str(tmp_path / "p.json")).exit_code == 0
    assert json.loads((tmp_path / "p.json").read_text())["totals"]["params"] == 138_357_544
    assert _run("params", "vgg16", "-o", str(tmp_path / "p.md")).exit_code == 0
    assert (tmp_path / "p.md").read_text().lstrip().startswith("#")
    clash = _run("params", "vgg16", "--format", "json", "-o", str(tmp_path / "q.csv"))
    assert clash.exit_code == 2 and "contradicts" in clash.output and not (tmp_path / "q.csv").exists()
    assert _run("params", "vgg16", "--format", "csv", "-o", str(tmp_path / "r.csv")).exit_code == 0


def test_help_lists_the_commands_own_options_first():
    text = _run("flops", "--help").output
    assert text.index("--compare") < text.index("--config") < text.index("--format")
    top = _run("--help").output
    assert "which VGG a checkpoint, Keras or ONNX file holds" in top and "..." not in top.split("Commands:")[1]


def test_cifar_input_says_the_adaptive_pool_copies_one_pixel():
    """vgg16 at 32x32: pool5 is 1x1, and torch's AdaptiveAvgPool2d(7) copies it 49 times (checked on
    torch itself); fc6 keeps 512·49·4096 + 4096 parameters for 512 values."""
    from vgg_inspect import api

    report = api.analyze("vgg16", input_size=32)
    note = next(w for w in report.warnings if "adaptive pool" in w)
    assert "copies its one pixel 49 times" in note and f"{512 * 49 * 4096 + 4096:,} parameters for 512 values" in note
    assert not any("adaptive pool" in w for w in api.analyze("vgg16").warnings)  # 7x7 into 7x7: pooling
    torch = pytest.importorskip("torch")
    x = torch.randn(1, 512, 1, 1)
    out = torch.nn.AdaptiveAvgPool2d(7)(x)
    assert torch.equal(out, x.expand(1, 512, 7, 7))


@pytest.mark.parametrize(
    ("prefix", "cards"), [("h100", ["h100-sxm", "h100-pcie"]), ("a100", ["a100-80gb", "a100-40gb"])]
)
def test_a_device_prefix_of_several_cards_lists_them(prefix, cards):
    result = _run("roofline", "vgg16", "--device-spec", prefix)
    assert result.exit_code == 2 and all(c in result.output for c in cards) and "name one" in result.output
    assert _run("roofline", "vgg16", "--device-spec", "4090").exit_code == 0  # one card: its short name is enough


def _complete(words, index):
    import os
    import subprocess
    import sys

    env = dict(os.environ, _VGG_INSPECT_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(index))
    run = subprocess.run([sys.executable, "-m", "vgg_inspect"], env=env, capture_output=True, text=True, timeout=60)
    return run.stdout.split()


def test_completion_offers_models_dtypes_devices_and_files():
    got = _complete("vgg-inspect summary vgg1", 2)
    assert "plain,vgg16" in got and "plain,vgg19_bn" in got and "file,vgg1" in got  # a file may start so too
    assert _complete("vgg-inspect flops vgg16 --dtype bf", 4) == ["plain,bfloat16"]
    assert _complete("vgg-inspect roofline vgg16 --device-spec h1", 4) == ["plain,h100-sxm", "plain,h100-pcie"]


def test_bash_completion_keeps_bashs_own_file_names():
    """Installed as the README says, in a real bash: -o default, so summary my<TAB> completes files."""
    import os
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    tool = os.path.join(os.path.dirname(sys.executable), "vgg-inspect")
    if not os.path.exists(tool):
        pytest.skip("the vgg-inspect entry point is not installed beside this python")
    script = f'eval "$(_VGG_INSPECT_COMPLETE=bash_source {tool})"; complete -p vgg-inspect'
    shown = subprocess.run([bash, "-c", script], capture_output=True, text=True, timeout=60).stdout
    assert "-o default" in shown and "-F _vgg_inspect_completion" in shown


def test_rooflines_verdict_names_only_rows_the_table_shows():
    import re

    result = CliRunner().invoke(cli, ["roofline", "vgg16", "--device-spec", "h100-sxm", "--format", "markdown"])
    table, _, verdict = result.output.partition("Memory-bound at batch")
    named = re.findall(r"([a-z]+\d_?\d?) \(\d+%\)", verdict.split(". A layer")[0])
    shown = set(re.findall(r"^\| ([a-z0-9_]+) \|", table, re.M))
    assert named and set(named) <= shown, (named, shown)
    assert "relu1_1" not in verdict and "rows not shown (--all-layers) add" in verdict


def test_variants_shows_one_measure_error():
    """torchvision publishes acc@1/acc@5 (vgg11: 69.020/88.628); beside the paper's top-1/top-5 error
    the table shows its error, 100 minus those."""
    out = CliRunner().invoke(cli, ["variants"], env={"COLUMNS": "200"}).output
    row = next(line for line in out.splitlines() if line.strip().startswith("torchvision"))
    assert "30.98/11.37" in row and "69.02" not in row


@pytest.mark.parametrize("model", ["vgg16", "vgg11_lrn", "vgg19_bn"])
def test_block_activations_add_up_to_the_summarys_total(model):
    """One word, one convention: the groups' Activation adds up to the summary's total, which is the
    input plus the outputs of conv, LRN, max-pool and FC layers (written out here for vgg16)."""
    from vgg_inspect import api
    from vgg_inspect.report.groups import group_rows

    report = api.analyze(model)
    groups = group_rows(report, "block")
    assert sum(g.activation_bytes for g in groups) == report.totals.activation_bytes
    if model == "vgg16":
        values = 3 * 224**2 + 64 * 224**2 * 2 + 64 * 112**2 + 128 * 112**2 * 2 + 128 * 56**2 + 256 * 56**2 * 3
        values += 256 * 28**2 + 512 * 28**2 * 3 + 512 * 14**2 + 512 * 14**2 * 3 + 512 * 7**2 + 4096 * 2 + 1000
        assert report.totals.activation_bytes == 4 * values == 60_950_432


def test_compare_with_train_reconciles_on_forward_and_backward():
    """flops --compare --train: FlopCounterMode's number is forward + backward, as a real CPU train
    step counts it here; fvcore and torchinfo say they count the forward only."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from torch.utils.flop_counter import FlopCounterMode

    from vgg_inspect import api
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime.instantiate import instantiate

    report = api.flops(api.Request("vgg11", input_size=32), compare=True, train=True)
    peer = next(p for p in report.peers if p.tool.endswith("FlopCounterMode"))
    net = instantiate(model_spec("vgg11"), device="cpu", dtype="float32", init=True).train()
    with FlopCounterMode(display=False) as counter:
        net(torch.randn(1, 3, 32, 32)).sum().backward()
    assert peer.value == peer.reproduced == counter.get_total_flops() == report.totals.train_flops
    assert all(p.difference_explained.startswith("forward only") for p in report.peers if p is not peer)


def test_memory_on_a_card_uses_its_capacity_and_says_what_is_not_modelled():
    """REFERENCE §8: an H100 SXM has 80 GB. The budget is that, less the stated 10% margin."""
    from vgg_inspect import api

    report = api.memory(api.Request("vgg16", dtype="bfloat16"), device_spec="h100-sxm")
    assert report.budget.bytes == int(80e9 * 0.9)
    said = " ".join(report.warnings)
    assert "less 10%" in said and "context" in said and "cuDNN" in said and "measured on CPU" in said
    clash = _run("memory", "vgg16", "--device-spec", "h100-sxm", "--budget", "16GiB")
    assert clash.exit_code == 2 and "give one" in clash.output


def test_roofline_asks_for_its_device():
    result = _run("roofline", "vgg16")
    assert result.exit_code == 2 and "--device-spec" in result.output and "cpu" in result.output


def test_long_work_says_what_runs_on_a_terminal_only(monkeypatch):
    """A spinner on stderr where it is a terminal, cleared when done; nothing in a pipe, a file or CI."""
    import io
    import sys
    import time

    from vgg_inspect.cli.progress import working

    class Tty(io.StringIO):
        def isatty(self):
            return True

    piped, terminal = io.StringIO(), Tty()
    for stream in (piped, terminal):
        monkeypatch.setattr(sys, "stderr", stream)
        with working("running fvcore"):
            time.sleep(0.2)
    assert piped.getvalue() == ""
    assert "running fvcore" in terminal.getvalue() and terminal.getvalue().endswith("\x1b[2K")  # erased after


def test_ctrl_c_during_a_peer_keeps_the_peers_done(monkeypatch):
    """Item 16: Ctrl-C while fvcore runs keeps FlopCounterMode's number, marks fvcore stopped and
    torchinfo not run, and each step is announced (what runs, how far) to the progress display."""
    pytest.importorskip("torch")
    from vgg_inspect import api
    from vgg_inspect.runtime import peer_tools

    real = peer_tools.require

    def interrupted(name, what):
        if name.startswith("fvcore"):
            raise KeyboardInterrupt
        return real(name, what)

    monkeypatch.setattr(peer_tools, "require", interrupted)
    steps: list[str] = []
    report = api.flops(api.Request("vgg11", input_size=32), compare=True, on_step=steps.append)
    got = {p.tool: (p.status, p.value, p.reason) for p in report.peers}
    assert got[peer_tools.FLOP_COUNTER] == ("agrees", 2 * report.totals.macs, None)
    assert got[peer_tools.FVCORE] == ("skipped", None, "stopped by Ctrl-C")
    assert got[peer_tools.TORCHINFO][:2] == ("skipped", None) and "Ctrl-C" in got[peer_tools.TORCHINFO][2]
    assert steps[:2] == [f"running {peer_tools.FLOP_COUNTER} (1 of 3; Ctrl-C keeps the peers done)",
                         f"running {peer_tools.FVCORE} (2 of 3; Ctrl-C keeps the peers done)"]  # fmt: skip


def test_progress_is_silent_off_a_terminal(monkeypatch):
    """The bench timing bar writes nothing, not even a blank line, where stderr is not a terminal."""
    import io
    import sys

    from vgg_inspect.cli.progress import progress_bar

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with progress_bar("timing", 3) as step:
        step("timed 1/3")
    assert piped.getvalue() == ""


@pytest.mark.parametrize(
    ("args", "kept", "dropped"),
    [(["params", "vgg16"], "Formula", "Type"), (["roofline", "vgg16", "--device-spec", "h100-sxm"], "FLOPs", "Share")],
)
def test_at_80_columns_the_column_a_command_exists_for_stays(args, kept, dropped):
    """Item 13: params keeps Formula, roofline keeps FLOPs; what was left out is named under it."""
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "80"})
    header = next(line for line in result.output.splitlines() if line.startswith("┃") and "Layer" in line)
    assert kept in header and dropped not in header
    left_out = next(line for line in result.output.splitlines() if line.startswith("Left out to fit 80 columns"))
    assert dropped in left_out
    assert max(len(line) for line in result.output.splitlines()) <= 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "vgg16", "--input", "224,320"], "summary takes one --input value, not the list '224,320'; "
                                                      "flops takes a comma list (--input 224,320)"),
        (["memory", "vgg16", "--batch", "1,8"], "memory takes one --batch value, not the list '1,8'; roofline and "
                                                 "bench take a comma list (--batch 1,8)"),
        (["params", "--dtype", "float32,bfloat16"], "bench takes a comma list (--dtype float32,bfloat16)"),
    ],
)  # fmt: skip
def test_a_list_where_one_value_is_taken_says_which_commands_take_lists(args, message):
    """Item 13: lists are taken where a sweep makes sense (flops --input, roofline and bench --batch,
    bench --dtype); elsewhere a list is one line naming the commands that take one."""
    result = _run(*args)
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    for odd in ("+-5", "٣", "2.5", "x"):  # one line each, never int()'s traceback
        refused = _run("memory", "vgg16", f"--batch={odd}")
        assert refused.exit_code == 2 and refused.output.startswith("Error: --batch must be an integer"), odd
    swept = _run("flops", "vgg16", "--input", "224,320")
    assert swept.exit_code == 0 and "Compute by input size" in swept.output
    assert _run("memory", "vgg16", "--batch", "8").exit_code == 0


def test_ctrl_c_during_the_effective_field_keeps_the_samples_done():
    """Item 16: Ctrl-C after two of four samples gives the field of those two, and says so; before
    the first sample it is an interruption (nothing to keep)."""
    pytest.importorskip("torch")
    from vgg_inspect import api

    def stop_after(n):
        seen = []

        def on_step(what):
            seen.append(what)
            if what.startswith(f"sample {n}/"):
                raise KeyboardInterrupt

        return on_step

    req = api.Request("vgg11", input_size=32)
    report = api.receptive_field(req, effective=True, layer="conv3_1", samples=4, on_step=stop_after(2))
    field = report.effective_receptive_field
    whole = api.receptive_field(req, effective=True, layer="conv3_1", samples=2).effective_receptive_field
    assert field.samples == 2 and field.heatmap == whole.heatmap and field.mass_squares == whole.mass_squares
    assert any("after 2 of 4 samples" in w for w in report.warnings)

    def at_once(what):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.receptive_field(req, effective=True, layer="conv3_1", samples=4, on_step=at_once)
