"""Parameter counts against REFERENCE.md section 2, closed-form formulas and torchinfo."""

import pytest

import vgg_inspect
from vgg_inspect.network import VARIANTS

from . import reference as ref
from .conftest import ALL_VARIANTS


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_total_params_match_reference_on_both_paths(name, torch):
    assert vgg_inspect.analyze(name).totals.params == ref.PARAMS[name]
    assert vgg_inspect.analyze(name, device="meta").totals.params == ref.PARAMS[name]
    assert vgg_inspect.analyze(name, device="cpu").totals.params == ref.PARAMS[name]


@pytest.mark.parametrize("letter,millions", ref.PAPER_MILLIONS.items())
def test_paper_table2_millions(letter, millions):
    report = vgg_inspect.analyze(letter)
    assert round(report.totals.params / 1e6) == millions
    assert report.model.weight_layers == ref.WEIGHT_LAYERS[letter]


def test_vgg16_per_weight_layer():
    report = vgg_inspect.analyze("vgg16")
    weights = [r for r in report.layers if r.kind in ("conv", "fc")]
    assert [r.params for r in weights] == ref.VGG16_LAYER_PARAMS
    assert vars(report.totals.params_by_kind) == {
        "conv": ref.VGG16_CONV_PARAMS,
        "fc": ref.VGG16_FC_PARAMS,
        "norm": 0,
        "other": 0,
    }
    assert report.totals.weight_bytes == ref.VGG16_FP32_WEIGHT_BYTES
    assert report.layer("fc6").params == 7 * 7 * 512 * 4096 + 4096
    assert report.layer("fc6").params_formula == "(512·7·7)·4096 + 4096"
    assert report.layer("conv2_1").params_formula == "3·3·64·128 + 128"


def _closed_form(tokens_channels, in_ch, classes, bn):
    """Params of a VGG from its conv widths: k*k*cin*cout + cout per conv, 2C per BN, FC head."""
    total, c = 0, in_ch
    for k, out in tokens_channels:
        total += k * k * c * out + out + (2 * out if bn else 0)
        c = out
    return total + (c * 49 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * classes + classes)


@pytest.mark.parametrize("name", ALL_VARIANTS)
@pytest.mark.parametrize("classes,in_ch", [(1000, 3), (10, 1), (7, 12)])
def test_params_equal_closed_form(name, classes, in_ch):
    v = VARIANTS[name]
    convs = [(t.kernel, t.out_channels) for t in v.tokens if hasattr(t, "out_channels")]
    report = vgg_inspect.analyze(name, num_classes=classes, in_channels=in_ch)
    assert report.totals.params == _closed_form(convs, in_ch, classes, v.batch_norm)


def test_bn_buffers_and_trainable_split(torch):
    for path in (None, "cpu"):
        t = vgg_inspect.analyze("vgg16_bn", device=path).totals
        channels = [64, 64, 128, 128, 256, 256, 256] + [512] * 6
        assert t.params_by_kind.norm == sum(2 * c for c in channels)
        assert t.buffers == sum(2 * c + 1 for c in channels)
        assert t.buffer_bytes == sum(2 * c * 4 + 8 for c in channels)  # running stats fp32, counter int64
        assert t.trainable_params == t.params and t.non_trainable_params == 0


def test_weight_bytes_follow_dtype(torch):
    for dtype, size in (("float32", 4), ("float16", 2), ("bf16", 2)):
        for device in (None, "cpu"):
            t = vgg_inspect.analyze("vgg16", dtype=dtype, device=device).totals
            assert t.weight_bytes == ref.PARAMS["vgg16"] * size


def test_frozen_parameters_counted_as_non_trainable(torch):
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    model = tb.instantiate(model_spec("vgg11"), device="cpu")
    for p in model.features.parameters():
        p.requires_grad_(False)
    report = vgg_inspect.analyze_module(model, (1, 3, 224, 224))
    conv = sum(r.params for r in report.layers if r.kind == "conv")
    assert report.totals.non_trainable_params == conv
    assert report.totals.trainable_params == ref.PARAMS["vgg11"] - conv


def _torchinfo_leaves(model, shape):
    torchinfo = pytest.importorskip("torchinfo")
    stats = torchinfo.summary(model, input_size=shape, device="meta", verbose=0)
    rows = []
    for info in stats.summary_list:
        if not info.is_leaf_layer:
            continue
        path, node = [], info
        while node is not None and node.parent_info is not None:
            path.append(node.var_name)
            node = node.parent_info
        rows.append((".".join(reversed(path)), list(info.output_size), info.num_params))
    return rows, stats.total_params


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_torchinfo_agrees_per_layer(name, torch):
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    spec = model_spec(name)
    rows, total = _torchinfo_leaves(tb.instantiate(spec, device="meta"), (2, 3, 224, 224))
    report = vgg_inspect.analyze(name, batch=2)
    assert [(r.module, r.output_shape, r.params) for r in report.layers] == rows
    assert report.totals.params == total


def test_state_dict_keys_follow_torchvision(torch):
    """torchvision's vgg16 keys: conv weights at features 0,2,5,7,10,12,14,17,19,21,24,26,28."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    conv_idx = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    expected = [f"features.{i}.{p}" for i in conv_idx for p in ("weight", "bias")]
    expected += [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]
    sd = tb.instantiate(model_spec("vgg16"), device="meta").state_dict()
    assert list(sd) == expected
    assert tuple(sd["classifier.0.weight"].shape) == (4096, 25088)
    bn_keys = tb.instantiate(model_spec("vgg11_bn"), device="meta").state_dict()
    assert {"features.1.running_mean", "features.1.num_batches_tracked", "features.0.weight"} <= set(bn_keys)


def test_lrn_is_the_paper_lrn(torch):
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    model = tb.instantiate(model_spec("A-LRN"), device="meta")
    lrn = model.features[2]
    assert isinstance(lrn, torch.nn.LocalResponseNorm)
    # Krizhevsky: k=2, n=5, alpha=1e-4 on the plain sum; PyTorch divides alpha by n.
    assert (lrn.size, lrn.k, lrn.beta) == (5, 2.0, 0.75) and lrn.alpha / lrn.size == pytest.approx(1e-4)
    assert [type(m).__name__ for m in model.features[:4]] == ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d"]
    x = torch.rand(1, 8, 3, 3, dtype=torch.float64)
    sq = torch.nn.functional.pad(x.pow(2), (0, 0, 0, 0, 2, 2))
    window = torch.stack([sq[:, c : c + 5].sum(1) for c in range(8)], 1)
    expected = x / (2.0 + 1e-4 * window) ** 0.75  # the paper's formula, written out
    assert torch.allclose(lrn(x), expected)


def _torchvision_layout(torch, config, num_classes, batch_norm):
    """VGG as torchvision's make_layers builds it, written here independently of the tool."""
    nn = torch.nn
    layers, c = [], 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1)] + ([nn.BatchNorm2d(v)] if batch_norm else []) + [nn.ReLU(True)]
            c = v
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    model.classifier = nn.Sequential(
        nn.Linear(c * 49, 4096),
        nn.ReLU(True),
        nn.Dropout(),
        nn.Linear(4096, 4096),
        nn.ReLU(True),
        nn.Dropout(),
        nn.Linear(4096, num_classes),
    )
    return model


@pytest.mark.slow  # a real CPU run at full size: `pytest -m "not slow"` skips it
def test_torchvision_layout_checkpoint_loads(torch, tmp_path):
    """A checkpoint of an independently built torchvision-layout VGG11-BN (10 classes) loads strictly,
    through torch.load(weights_only=True), and the values arrive where torchvision put them."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    config = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
    src = _torchvision_layout(torch, config, 10, batch_norm=True)
    path = tmp_path / "vgg11_bn.pt"
    torch.save(src.state_dict(), path)
    state = torch.load(path, weights_only=True)
    dst = tb.instantiate(model_spec("vgg11_bn", num_classes=10), device="cpu")
    dst.load_state_dict(state, strict=True)
    assert torch.equal(dst.features[0].weight, src.features[0].weight)
    assert torch.equal(dst.classifier[6].bias, src.classifier[6].bias)
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(dst.eval()(x), _forward(src.eval(), x))


def _forward(model, x):
    import torch

    return model.classifier(torch.flatten(model.avgpool(model.features(x)), 1))
