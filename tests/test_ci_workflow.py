"""The CI user's workflow: baselines with tolerances, the pytest plugin, the pre-commit hook."""

import json
import textwrap

import pytest
import yaml
from click.testing import CliRunner

from vgg_inspect.cli import cli

pytest_plugins = ["pytester"]


def _check(*args):
    return CliRunner().invoke(cli, ["check", *args])


def test_baseline_update_then_exact_then_tolerances(tmp_path):
    base = str(tmp_path / "golden.json")
    assert _check("vgg16", "--baseline", base, "--update").exit_code == 0
    assert _check("vgg16", "--baseline", base).exit_code == 0
    # 10 more classes: fc8 grows by 10·4096 + 10 weights (+0.03% params), MACs by 40,960
    moved = _check("vgg16", "--num-classes", "1010", "--baseline", base)
    assert moved.exit_code == 1 and "params" in moved.output and "+0.03%" in moved.output
    assert "conventions" not in moved.output  # only what moved is shown
    assert _check("vgg16", "--num-classes", "1010", "--baseline", base, "--tolerance", "0.1%").exit_code == 0
    per_metric = _check("vgg16", "--num-classes", "1010", "--baseline", base, "--tolerance", "macs=1%")
    lines = {line.split()[1]: line for line in per_metric.output.splitlines() if line.startswith("│")}
    assert per_metric.exit_code == 1 and lines["macs"].rstrip(" │").endswith("ok, within macs=1%")  # shown, passed
    assert lines["params"].rstrip(" │").endswith("FAIL")  # params have no tolerance: exact
    strict = _check("vgg16", "--num-classes", "1010", "--baseline", base, "--tolerance", "1%", "--strict-layers")
    assert strict.exit_code == 1 and "fc8.params" in strict.output


@pytest.mark.parametrize(
    "content,message",
    [
        ("[1, 2]", "at the top level: [1, 2] is not of type 'object'"),
        ('"a string"', "is not of type 'object'"),
        ("null", "None is not of type 'object'"),
        ("{not json", "is not JSON: Expecting property name"),
        (None, "is not UTF-8 text"),
    ],
)
def test_malformed_golden_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "golden.json"
    path.write_bytes(b"\xff\xfe\x00" if content is None else content.encode())
    for flag in ("--baseline", "--expect-file"):
        res = _check("vgg16", flag, str(path))
        assert res.exit_code == 2 and message in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_golden_with_broken_layers_says_where(tmp_path):
    data = json.loads(CliRunner().invoke(cli, ["params", "--format", "json"]).output)
    for broken, where in (
        (lambda d: d["layers"][3].pop("name"), "at layers[3]: 'name' is a required property"),
        (lambda d: d.__setitem__("layers", {"a": 1}), "at layers: {'a': 1} is not of type 'array'"),
        (lambda d: d.__setitem__("layers", [1, 2]), "at layers[0]: 1 is not of type 'object'"),
    ):
        copy = json.loads(json.dumps(data))
        broken(copy)
        path = tmp_path / "g.json"
        path.write_text(json.dumps(copy))
        res = _check("vgg16", "--expect-file", str(path))
        assert res.exit_code == 2 and where in res.output, res.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tolerance", "1%"], "--tolerance goes with --baseline FILE"),
        (["--baseline", "x.json", "--tolerance", "lots"], "malformed --tolerance 'lots'"),
        (["--baseline", "x.json", "--tolerance", "mcas=1%"], "unknown --tolerance metric 'mcas'; did you mean macs"),
        (["--expect", "params=13835,7544"], "unparsable value '13835,7544'"),
    ],
)
def test_check_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    CliRunner().invoke(cli, ["check", "vgg16", "--baseline", "x.json", "--update"])
    res = _check("vgg16", *args)
    assert res.exit_code == 2 and message in res.output, res.output


def test_expect_global_receptive_field():
    assert _check("vgg16", "--expect", "fc6.receptive_field=global").exit_code == 0
    assert _check("vgg16", "--expect", "pool5.receptive_field=global").exit_code == 1


def test_pytest_plugin(pytester):
    pytester.makepyfile(
        textwrap.dedent("""
        import pytest
        from vgg_inspect.pytest_plugin import assert_report

        def test_backbone(vgg_report):
            report = vgg_report("vgg16", num_classes=10)
            assert_report(report, params=134_301_514, macs=pytest.approx(15.47e9, rel=0.01), fc8__params=40_970)

        def test_drift(vgg_report):
            assert_report(vgg_report("vgg16"), params=134_301_514, conv5_3__macs=1)
    """)
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*params: expected 134,301,514, got 138,357,544*", "*conv5_3.macs: expected 1, got 462,422,016*"]
    )


def test_pre_commit_hook_runs_check():
    import pathlib

    hooks = yaml.safe_load((pathlib.Path(__file__).parents[1] / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["entry"] == "vgg-inspect check" and hook["pass_filenames"] is False
