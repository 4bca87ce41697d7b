"""Nothing a user types crashes: generated command lines end in exit 0, or in a one-line error and a
non-zero exit; never a traceback, never a runaway allocation."""

import itertools
import pathlib
import resource

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vgg_inspect.cli import cli

texts = st.one_of(
    st.sampled_from(
        [
            "",
            "-",
            "0",
            "-1",
            "1.5",
            "abc",
            "99999999999999999999",
            "224x",
            "x224",
            "1e9",
            "nan",
            "∞",
            "3037000500",
            "vgg61",
            "D-BN",
            "a-lrn",
            "M",
            "64,M",
            "64,X",
            "1x1-0",
            "16GiB",
            "0GiB",
            "99999999999999999999999TiB",
            "bias,relu",
            "softmax",
            "fc6",
            "conv5_3",
            "params=1",
            "fc6.receptive_field=global",
            "params=13835,7544",
            "1%",
            "macs=2%",
        ]
    ),
    st.integers(-5, 2**70).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
MODELS = st.sampled_from(["vgg16", "vgg11_lrn", "C", "E-BN", "vgg19_bn", "vgg16_c", "vgg61", "", "A-LRN"])
OPTIONS = {
    "--config": texts, "--batch-norm": None, "--num-classes": texts, "--in-channels": texts,
    "--input": st.one_of(st.sampled_from(["32", "224", "40x100", "320x480", "17", "100000", "224,448", "0x5"]), texts),
    "--batch": st.one_of(st.sampled_from(["1", "2", "0", "1000000000"]), texts), "--dtype": st.one_of(
        st.sampled_from(["float16", "bf16", "fp8"]), texts), "--device": st.sampled_from(["meta", "gpu", "cuda:7", ""]),
    "--init": None, "--all-layers": None, "--head": st.sampled_from(["fc", "conv", "x"]), "--wide": None,
    "--format": st.sampled_from(["table", "json", "csv", "markdown", "xml"]), "--output": st.sampled_from(["-", ""]),
}  # fmt: skip
EXTRA = {
    "flops": {"--include": texts, "--train": None},
    "memory": {"--optimizer": st.sampled_from(["sgd", "adam", "rmsprop"]), "--budget": texts, "--measure": None,
               "--train": None},
    "check": {"--expect": texts, "--tolerance": texts, "--strict-layers": None, "--update": None,
              "--expect-file": st.sampled_from(["/nonexistent.json", "/proc/version", "/dev/null"])},
    "receptive-field": {"--model": MODELS, "--channels": texts, "--out-channels": texts, "--kernel": texts,
                        "--bias": None, "--layer": texts, "--mode": st.sampled_from(["support", "x"]),
                        "--seed": texts, "--samples": st.sampled_from(["1", "0", "2000"])},
    "variants": {"--bn": None},
    "explain": {},
    "list": {},
}  # fmt: skip
COMMANDS = ["params", "summary", "flops", "memory", "check", "receptive-field", "variants", "explain", "list"]
NO_MODEL = {"variants", "list"}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(COMMANDS))
    args = [command]
    if command not in NO_MODEL and draw(st.booleans()):
        args.append(draw(MODELS))
    options = {} if command == "list" else {**({} if command in NO_MODEL else OPTIONS), **EXTRA.get(command, {})}
    if command == "variants":
        options.update({k: OPTIONS[k] for k in ("--input", "--batch", "--num-classes", "--format", "--wide")})
    if command == "list":
        options.update({k: OPTIONS[k] for k in ("--format", "--wide")})
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        args.append(name)
        if options[name] is not None:
            args.append(draw(options[name]))
    if command == "explain" and draw(st.booleans()):
        args += draw(
            st.lists(st.sampled_from(["1728", "30.94G", "93MB", "1,027,645,444", "12parsecs", "0"]), max_size=3)
        )
    if command == "receptive-field" and draw(st.booleans()):
        args += ["--effective", "--samples", "1"]
    return args


@pytest.mark.slow  # 500 generated command lines: `pytest -m "not slow"` skips it
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=command_lines())
def test_cli_never_crashes(argv):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = CliRunner().invoke(cli, argv, env={"COLUMNS": "100"})
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert res.exception is None or isinstance(res.exception, SystemExit), (argv, repr(res.exception))
    assert "Traceback" not in res.output, argv
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    if res.exit_code == 1 and argv[0] in ("check", "diff") and not errors:
        assert res.output.strip(), argv  # a verdict: expectations failed or the models differ, in any format
    elif res.exit_code != 0:
        assert len(errors) == 1, (argv, res.output)
        if res.exit_code == 2:  # a usage error is the only line
            assert res.output.strip() == errors[0], (argv, res.output)
    assert grown < 2**30 + _effective_image_bytes(argv), (argv, grown)


def _effective_image_bytes(argv):
    """--effective really runs the model: at most what one whole image in float32 needs with its
    gradient and the first layer's 64 channels, 4x over (the run is cropped, so it needs less)."""
    if "--effective" not in argv:
        return 0
    value = dict(itertools.pairwise(argv))
    try:
        size = value.get("--input", "224").split(",")[0].lower()
        h, w = (int(x) for x in size.split("x")) if "x" in size else (int(size),) * 2
        channels = int(value.get("--in-channels", "3"))
    except ValueError:
        return 0  # not a valid input: the command fails before it runs anything
    return 16 * max(h, 0) * max(w, 0) * (max(channels, 0) + 64)


# Your own models: small ones (a fuzzed --effective runs the whole image), and every way a
# reference goes wrong. "CKPT" stands for a real checkpoint of AvgPooled, written by the fixture.
USER_FILE = str(pathlib.Path(__file__).parent / "models" / "functional_vgg.py")
USER_MODELS = st.sampled_from(
    [f"{USER_FILE}:{name}" for name in ("AvgPooled", "Tied", "IndexedPool", "FunctionalLayers", "Branches", "LstmHead",
                                        "NeedsArgs", "Broken", "ForwardRaises", "make_small", "Nope", "1bad")]
    + ["tests/models/nothing.py:VGG", "tests.models.functional_vgg:AvgPooled", "no.such.module:X", ":X", "a.py:",
       "/dev/null:X", "tests/models/__init__.py:X", "vgg16"]
)  # fmt: skip
USER_OPTIONS = {
    "--kwargs": st.one_of(st.sampled_from(["width=4", "num_classes=3", "width=", "=4", "width=4,width=5",
                                           "width=[1", "num_classes=-1"]), texts),
    "--weights": st.sampled_from(["CKPT", "/nonexistent.pt", "/dev/null", "/proc/version", ""]),
    "--input": st.sampled_from(["8", "16", "32", "7", "1", "16x8", "0", "100000"]),
    "--batch": st.sampled_from(["1", "2", "3", "0", "1000000000"]),
    "--in-channels": st.sampled_from(["3", "1", "4"]),
    "--device": st.sampled_from(["cpu", "meta", "gpu"]),
    "--dtype": st.sampled_from(["float32", "float16", "bfloat16", "fp8"]),
    "--init": None, "--num-classes": st.sampled_from(["10"]), "--format": st.sampled_from(["json", "table", "csv"]),
}  # fmt: skip
USER_COMMANDS = {
    "params": {}, "summary": {}, "memory": {"--budget": st.sampled_from(["1GiB", "1KB", "x"])},
    "flops": {"--compare": None, "--peer": st.sampled_from(["torchinfo", "fvcore", "x"]), "--train": None},
    "check": {"--expect": st.sampled_from(["params=808", "params=1", "macs=2%", "x"])},
    "receptive-field": {"--effective": None, "--layer": st.sampled_from(["conv1", "pool1", "conv", "fc"]),
                        "--mode": st.sampled_from(["support", "effective"]), "--samples": st.just("1")},
    "diff": {},
}  # fmt: skip


@st.composite
def user_command_lines(draw):
    command = draw(st.sampled_from(sorted(USER_COMMANDS)))
    args = [command, draw(USER_MODELS)]
    if command == "diff":
        args.append(draw(st.one_of(USER_MODELS, st.sampled_from(["vgg11", "config:8,M"]))))
    options = {**USER_OPTIONS, **USER_COMMANDS[command]}
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        args.append(name)
        if options[name] is not None:
            args.append(draw(options[name]))
    return args


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tests.models.functional_vgg import AvgPooled

    path = tmp_path_factory.mktemp("fuzz") / "avg.pt"
    torch.save(AvgPooled().state_dict(), path)
    return str(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=user_command_lines())
def test_cli_never_crashes_on_your_models(checkpoint, argv):
    test_cli_never_crashes.hypothesis.inner_test([checkpoint if a == "CKPT" else a for a in argv])
