"""Checkpoints: --weights against the architecture, and identify. The tests build their checkpoints
(shapes only: each tensor is a broadcast view of one element, so files stay tiny)."""

import json

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli
from vgg_inspect.network import VARIANTS

from . import reference as ref

torch = pytest.importorskip("torch")


def _torchvision_state(config, classes=1000, in_ch=3, batch_norm=False):
    """torchvision's key layout, written here from its make_layers (not from the tool)."""
    state, i, c = {}, 0, in_ch
    for v in config.split(","):
        if v == "M":
            i += 1
        elif v == "LRN":
            i += 1
        else:
            k, out = (int(v.split("-")[0][0]), int(v.split("-")[1])) if "-" in v else (3, int(v))
            state[f"features.{i}.weight"] = torch.zeros(1).expand(out, c, k, k)
            state[f"features.{i}.bias"] = torch.zeros(1).expand(out)
            if batch_norm:
                for name in ("weight", "bias", "running_mean", "running_var"):
                    state[f"features.{i + 1}.{name}"] = torch.zeros(1).expand(out)
                state[f"features.{i + 1}.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
            i += 3 if batch_norm else 2
            c = out
    for j, (fin, fout) in zip((0, 3, 6), ((c * 49, 4096), (4096, 4096), (4096, classes))):
        state[f"classifier.{j}.weight"] = torch.zeros(1).expand(fout, fin)
        state[f"classifier.{j}.bias"] = torch.zeros(1).expand(fout)
    return state


def _save(tmp_path, name, state):
    path = tmp_path / name
    torch.save(state, path)
    return str(path)


def _identify(path):
    res = CliRunner().invoke(cli, ["identify", path, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_identify_every_variant(tmp_path, name):
    v = VARIANTS[name]
    path = _save(tmp_path, "c.pt", _torchvision_state(v.layers, classes=37, in_ch=1, batch_norm=v.batch_norm))
    found = _identify(path)
    assert (found["variant"], found["num_classes"], found["batch_norm"], found["in_channels"]) == (
        name,
        37,
        v.batch_norm,
        1,
    )
    assert found["how"] == "torchvision key layout"


@pytest.mark.parametrize("name", ["vgg16", "vgg19_bn", "vgg16_c", "vgg11_lrn"])
def test_identify_renamed_keys(tmp_path, name):
    v = VARIANTS[name]
    state = _torchvision_state(v.layers, batch_norm=v.batch_norm)
    renamed = {f"net.layer{i}.{k.rsplit('.', 1)[1]}": t for i, (k, t) in enumerate(state.items())}
    found = _identify(_save(tmp_path, "r.pt", renamed))
    expected = "vgg11" if name == "vgg11_lrn" else name  # LRN has no weights: A and A-LRN look alike
    assert found["variant"] == expected and found["how"].startswith("sequence of weight shapes")
    assert found["params"] == ref.PARAMS[name]
    if name == "vgg11_lrn":
        assert any("A-LRN" in n for n in found["notes"])


def test_identify_names_the_closest_and_the_difference(tmp_path):
    state = _torchvision_state("64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,256,M")
    found = _identify(_save(tmp_path, "x.pt", state))
    assert found["variant"] is None and found["how"].startswith("closest: vgg16")
    assert any("conv 13" in d and "256 channels instead of" in d for d in found["differences"])


def test_identify_unwraps_and_strips_data_parallel(tmp_path):
    state = {f"module.{k}": t for k, t in _torchvision_state(VARIANTS["vgg13"].layers).items()}
    found = _identify(_save(tmp_path, "w.pt", {"state_dict": state, "epoch": 3}))
    assert found["variant"] == "vgg13" and len(found["notes"]) == 2


def test_weights_fit_and_misfit(tmp_path):
    good = _save(tmp_path, "good.pt", _torchvision_state(VARIANTS["vgg16"].layers, classes=10))
    res = CliRunner().invoke(cli, ["check", "vgg16", "--num-classes", "10", "--weights", good])
    assert res.exit_code == 0 and "every key and shape fits" not in res.output  # check prints its own table
    data = json.loads(CliRunner().invoke(cli, ["params", "vgg16", "--num-classes", "10", "--weights", good,
                                               "--format", "json"]).output)  # fmt: skip
    assert data["weights"]["matches"] and data["weights"]["params"] == ref.PARAMS["vgg16"] - 4_097_000 + 40_970
    state = _torchvision_state(VARIANTS["vgg16"].layers, classes=10)
    state.pop("features.0.bias")
    state["extra.weight"] = torch.zeros(3)
    bad = _save(tmp_path, "bad.pt", state)
    res = CliRunner().invoke(cli, ["check", "vgg16", "--weights", bad, "--format", "json"])
    assert res.exit_code == 1
    failed = {o["key"]: o for o in json.loads(res.output)["outcomes"] if not o["ok"]}
    assert set(failed) == {"weights: features.0.bias", "weights: extra.weight", "weights: classifier.6.weight",
                           "weights: classifier.6.bias"}  # fmt: skip
    assert failed["weights: classifier.6.weight"]["expected"] == [1000, 4096]
    assert failed["weights: classifier.6.weight"]["actual"] == [10, 4096]  # a shape, as JSON


class Arbitrary:
    """A pickled object that weights_only=True must refuse to build."""


@pytest.mark.parametrize("kind", ["text", "code", "missing", "tensor"])
def test_bad_checkpoints_are_one_line_errors(tmp_path, kind):
    path = tmp_path / "c.pt"
    if kind == "text":
        path.write_text("not a checkpoint")
    elif kind == "code":
        torch.save({"model": Arbitrary()}, path)
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    for args in (["identify", str(path)], ["params", "vgg16", "--weights", str(path)]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
        assert {"text": "weights_only=True", "code": "never runs pickled code", "missing": "does not exist",
                "tensor": "holds no state dict"}[kind] in res.output  # fmt: skip


def test_checkpoint_json_is_valid(tmp_path):
    from .test_schema import VALIDATOR

    path = _save(tmp_path, "c.pt", _torchvision_state(VARIANTS["vgg11_bn"].layers, batch_norm=True))
    VALIDATOR.validate(_identify(path))
    VALIDATOR.validate(json.loads(CliRunner().invoke(cli, ["summary", "vgg16", "--weights", path, "--format",
                                                           "json"]).output))  # fmt: skip


def _bn1d_head(state, classes=10):
    """torchvision's classifier with a BatchNorm1d after fc6 and fc7 (a common edit)."""
    head = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    for j, (fin, fout) in enumerate(((512 * 49, 4096), (4096, 4096), (4096, classes))):
        head[f"classifier.{4 * j}.weight"] = torch.zeros(1).expand(fout, fin)
        head[f"classifier.{4 * j}.bias"] = torch.zeros(1).expand(fout)
        if j < 2:
            for name in ("weight", "bias", "running_mean", "running_var"):
                head[f"classifier.{4 * j + 1}.{name}"] = torch.zeros(1).expand(fout)
    return head


def test_identify_a_batch_norm_head_is_not_vgg16_bn(tmp_path):
    state = _bn1d_head(_torchvision_state(VARIANTS["vgg16"].layers))
    found = _identify(_save(tmp_path, "h.pt", state))
    assert found["variant"] is None and found["features"] == "vgg16" and not found["batch_norm"]
    assert found["head"] == "Linear 25088→4096, BatchNorm1d 4096, Linear 4096→4096, BatchNorm1d 4096, Linear 4096→10"
    assert found["differences"] == [f"head: {found['head']} instead of fc6–fc8"]


def test_identify_a_cut_vgg19(tmp_path):
    """features.0 … features.28 (conv5_1) of vgg19 and nothing after: vgg19 cut after conv5_1, not
    the closest variant."""
    state = _torchvision_state(VARIANTS["vgg19"].layers)
    cut = {k: v for k, v in state.items() if k.startswith("features.") and int(k.split(".")[1]) <= 28}
    found = _identify(_save(tmp_path, "cut.pt", cut))
    assert found["how"] == "vgg19 cut after conv5_1 (torchvision key layout)"
    assert found["features"] == "vgg19 up to conv5_1" and found["variant"] is None


def test_identify_a_short_cut_names_every_variant_it_could_be(tmp_path):
    state = _torchvision_state(VARIANTS["vgg16"].layers)
    cut = {k: v for k, v in state.items() if k.startswith("features.") and int(k.split(".")[1]) <= 7}
    found = _identify(_save(tmp_path, "cut.pt", cut))
    assert found["how"].startswith("cut after conv2_2: the start of vgg13, vgg16_c, vgg16, vgg19")
    assert found["features"] is None


def test_identify_whole_features_without_a_classifier(tmp_path):
    state = {k: v for k, v in _torchvision_state(VARIANTS["vgg11"].layers).items() if k.startswith("features.")}
    found = _identify(_save(tmp_path, "f.pt", state))
    assert found["variant"] is None and found["features"] == "vgg11"
    assert found["differences"] == ["no classifier (fc6–fc8 are not in the file)"]


def test_identify_own_names_under_features_are_renamed_keys(tmp_path):
    """``features.block1.conv`` is no torchvision index: the file is read by its weight shapes
    (once a traceback: int('block1'))."""
    state = _torchvision_state(VARIANTS["vgg11"].layers)
    renamed = {k.replace("features.", "features.block.", 1) if k.startswith("features.") else k: v
               for k, v in state.items()}  # fmt: skip
    found = _identify(_save(tmp_path, "own.pt", renamed))
    assert found["variant"] == "vgg11" and found["how"].startswith("sequence of weight shapes")
