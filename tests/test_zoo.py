"""VGGs as people write them (tests/zoo: CIFAR repositories, the d2l book, timm, SSD, FCN, a
perceptual loss, VGG-Face, other activations and norms, wrappers), each against the oracles the
suite trusts: parameters from the module, shapes from a real forward, FLOPs from FlopCounterMode
(forward, and forward + backward with the same requires_grad), saved tensors from a real CPU run,
fields from input-gradient supports. Names are pinned per model."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest
from click.testing import CliRunner

from vgg_inspect.cli import cli

torch = pytest.importorskip("torch")
nn = torch.nn

from .oracles import assert_centre_field, saved_bytes  # noqa: E402

ZOO = pathlib.Path(__file__).parent / "zoo"


def _load(file: str, name: str, **kw):
    spec = importlib.util.spec_from_file_location(f"zoo_{file}", ZOO / f"{file}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)(**kw)


def _report(reference: str, *args: str) -> dict:
    res = CliRunner().invoke(cli, ["summary", str(ZOO / reference), *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _flop_counts(model, shape, *, train: bool, input_grad: bool = False) -> int:
    """FlopCounterMode on meta tensors: the forward, or forward + backward of every output."""
    from torch.utils.flop_counter import FlopCounterMode

    model = model.to_empty(device="meta").train(train)
    x = torch.empty(shape, device="meta", requires_grad=input_grad)
    with FlopCounterMode(display=False) as counter:
        if train:
            out = model(x)
            outs = torch.utils._pytree.tree_leaves(out)  # SSD: (a list of maps, the priors)
            needing = [o.sum() for o in outs if o.requires_grad]
            if needing:
                torch.stack(needing).sum().backward()
        else:
            with torch.no_grad():
                model(x)
    return counter.get_total_flops()


def _built(file: str, name: str, shape):
    """The model built on meta, lazy layers materialised by one forward (the d2l book's own way)."""
    with torch.device("meta"):
        model = _load(file, name)
    if any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters()):
        with torch.no_grad():
            model(torch.empty(shape, device="meta"))
    return model


# (file, name, input side, batch): every model of the zoo at a size its head accepts
ZOO_MODELS = [
    ("cifar", "VGG", 32, 2),
    ("cifar", "VGGFace", 224, 1),
    ("d2l", "VGG", 64, 2),
    ("activations", "ModernVGG", 32, 2),
    ("activations", "FunctionalActs", 16, 2),
    ("timm_style", "TimmVGG16", 224, 1),
    ("ssd", "SSDBackbone", 300, 1),
    ("fcn", "FCN32s", 64, 1),
    ("fcn", "FCN8s", 64, 1),
    ("perceptual", "PerceptualVGG19", 64, 1),
]


@pytest.mark.parametrize("file,name,size,batch", ZOO_MODELS)
def test_every_zoo_vgg_against_the_module_and_flop_counter(file, name, size, batch):
    shape = (batch, 3, size, size)
    data = _report(f"{file}.py:{name}", "--input", str(size), "--batch", str(batch))
    model = _built(file, name, shape)
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["totals"]["trainable_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert data["coverage"]["not_counted"] == {} and data["coverage"]["status"]["macs"] == "complete"
    assert data["totals"]["flops"] == _flop_counts(_built(file, name, shape), shape, train=False)
    assert data["totals"]["train_flops"] == _flop_counts(_built(file, name, shape), shape, train=True)
    # shapes: every module row's output as a real forward (on meta) gives it
    seen: dict[str, tuple[int, ...]] = {}
    real = _built(file, name, shape)

    def record(name):
        def hook(module, args, output):
            seen.setdefault(name, tuple(output.shape))  # returns None: the output is left as it is

        return hook

    kinds = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.ConvTranspose2d)
    hooks = [m.register_forward_hook(record(n)) for n, m in real.named_modules() if n and isinstance(m, kinds)]
    with torch.no_grad():
        real.eval()(torch.empty(shape, device="meta"))
    for h in hooks:
        h.remove()
    rows = {r["module"]: r for r in data["layers"]}
    assert seen and all(tuple(rows[n]["output_shape"]) == s for n, s in seen.items())


@pytest.mark.parametrize("file,name,size,batch", [
    ("cifar", "VGG", 32, 2), ("activations", "ModernVGG", 32, 2), ("activations", "FunctionalActs", 16, 2),
    ("perceptual", "PerceptualVGG19", 32, 1),
])  # fmt: skip
def test_saved_for_backward_equals_a_real_cpu_run(file, name, size, batch):
    data = _report(f"{file}.py:{name}", "--input", str(size), "--batch", str(batch))
    model = _load(file, name).to_empty(device="cpu")
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    assert data["totals"]["training_saved_bytes"] == saved_bytes(model, torch.rand(batch, 3, size, size))


def test_a_frozen_feature_extractor_runs_no_backward_unless_its_input_needs_one():
    """A perceptual loss's VGG19: frozen weights, a list of four maps out. Autograd runs no backward
    for an image input; for a generated image (input requires grad) the input gradients only."""
    shape = (1, 3, 64, 64)
    frozen = _report("perceptual.py:PerceptualVGG19", "--input", "64")
    assert frozen["totals"]["trainable_params"] == 0
    assert frozen["totals"]["train_flops"] == frozen["totals"]["flops"]
    assert frozen["totals"]["train_flops"] == _flop_counts(_load("perceptual", "PerceptualVGG19"), shape, train=True)
    res = CliRunner().invoke(cli, ["flops", str(ZOO / "perceptual.py:PerceptualVGG19"), "--input", "64", "--train",
                                   "--input-requires-grad", "--format", "json"])  # fmt: skip
    generated = json.loads(res.output)
    expected = _flop_counts(_load("perceptual", "PerceptualVGG19"), shape, train=True, input_grad=True)
    assert generated["totals"]["train_flops"] == expected == 2 * frozen["totals"]["flops"]
    # every map the extractor returns is analysed: its rows reach conv4_4 (the fourth slice's end)
    names = [r["name"] for r in frozen["layers"] if r["kind"] == "conv"]
    assert names[-1] == "conv4_4" and len(names) == 12
    # trainable again: the weight gradients too (the image still needs none)
    unfrozen = _report("perceptual.py:PerceptualVGG19", "--input", "64", "--kwargs", "frozen=false")
    assert unfrozen["totals"]["train_flops"] == _flop_counts(
        _load("perceptual", "PerceptualVGG19", frozen=False), shape, train=True
    )


NAMES = {
    # CIFAR's AvgPool2d(1, 1) after pool5 ends no block; its one Linear is fc6
    ("cifar.py:VGG", 32): ["pool5", "avgpool", "fc6"],
    ("cifar.py:VGGFace", 224): ["pool5", "fc6", "fc7", "fc8"],
    # timm's pre-logits convs and head: fc6 (7x7 conv), fc7 (1x1 conv), the global pool, fc8
    ("timm_style.py:TimmVGG16", 224): ["pool5", "fc6", "fc7", "score_average", "fc8"],
    ("fcn.py:FCN32s", 64): ["pool5", "fc6", "fc7", "fc8"],
    ("d2l.py:VGG", 64): ["pool5", "fc6", "fc7", "fc8"],
}


@pytest.mark.parametrize("reference,size", list(NAMES))
def test_paper_names_of_heads_and_no_op_pools(reference, size):
    data = _report(reference, "--input", str(size))
    quiet = ("relu", "dropout", "act", "pointwise", "norm", "flatten", "resample")
    names = [r["name"] for r in data["layers"] if r["kind"] not in quiet]
    tail = NAMES[(reference, size)]
    assert names[-len(tail) :] == tail
    assert sum(n.startswith("pool") for n in names) == 5


def test_other_activations_keep_names_fields_and_complete_totals():
    data = _report("activations.py:ModernVGG", "--input", "32", "--all-layers")
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["act1_1"]["type"] == "LeakyReLU" and rows["norm1_1"]["type"] == "GroupNorm"
    assert rows["pool5"]["receptive_field"] == 150 and rows["fc7"]["field_status"] == "global"
    assert (rows["act7"]["type"], rows["act7"]["module"]) == ("Softmax", "F.log_softmax in ModernVGG.forward")
    assert data["warnings"] == [] and set(data["coverage"]["status"].values()) <= {"complete", "partial"}
    assert data["coverage"]["status"]["receptive_field"] == "complete"


def _probe(model: nn.Module) -> nn.Module:
    """The same geometry with positive weights and average pools: every dependence carries gradient."""
    for parent in list(model.modules()):
        for key, child in list(parent._modules.items()):
            if isinstance(child, nn.MaxPool2d):
                parent._modules[key] = nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                    ceil_mode=child.ceil_mode, count_include_pad=True)  # fmt: skip
    model = model.to_empty(device="cpu").double().eval()
    with torch.no_grad():
        for p in model.parameters():  # each unit's sum near 1: no sigmoid saturates to a zero gradient
            p.uniform_(0.5, 1.0).div_(p[0].numel() if p.dim() > 1 else 1)
    return model


def test_pointwise_ops_keep_fields_as_gradient_supports_say(monkeypatch):
    from types import SimpleNamespace

    data = _report("activations.py:FunctionalActs", "--input", "16", "--all-layers")
    for row in data["layers"][-4:]:  # after sigmoid, x * 2, + 1, hardswish and the clone
        assert row["field_status"] == "local"
    F = torch.nn.functional
    avg = F.avg_pool2d
    monkeypatch.setattr(F, "max_pool2d", lambda x, k, *a, **kw: avg(x, k))  # the probe averages
    model = _probe(_load("activations", "FunctionalActs"))
    assert_centre_field(SimpleNamespace(**data["layers"][-1]), model, (1, 3, 16, 16))


class _Skip(nn.Module):
    """A residual add of a 3x3 and a 5x5 path, a channel concatenation, an SE-style gate."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 5, padding=2)
        self.c = nn.Conv2d(8, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.d = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        h = self.c(torch.cat([a + b, a], 1))
        h = self.d(self.pool(h))
        return h


def test_a_graph_s_fields_are_merged_as_gradient_supports_say():
    import vgg_inspect

    report = vgg_inspect.analyze_module(_Skip().to("meta"), (1, 3, 16, 16))
    rows = {r.module: r for r in report.layers}
    assert rows["F.add in _Skip.forward"].receptive_field == 5
    assert (rows["c"].receptive_field, rows["d"].receptive_field, rows["d"].jump) == (7, 12, 2)
    assert not report.warnings and report.coverage.status["receptive_field"] == "complete"
    probe = _probe(_Skip())
    for key in ("c", "d"):
        out: dict[str, torch.Tensor] = {}
        hook = getattr(probe, key).register_forward_hook(lambda m, a, o, out=out: out.update(x=o))

        def upto(x, out=out):
            out.clear()
            probe(x)
            return out["x"]

        assert_centre_field(rows[key], upto, (1, 3, 16, 16))
        hook.remove()


def test_upsampling_and_transposed_convs_give_each_unit_its_inputs():
    """An FCN-style decoder: the largest unit field against the gradient supports of every unit."""
    import vgg_inspect

    from .oracles import gradient_supports

    for up in (nn.ConvTranspose2d(4, 4, 4, stride=2, bias=False), nn.Upsample(scale_factor=2),
               nn.Upsample(scale_factor=2, mode="bilinear"), nn.Upsample(size=(13, 11), mode="bilinear")):  # fmt: skip
        model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), up, nn.ZeroPad2d((1, 0, 2, 1)))
        row = vgg_inspect.analyze_module(model.to("meta"), (1, 3, 12, 12)).layers[-1]
        supports, out = gradient_supports(_probe(model), (1, 3, 12, 12))
        assert tuple(out.shape) == tuple(row.output_shape)
        rows = supports.any(2).float().argmax(1), supports.any(2).flip(1).float().argmax(1)
        spans = [12 - int(b) - int(a) for a, b, s in zip(*rows, supports) if s.any()]
        assert row.field_status == "irregular" and row.receptive_field == max(spans), up


def test_wrappers_are_taken_off_and_script_modules_refused():
    base = _report("wrapped.py:small_vgg", "--input", "32")
    for factory, said in (("compiled", "torch.compile"), ("data_parallel", "DataParallel")):
        data = _report(f"wrapped.py:{factory}", "--input", "32")
        assert data["totals"] == base["totals"] and any(said in w for w in data["warnings"])
        assert [r["name"] for r in data["layers"]] == [r["name"] for r in base["layers"]]
    res = CliRunner().invoke(cli, ["summary", str(ZOO / "wrapped.py:scripted"), "--input", "32"])
    assert res.exit_code != 0 and "TorchScript" in res.output and "Traceback" not in res.output


def test_lazy_modules_are_materialised_on_meta_and_said_so():
    import vgg_inspect

    data = _report("d2l.py:VGG", "--input", "64")
    assert any("lazy modules" in w for w in data["warnings"])
    report = vgg_inspect.analyze_module(_load("d2l", "VGG"), (1, 3, 64, 64))  # built on CPU, left untouched
    assert report.totals.params == data["totals"]["params"]


@pytest.mark.parametrize("device", [[], ["--device", "cpu"]])
def test_a_plain_tensor_attribute_does_not_stop_the_peers(device):
    """SSD keeps its priors as a plain tensor: placed on CPU they follow the weights, so fvcore (which
    runs on real tensors) runs, as it does on the model built normally."""
    res = CliRunner().invoke(cli, ["flops", str(ZOO / "ssd.py:SSDBackbone"), "--input", "300", "--compare",
                                   "--peer", "fvcore", "--format", "json", *device])  # fmt: skip
    assert res.exit_code == 0, res.output
    peer = json.loads(res.output)["peers"][0]
    assert peer["status"] == "agrees", peer


def _identify_module(tmp_path, module) -> dict:
    """identify on the state dict the module itself writes (each tensor a view of one element)."""
    state = {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in module.state_dict().items()}
    path = tmp_path / "zoo.pt"
    torch.save(state, path)
    res = CliRunner().invoke(cli, ["identify", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _meta(file: str, name: str, **kw):
    with torch.device("meta"):
        return _load(file, name, **kw)


def test_identify_tells_a_cifar_vgg16_from_vgg16_bn(tmp_path):
    """13 convs with BatchNorm and one Linear 512→10: vgg16_bn's features, not vgg16_bn."""
    found = _identify_module(tmp_path, _meta("cifar", "VGG"))
    assert found["variant"] is None and found["features"] == "vgg16_bn"
    assert found["head"] == "one Linear 512→10 (fc6, as summary names it)"
    assert found["differences"] == ["head: one Linear 512→10 (fc6, as summary names it) instead of fc6–fc8"]
    assert found["how"].startswith("features match vgg16_bn")
    assert found["params"] == sum(p.numel() for p in _meta("cifar", "VGG").parameters())
    # one rule, said in both: summary names that one Linear fc6 too
    from vgg_inspect import api

    rows = api.analyze_request(api.Request(f"{ZOO / 'cifar.py'}:VGG", input_size=32)).layers
    assert [r.name for r in rows if r.type == "Linear"] == ["fc6"]


def test_identify_reads_timms_key_layout(tmp_path):
    found = _identify_module(tmp_path, _meta("timm_style", "TimmVGG16"))
    assert (found["variant"], found["how"], found["head"], found["num_classes"]) == (
        "vgg16", "timm key layout", "fc6–fc8", 1000
    )  # fmt: skip


def test_identify_names_where_a_feature_extractor_was_cut(tmp_path):
    """The perceptual-loss VGG19 (renamed slices, no classifier) ends at conv4_4: only vgg19 has
    four 256-channel convs, so the file is vgg19's start."""
    found = _identify_module(tmp_path, _meta("perceptual", "PerceptualVGG19"))
    assert found["variant"] is None and found["features"] == "vgg19 up to conv4_4"
    assert found["how"].startswith("vgg19 cut after conv4_4")
    assert found["head"].startswith("none")
