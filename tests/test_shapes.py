"""Output shapes at 224 and 32, and the two analysis paths agreeing (hypothesis)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vgg_inspect
from vgg_inspect.records import asdict

from .conftest import ALL_VARIANTS


def _spatial(report):
    return {r.name: r.output_shape for r in report.layers}


@pytest.mark.parametrize("size", [224, 32])
def test_vgg16_shapes(size):
    shapes = _spatial(vgg_inspect.analyze("vgg16", input_size=size, batch=3))
    for block, ch in enumerate([64, 128, 256, 512, 512], start=1):
        s = size // 2 ** (block - 1)
        assert shapes[f"conv{block}_1"] == [3, ch, s, s]
        assert shapes[f"pool{block}"] == [3, ch, s // 2, s // 2]
    assert shapes["avgpool"] == [3, 512, 7, 7]  # adaptive: 7x7 at 224, replicated from 1x1 at 32
    assert shapes["fc6"] == [3, 4096] and shapes["fc8"] == [3, 1000]


def test_non_square_and_channels():
    r = vgg_inspect.analyze("vgg11", input_size="224x320", in_channels=1, num_classes=10)
    assert r.layer("conv1_1").input_shape == [1, 1, 224, 320]
    assert r.layer("pool5").output_shape == [1, 512, 7, 10]
    assert r.layer("fc8").output_shape == [1, 10]


def test_config_c_one_by_one_convs():
    r = vgg_inspect.analyze("C")
    c = r.layer("conv3_3")
    assert c.params_formula == "1·1·256·256 + 256" and c.params == 256 * 256 + 256
    assert c.output_shape == [1, 256, 56, 56]


def test_names_and_modules_vgg16_bn():
    r = vgg_inspect.analyze("vgg16_bn")
    assert [(x.name, x.module) for x in r.layers[:5]] == [
        ("conv1_1", "features.0"),
        ("bn1_1", "features.1"),
        ("relu1_1", "features.2"),
        ("conv1_2", "features.3"),
        ("bn1_2", "features.4"),
    ]
    assert [x.name for x in r.layers[-9:]] == [
        "avgpool",
        "flatten",
        "fc6",
        "relu6",
        "drop6",
        "fc7",
        "relu7",
        "drop7",
        "fc8",
    ]
    lrn = vgg_inspect.analyze("vgg11_lrn")
    assert [x.name for x in lrn.layers[:4]] == ["conv1_1", "relu1_1", "lrn1", "pool1"]


def test_custom_config_names():
    r = vgg_inspect.analyze(config="32,M,1x1-64,LRN,M,64")
    assert [x.name for x in r.layers if x.kind not in ("relu", "dropout", "flatten")] == [
        "conv1_1",
        "pool1",
        "conv2_1",
        "lrn2",
        "pool2",
        "conv3_1",
        "avgpool",
        "fc4",
        "fc5",
        "fc6",
    ]
    assert r.layer("fc4").params == 64 * 49 * 4096 + 4096


def _rows(report, drop=()):
    return [{k: v for k, v in asdict(r).items() if k not in drop} for r in report.layers]


def _executed(torch, name_or_config, shape, dtype="float32", **kw):
    """The module built on meta and *run* there with hooks: shapes from PyTorch's meta kernels,
    saved-for-backward tensors measured (meta kernels' layout)."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    spec = model_spec(name_or_config, **kw) if name_or_config else model_spec(**kw)
    model = tb.instantiate(spec, device="meta", dtype=dtype)
    return vgg_inspect.analyze_module(model, shape, execute=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(ALL_VARIANTS),
    classes=st.integers(1, 2000),
    in_ch=st.integers(1, 8),
    h=st.integers(32, 300),
    w=st.integers(32, 300),
    batch=st.integers(1, 64),
    dtype=st.sampled_from(["float32", "float16", "bfloat16"]),
)
def test_formulas_equal_meta_execution(torch, name, classes, in_ch, h, w, batch, dtype):
    """Every shape, count and figure of the closed-form path equals what running the module on meta
    tensors observes; saved-for-backward bytes equal the hooks' measurement under the meta
    kernels' convention (the CPU convention is checked against real CPU runs in test_memory)."""
    kw = dict(num_classes=classes, in_channels=in_ch, input_size=(h, w), batch=batch, dtype=dtype)
    analytical = vgg_inspect.analyze(name, **kw)
    executed = _executed(torch, name, (batch, in_ch, h, w), dtype, num_classes=classes, in_channels=in_ch)
    assert _rows(analytical, ("saved_bytes",)) == _rows(executed, ("saved_bytes",))
    meta_rule = vgg_inspect.analyze(name, device="meta", **kw)
    assert [r.saved_bytes for r in meta_rule.layers] == [r.saved_bytes for r in executed.layers]
    assert executed.input.analysis == "instantiated" and executed.input.device == "meta"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layers=st.lists(st.sampled_from(["16", "32", "1x1-24", "M", "LRN"]), min_size=1, max_size=9),
    bn=st.booleans(),
)
def test_formulas_equal_meta_execution_on_custom_configs(torch, layers, bn):
    config = ",".join(layers)
    size = 2 ** layers.count("M") * 3
    analytical = vgg_inspect.analyze(config=config, batch_norm=bn, input_size=size)
    executed = _executed(torch, None, (1, 3, size, size), config=config, batch_norm=bn)
    assert _rows(analytical, ("saved_bytes",)) == _rows(executed, ("saved_bytes",))


def test_cpu_instantiation_has_real_storage_and_no_init(torch):
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime import instantiate as tb

    model = tb.instantiate(model_spec("vgg11_bn"), device="cpu", dtype="bfloat16")
    w = model.features[0].weight
    assert w.device.type == "cpu" and w.dtype == torch.bfloat16
    assert torch.equal(model.features[1].running_var, torch.ones(64, dtype=torch.bfloat16))
    inited = tb.instantiate(model_spec("vgg11"), device="cpu", init=True)
    assert torch.count_nonzero(inited.classifier[0].bias) == 0
    assert 0.005 < float(inited.classifier[0].weight[:64].detach().std()) < 0.015  # normal(0, 0.01)


def test_analytical_path_never_imports_torch():
    import subprocess
    import sys

    code = (
        "import sys, vgg_inspect; vgg_inspect.analyze('vgg16_bn', input_size='300x200');"
        "from vgg_inspect.cli import cli;"
        "from click.testing import CliRunner; CliRunner().invoke(cli, ['params', 'vgg16']);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_user_module_is_executed_on_meta(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.act = nn.ReLU()  # called twice: two rows, parameters of conv counted once
            self.gelu = nn.GELU()  # a pointwise activation: no MACs, the field kept
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            x = self.act(self.conv(x))
            x = self.gelu(self.act(x))
            return self.head(x.mean((2, 3)))

    report = vgg_inspect.analyze_module(Net(), (2, 3, 16, 16))  # not walkable: executed on meta
    assert [(r.module, r.output_shape) for r in report.layers] == [
        ("conv", [2, 8, 16, 16]),
        ("act", [2, 8, 16, 16]),
        ("act", [2, 8, 16, 16]),
        ("gelu", [2, 8, 16, 16]),
        ("F.mean in Net.forward", [2, 8]),
        ("head", [2, 5]),
    ]
    assert report.totals.params == 3 * 9 * 8 + 8 + 8 * 5 + 5
    gelu = report.layers[3]
    assert gelu.type == "GELU" and gelu.macs == 0 and gelu.receptive_field == 3 and gelu.kind == "act"
    assert report.totals.macs == 2 * 16 * 16 * 8 * 27 + 2 * 8 * 5
    mean = report.layers[4]  # x.mean((2, 3)) in forward: a reduction (torch's tag) over both spatial axes
    assert mean.type == "Reduction" and mean.macs == 0 and mean.field_status == "global"
    assert mean.extra_flops == {"elementwise": 2 * 8 * 16 * 16} and report.coverage.status["macs"] == "complete"


def test_repeated_analyses_do_not_grow(torch):
    """Saved-tensor hooks that return the tensor leak a reference cycle per call; ours must not."""
    import gc
    import tracemalloc

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.GELU())

    def run(n):
        for _ in range(n):
            vgg_inspect.analyze_module(model, (2, 3, 32, 32), execute=True)
        gc.collect()

    run(5)  # warm caches
    objects = len(gc.get_objects())
    tracemalloc.start()
    run(100)
    grown, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(gc.get_objects()) - objects < 500
    assert grown < 2 * 2**20
