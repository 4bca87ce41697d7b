"""VGGs from other frameworks (issue 28): Keras configs (.json, .keras, .h5) and ONNX exports, read
without their framework. Every fixture is made here with the real library (keras on the torch
backend, torch.onnx.export's legacy and new exporters, onnx.helper), and every figure is held to
an independent source: Keras's own count_params() and output shapes, onnxruntime's output shapes,
FlopCounterMode on the torch twin, the onnx library's own parse, hand formulas."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zipfile

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

from vgg_inspect import api
from vgg_inspect.errors import VggInspectError


# keras.Input((H, W, C)) -> the tool's (N, C, H, W)
def _nchw(shape):
    return (1, shape[-1], *shape[1:-1]) if len(shape) == 4 else (1, *shape[1:])


def _analyze(path, **kw):
    return api.analyze_request(api.Request(str(path), **kw))


def _rows(report):
    return {r.module: r for r in report.layers}


# --- Keras ---


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _small_vgg(keras, bn=False, size=32):
    layers = [keras.Input((size, size, 3))]
    for c in (8, 16):
        layers.append(keras.layers.Conv2D(c, 3, padding="same", activation="relu", name=f"conv{c}"))
        if bn:
            layers.append(keras.layers.BatchNormalization(name=f"bn{c}"))
        layers.append(keras.layers.MaxPooling2D(name=f"pool{c}"))
    layers += [
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(32, activation="relu", name="fc1"),
        keras.layers.Dropout(0.5, name="drop"),
        keras.layers.Dense(10, activation="softmax", name="fc2"),
    ]
    return keras.Sequential(layers, name="small_vgg")


def _hold_to_keras(model, report):
    """Each Keras layer's params and output shape are the report's row of the same name."""
    rows = _rows(report)
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        row = rows[layer.name]
        keras_params = layer.count_params()
        stats = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        assert row.params + (row.buffers if stats else 0) == keras_params, layer.name
        assert tuple(row.output_shape) == _nchw(tuple(layer.output.shape)), layer.name


def test_keras_vgg16_json_is_keras_own_count_and_shapes(keras, tmp_path):
    model = keras.applications.VGG16(weights=None)
    path = tmp_path / "vgg16.json"
    path.write_text(model.to_json())
    report = _analyze(path)
    assert report.totals.params == model.count_params() == 138_357_544
    _hold_to_keras(model, report)
    assert report.totals.macs == 15_470_264_320  # REFERENCE §2 (published), FlopCounterMode/2 on torch's VGG16
    totals = next(w for w in report.warnings if w.startswith("Keras's own totals"))
    assert "Total params: 138,357,544 (527.79 MB)" in totals  # model.summary()'s line; 527.79 is MiB
    assert abs(138_357_544 * 4 / 2**20 - 527.79) < 0.005


def test_dot_keras_reads_config_json_alone(keras, tmp_path, monkeypatch):
    model = _small_vgg(keras, bn=True)
    path = tmp_path / "m.keras"
    model.save(path)
    opened = []
    real = zipfile.ZipFile.read

    def spy(self, name, pwd=None):
        opened.append(getattr(name, "filename", name))
        return real(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "read", spy)
    report = _analyze(path)
    assert opened == ["config.json"]
    _hold_to_keras(model, report)
    nontrainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert report.totals.params + report.totals.buffers == model.count_params()
    totals = next(w for w in report.warnings if w.startswith("Keras's own totals"))
    assert f"Non-trainable params: {nontrainable:,}" in totals


def test_legacy_h5_reads_its_model_config(keras, tmp_path):
    pytest.importorskip("h5py")
    model = _small_vgg(keras)
    path = tmp_path / "m.h5"
    model.save(path)
    _hold_to_keras(model, _analyze(path))


def test_functional_branches_joins_and_global_pool(keras, tmp_path):
    x = keras.Input((16, 16, 3), name="img")
    a = keras.layers.Conv2D(4, 3, padding="same", name="a")(x)
    b = keras.layers.Conv2D(4, 1, name="b")(x)
    s = keras.layers.Add(name="sum")([a, b])
    c = keras.layers.Concatenate(name="cat")([s, a])
    g = keras.layers.GlobalAveragePooling2D(name="gap")(c)
    out = keras.layers.Dense(3, name="head")(g)
    model = keras.Model(x, out)
    path = tmp_path / "f.json"
    path.write_text(model.to_json())
    report = _analyze(path)
    _hold_to_keras(model, report)
    assert report.totals.params == model.count_params()
    assert report.totals.macs == 16 * 16 * (3 * 9 * 4 + 3 * 4) + 8 * 3


@pytest.mark.parametrize(("size", "kernel", "stride"), [(16, 2, 1), (33, 3, 2), (15, 4, 3)])
def test_tensorflow_same_padding_is_exact(keras, tmp_path, size, kernel, stride):
    """'same' pads floor(total/2) before and the rest after: shapes, MACs and fields exact."""
    model = keras.Sequential(
        [keras.Input((size, size, 2)), keras.layers.Conv2D(5, kernel, strides=stride, padding="same", name="c")]
    )
    path = tmp_path / "s.json"
    path.write_text(model.to_json())
    report = _analyze(path)
    out = -(-size // stride)
    assert tuple(_rows(report)["c"].output_shape) == _nchw(tuple(model.layers[-1].output.shape)) == (1, 5, out, out)
    assert report.totals.macs == out * out * kernel * kernel * 2 * 5
    total = max((out - 1) * stride + kernel - size, 0)
    pads = [r for r in report.layers if r.type == "Pad"]
    if total % 2:  # unequal: a Pad row carries (floor(total/2), the rest)
        assert pads and tuple(pads[0].output_shape[2:]) == (size + total, size + total)
    # the field of the first output pixel starts total//2 before the image: (kernel - total//2) pixels in it
    field = report.layers[-1].receptive_field
    assert field is None or field >= kernel


KERAS2 = {
    "class_name": "Model", "keras_version": "2.12.0", "backend": "tensorflow",
    "config": {"name": "tiny", "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 8, 8, 3], "dtype": "float32", "name": "input_1"}},
        {"class_name": "Conv2D", "name": "conv", "inbound_nodes": [[["input_1", 0, 0, {}]]],
         "config": {"name": "conv", "filters": 6, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                    "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu",
                    "use_bias": True}},
        {"class_name": "Flatten", "name": "flat", "inbound_nodes": [[["conv", 0, 0, {}]]],
         "config": {"name": "flat"}},
        {"class_name": "Dense", "name": "out", "inbound_nodes": [[["flat", 0, 0, {}]]],
         "config": {"name": "out", "units": 4, "activation": "softmax", "use_bias": True}},
    ], "input_layers": [["input_1", 0, 0]], "output_layers": [["out", 0, 0]]},
}  # fmt: skip


def test_keras2_json_by_its_own_rules(tmp_path):
    """tf.keras's format (batch_input_shape, nested-list inbound_nodes), by hand formulas."""
    path = tmp_path / "k2.json"
    path.write_text(json.dumps(KERAS2))
    report = _analyze(path)
    assert report.totals.params == (3 * 9 * 6 + 6) + (6 * 6 * 6 * 4 + 4)
    assert tuple(_rows(report)["out"].output_shape) == (1, 4)
    assert any("Keras 2" in w for w in report.warnings)


# --- ONNX ---


@pytest.fixture(scope="module")
def onnx():
    return pytest.importorskip("onnx")


def _twin(torch, bn=False):
    from torch import nn

    layers = []
    for cin, c in ((3, 8), (8, 16)):
        layers += [nn.Conv2d(cin, c, 3, padding=1), *([nn.BatchNorm2d(c)] if bn else []), nn.ReLU(), nn.MaxPool2d(2)]
    net = nn.Sequential(nn.Sequential(*layers), nn.Flatten(), nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Dropout(),
                        nn.Linear(32, 10))  # fmt: skip
    torch.manual_seed(0)
    for p in net.parameters():  # non-zero biases: no exporter merges or drops them
        nn.init.uniform_(p, -0.1, 0.1)
    return net.eval()


def _export(torch, net, path, dynamo, shape=(1, 3, 32, 32)):
    if dynamo:
        pytest.importorskip("onnxscript")
    torch.onnx.export(net, (torch.randn(shape),), str(path), dynamo=dynamo, **({} if dynamo else {"opset_version": 17}))
    return path


def _flop_counter_macs(torch, net, shape):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        net(torch.randn(shape))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy exporter", "new exporter"])
def test_onnx_export_counts_like_torch(torch, onnx, tmp_path, dynamo):
    net = _twin(torch)
    path = _export(torch, net, tmp_path / "m.onnx", dynamo)
    report = _analyze(path)
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    assert report.totals.macs == _flop_counter_macs(torch, net, (1, 3, 32, 32))
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path))
    import numpy as np

    got = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 32, 32), np.float32)})[0]
    assert tuple(report.layers[-1].output_shape) == got.shape


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy exporter", "new exporter"])
def test_onnx_batchnorm_folded_is_said(torch, onnx, tmp_path, dynamo):
    """The legacy exporter's onnx::Conv_* initializers, the new one's node metadata, say it."""
    net = _twin(torch, bn=True)
    path = _export(torch, net, tmp_path / "bn.onnx", dynamo)
    report = _analyze(path)
    assert any(w.startswith("BatchNorm folded") for w in report.warnings)
    assert not any(r.type == "BatchNorm2d" for r in report.layers)
    assert report.totals.macs == _flop_counter_macs(torch, net, (1, 3, 32, 32))


def test_the_wire_reader_is_the_onnx_librarys_parse(torch, onnx, tmp_path):
    """On every exporter's file: nodes, their inputs, outputs and attributes, initializer dims."""
    from vgg_inspect.formats.onnx_wire import read

    for dynamo in (False, True):
        path = _export(torch, _twin(torch, bn=not dynamo), tmp_path / f"w{dynamo}.onnx", dynamo)
        mine, theirs = read(str(path)), onnx.load(str(path), load_external_data=False)
        assert [(n.op_type, n.inputs, n.outputs) for n in mine.nodes] == [
            (n.op_type, list(n.input), list(n.output)) for n in theirs.graph.node
        ]
        for n, t in zip(mine.nodes, theirs.graph.node):
            for a in t.attribute:
                got = n.attributes[a.name]
                want = onnx.helper.get_attribute_value(a)
                if isinstance(want, list) and want and isinstance(want[0], int):
                    assert got.ints == want
                elif isinstance(want, int):
                    assert got.i == want
        assert {k: v.dims for k, v in mine.initializers.items()} == {
            i.name: tuple(i.dims) for i in theirs.graph.initializer
        }
        assert mine.opset == next(o.version for o in theirs.opset_import if o.domain in ("", "ai.onnx"))


def _opset7_vgg(onnx, path, weights=True):
    """A graph laid out like the model zoo's MXNet VGGs: opset 7, initializers listed among the
    inputs, BatchNormalization with ``spatial``, Flatten, Gemm with transB, Dropout's ratio attribute."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    shapes = {"w0": (8, 3, 3, 3), "b0": (8,), "g": (8,), "be": (8,), "m": (8,), "v": (8,), "fw": (10, 8 * 8 * 8),
              "fb": (10,)}  # fmt: skip
    inits = [numpy_helper.from_array(rng.random(s, dtype=np.float32), n) for n, s in shapes.items()]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 16, 16])]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    nodes = [
        helper.make_node("Conv", ["data", "w0", "b0"], ["c0"], name="vgg0_conv0_fwd", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c0", "g", "be", "m", "v"], ["n0"], name="vgg0_batchnorm0_fwd",
                         spatial=1, epsilon=1e-5),
        helper.make_node("Relu", ["n0"], ["r0"], name="vgg0_relu0_fwd"),
        helper.make_node("MaxPool", ["r0"], ["p0"], name="vgg0_pool0_fwd", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p0"], ["f0"], name="flatten0", axis=1),
        helper.make_node("Dropout", ["f0"], ["d0"], name="vgg0_dropout0_fwd", ratio=0.5),
        helper.make_node("Gemm", ["d0", "fw", "fb"], ["out"], name="vgg0_dense0_fwd", transB=1),
        helper.make_node("Softmax", ["out"], ["prob"], name="softmax0"),
    ]  # fmt: skip
    graph = helper.make_graph(nodes, "vgg0", inputs, [helper.make_tensor_value_info("prob", TensorProto.FLOAT,
                                                                                   ["N", 10])],
                              initializer=inits if weights else [])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 7)], ir_version=3)
    onnx.save(model, str(path))
    return path


def test_opset7_zoo_layout_by_formula_and_onnxruntime(onnx, tmp_path):
    path = _opset7_vgg(onnx, tmp_path / "vgg0.onnx")
    report = _analyze(path, batch=4)
    assert report.totals.params == (8 * 27 + 8) + 2 * 8 + (512 * 10 + 10)
    assert report.totals.buffers == 2 * 8  # running mean and variance
    assert report.totals.macs == 4 * (16 * 16 * 27 * 8 + 512 * 10)
    assert report.input.shape == [4, 3, 16, 16]  # the free batch N takes --batch
    rows = _rows(report)
    assert "vgg0_conv0_fwd" in rows and "vgg0_dense0_fwd" in rows
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    session = ort.InferenceSession(str(path))
    got = session.run(None, {"data": np.zeros((4, 3, 16, 16), np.float32)})[0]
    assert tuple(report.layers[-1].output_shape) == got.shape


def test_onnx_without_its_weights_counts_from_declared_shapes(onnx, tmp_path):
    path = _opset7_vgg(onnx, tmp_path / "bare.onnx", weights=False)
    assert os.path.getsize(path) < 4096
    report = _analyze(path)
    assert report.totals.params == (8 * 27 + 8) + 2 * 8 + (512 * 10 + 10)
    assert any("weights absent" in w for w in report.warnings)


# --- bad files: a clear error, never a traceback ---


def _cli(*args):
    from click.testing import CliRunner

    from vgg_inspect.cli import cli

    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.onnx", b"", "is empty"),
        ("noise.onnx", bytes(range(256)) * 8, "not"),
        ("empty.json", b"", "not JSON"),
        ("other.json", b'{"a": [1, 2]}', "not a Keras model"),
        ("noise.keras", b"PK\x03\x04 not really a zip", "not a readable .keras zip"),
        ("noise.h5", b"\x89HDF\r\n\x1a\n broken", "HDF5"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, name, content, says):
    if name.endswith(".h5"):
        pytest.importorskip("h5py")
    path = tmp_path / name
    path.write_bytes(content)
    result = _cli("summary", str(path))
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_zip_without_config_and_truncated_onnx(onnx, tmp_path):
    path = tmp_path / "w.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.weights.h5", b"x")
    assert "without config.json" in _cli("summary", str(path)).output
    whole = _opset7_vgg(onnx, tmp_path / "whole.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(whole[: len(whole) // 2])
    result = _cli("summary", str(cut))
    assert result.exit_code == 2 and "truncated" in result.output


def test_cyclic_graph_and_huge_dimension(onnx, tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["x", "b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])]
    inp = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])]
    out = [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, 8, 8])]
    path = tmp_path / "cycle.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "c", inp, out)), str(path))
    assert "cycle" in _cli("summary", str(path)).output
    inp = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10**9, 8])]
    path = tmp_path / "huge.onnx"
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "h", inp, inp)), str(path))
    result = _cli("summary", str(path), "--input", "8")
    assert result.exit_code == 2 and "1,048,576" in result.output


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "link/secret.bin"])
def test_external_data_never_leaves_the_models_folder(onnx, tmp_path, location):
    from onnx import TensorProto, helper

    folder = tmp_path / "model"
    folder.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.bin").write_bytes(b"\0" * 1024)
    (folder / "link").symlink_to(outside)
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3])
    weight.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "432")):
        entry = weight.external_data.add()
        entry.key, entry.value = k, v
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])],
                              initializer=[weight])  # fmt: skip
    path = folder / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(VggInspectError, match="outside the model's folder"):
        _analyze(path)


def test_reading_a_file_needs_no_torch_keras_or_onnx(onnx, tmp_path):
    path = _opset7_vgg(onnx, tmp_path / "vgg0.onnx")
    (tmp_path / "k2.json").write_text(json.dumps(KERAS2))
    blocked = "('torch', 'onnx', 'keras', 'tensorflow', 'google.protobuf')"
    code = (f"import sys\nfor m in {blocked}:\n    sys.modules[m] = None\n"
            "from vgg_inspect.cli import cli\n"
            f"for p in ({str(path)!r}, {str(tmp_path / 'k2.json')!r}):\n"
            "    try:\n        cli(['params', p], standalone_mode=False)\n    except SystemExit as e:\n"
            "        assert not e.code, e.code\n")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "5,370" in run.stdout  # the opset-7 graph: 8·27 + 8, 2·8, 512·10 + 10
    assert "1,036" in run.stdout  # the Keras 2 config: 3·9·6 + 6, 6·6·6·4 + 4


@pytest.mark.slow
def test_diff_and_identify_of_full_size_exports(torch, onnx, tmp_path):
    """torchvision's VGG16 (here the tool's own twin of it) exported in eval mode is vgg16 (diff exits
    0: no Dropout, the adaptive pool a 1x1 AveragePool); a vgg16_bn export is identified as vgg16_bn."""
    from .models.twins import torchvision_twin

    for name in ("vgg16", "vgg16_bn"):
        net = torchvision_twin(torch, name)
        path = _export(torch, net, tmp_path / f"{name}.onnx", False, (1, 3, 224, 224))
        if name == "vgg16":
            result = _cli("diff", "vgg16", str(path))
            assert result.exit_code == 0, result.output[-3000:]
            assert _analyze(path).totals.params == 138_357_544
        else:
            ident = api.identify(str(path))
            assert ident.variant == "vgg16_bn"


def test_onnx_tool_convention_reconciled_on_vgg16(torch, onnx, tmp_path):
    """onnx-tool's "MACs" of VGG16 (issue 28, from onnx-tool's own profile): 15,503,523,304 = the MACs
    + one add per biased output + one per ReLU element + k·k per pooled output, each part written here."""
    from vgg_inspect.network import model_spec
    from vgg_inspect.runtime.instantiate import instantiate

    net = instantiate(model_spec("vgg16"), device="cpu", dtype="float32", init=False).eval()
    path = _export(torch, net, tmp_path / "vgg16.onnx", False, (1, 3, 224, 224))
    report = _analyze(path)
    peers = api.compare_peers(api.Request(str(path)), report)
    onnx_tool = next(p for p in peers if p.tool == "onnx-tool")
    conv_out = 224**2 * 64 * 2 + 112**2 * 128 * 2 + 56**2 * 256 * 3 + 28**2 * 512 * 3 + 14**2 * 512 * 3
    pooled = 112**2 * 64 + 56**2 * 128 + 28**2 * 256 + 14**2 * 512 + 7**2 * 512
    assert onnx_tool.reproduced == 15_470_264_320 + (conv_out + 9192) + (conv_out + 8192) + 4 * pooled + 7 * 7 * 512
    assert onnx_tool.reproduced == 15_503_523_304
    assert all(p.status == "skipped" and p.reason for p in peers)


def test_the_articles_tensorflow_file_as_written(keras, tmp_path):
    """``import tensorflow as tf`` with only keras installed: the rows of model.summary()."""
    src = tmp_path / "vgg16_tf.py"
    convs = "".join(f"    layers.Conv2D({c}, (3, 3), activation='relu', padding='same'),\n" + (
        "    layers.MaxPooling2D((2, 2), strides=(2, 2)),\n" if last else "")
        for c, last in [(64, 0), (64, 1), (128, 0), (128, 1), (256, 0), (256, 0), (256, 1), (512, 0), (512, 0),
                        (512, 1), (512, 0), (512, 0), (512, 1)])  # fmt: skip
    src.write_text(
        "import tensorflow as tf\nfrom tensorflow.keras import layers\n\nVGG16 = tf.keras.Sequential([\n"
        + convs.replace("padding='same')", "padding='same', input_shape=(224, 224, 3))", 1)
        + "    layers.Flatten(),\n"
        "    layers.Dense(4096, activation='relu'),\n    layers.Dropout(0.5),\n"
        "    layers.Dense(4096, activation='relu'),\n    layers.Dropout(0.5),\n"
        "    layers.Dense(1000, activation='softmax'),\n])\n"
    )
    report = api.analyze_request(api.Request(f"{src}:VGG16"))
    assert report.totals.params == 138_357_544
    convs_rows = [r for r in report.layers if r.type == "Conv2d"]
    assert (
        len(convs_rows) == 13
        and convs_rows[0].params == 1_792
        and tuple(convs_rows[0].output_shape) == (1, 64, 224, 224)
    )
    assert report.layers[-2].params == 4_097_000


def test_nested_models_and_unknown_layers(keras, tmp_path):
    """A Sequential inside a Functional is flattened into outer/inner names; a layer class with no
    formulas is a row of its own type, and the coverage names it (never a silent zero)."""
    inner = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2D(4, 3, padding="same", name="c")], name="blk")
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 1, name="stem")(x)
    y = inner(y)
    y = keras.layers.UpSampling2D(name="up")(y)  # no formulas here
    model = keras.Model(x, y)
    path = tmp_path / "nested.json"
    path.write_text(model.to_json())
    report = _analyze(path)
    rows = _rows(report)
    assert "blk/c" in rows and rows["blk/c"].params == 4 * 9 * 4 + 4
    assert "up" in rows and report.coverage.status["macs"] == "partial"
    assert any("UpSampling2D" in k for k in report.coverage.not_counted)


def test_storage_bench_and_diff_of_a_file(keras, tmp_path):
    model = _small_vgg(keras)
    path = tmp_path / "small.json"
    path.write_text(model.to_json())
    from vgg_inspect.api import bench, storage

    got = storage(api.Request(str(path)))
    assert got.storage is not None
    assert any("rebuilt in torch" in w for w in got.warnings)
    timed = bench(api.Request(str(path)), warmup=0, iterations=1, device_spec="h100-sxm")
    assert timed.bench.runs and any("rebuilt in torch" in w for w in timed.warnings)
    # the same network written as a config list: every weight layer pairs; the softmax at the end is said
    result = _cli("diff", "config:8,M,16,M", str(path), "--num-classes", "10", "--input", "32")
    assert "softmax" in result.output or "an activation" in result.output


def test_channels_last_shapes_print_as_keras_prints_them(keras, tmp_path):
    """Tables in the file's own layout (Keras's (None, 32, 32, 8) is 1×32×32×8); the JSON in (N, C, H, W)."""
    model = _small_vgg(keras)
    path = tmp_path / "small.json"
    path.write_text(model.to_json())
    table = _cli("params", str(path))
    assert "1×32×32×8" in table.output and "1×8×32×32" not in table.output
    doc = json.loads(_cli("params", str(path), "--format", "json").output)
    assert doc["model"]["layout"] == "NHWC"
    conv = next(r for r in doc["layers"] if r["module"] == "conv8")
    assert conv["output_shape"] == [1, 8, 32, 32]


def test_an_onnx_op_without_formulas_is_a_row_of_its_type(onnx, tmp_path):
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf0"), helper.make_node("Relu", ["e"], ["y"], name="r")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])  # fmt: skip
    path = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph), str(path))
    report = _analyze(path)
    assert _rows(report)["erf0"].type == "Erf"
    assert report.coverage.status["macs"] == "partial" and report.coverage.not_counted == {"Erf": 1}


def _many_ops_graph(onnx, path):
    """Pad (pads as an input), Conv, LRN, LeakyRelu, a Concat of two branches, Sum, Identity, Flatten
    by a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain, MatMul + Add, Softmax: opset 13."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.random(s, dtype=np.float32), n)
             for n, s in (("w", (4, 3, 3, 3)), ("b", (4,)), ("w1", (4, 3, 1, 1)), ("fw", (8 * 6 * 6, 5)),
                          ("fb", (5,)))]  # fmt: skip
    inits += [numpy_helper.from_array(np.array(v, np.int64), n)
              for n, v in (("pads", [0, 0, 1, 1, 0, 0, 1, 1]), ("zero", 0), ("minus", [-1]))]  # fmt: skip
    n = helper.make_node
    nodes = [
        n("Pad", ["x", "pads"], ["p"], name="pad"),
        n("Conv", ["p", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3]),
        n("LRN", ["c"], ["l"], name="lrn", size=3),
        n("LeakyRelu", ["l"], ["a"], name="leaky"),
        n("Conv", ["x", "w1"], ["c1"], name="side", kernel_shape=[1, 1]),
        n("Sum", ["a", "c1"], ["s"], name="sum"),
        n("Concat", ["s", "a"], ["cat"], name="cat", axis=1),
        n("MaxPool", ["cat"], ["m"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        n("Identity", ["m"], ["i"], name="same"),
        n("Shape", ["i"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], name="gather", axis=0),
        n("Unsqueeze", ["batch", "axes"], ["b1"], name="unsq"),
        n("Concat", ["b1", "minus"], ["target"], name="target", axis=0),
        n("Reshape", ["i", "target"], ["flat"], name="flatten"),
        n("MatMul", ["flat", "fw"], ["mm"], name="fc"),
        n("Add", ["mm", "fb"], ["logits"], name="fc_bias"),
        n("Softmax", ["logits"], ["prob"], name="softmax", axis=1),
    ]  # fmt: skip
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axes"))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 11, 11])
    prob = helper.make_tensor_value_info("prob", TensorProto.FLOAT, [2, 5])
    graph = helper.make_graph(nodes, "many", [x], [prob], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_many_onnx_ops_by_formula_onnxruntime_and_the_onnx_library(onnx, tmp_path):
    import numpy as np

    from vgg_inspect.formats.onnx_wire import read

    path = _many_ops_graph(onnx, tmp_path / "many.onnx")
    report = _analyze(path, batch=2)
    rows = _rows(report)
    assert tuple(rows["pad"].output_shape) == (2, 3, 13, 13) and tuple(rows["conv"].output_shape) == (2, 4, 11, 11)
    assert tuple(rows["pool"].output_shape) == (2, 8, 6, 6)  # ceil mode: 11 -> 6
    assert tuple(rows["flatten"].output_shape) == (2, 8 * 6 * 6) and rows["flatten"].type == "Flatten"
    assert rows["fc"].type == "Linear" and rows["fc"].params == 8 * 36 * 5 + 5  # MatMul + Add: one Linear row
    assert "fc_bias" not in rows and "same" not in rows and "shape" not in rows
    assert report.totals.params == (4 * 27 + 4) + 4 * 3 + (288 * 5 + 5)
    assert report.totals.macs == 2 * (11 * 11 * 27 * 4 + 11 * 11 * 3 * 4 + 288 * 5)
    ort = pytest.importorskip("onnxruntime")
    got = ort.InferenceSession(str(path)).run(None, {"x": np.zeros((2, 3, 11, 11), np.float32)})[0]
    assert tuple(report.layers[-1].output_shape) == got.shape
    mine, theirs = read(str(path)), onnx.load(str(path))
    assert [(x.op_type, x.inputs, x.outputs) for x in mine.nodes] == [
        (x.op_type, list(x.input), list(x.output)) for x in theirs.graph.node
    ]
    assert {k: v.values for k, v in mine.initializers.items() if v.values is not None} == {
        "pads": [0, 0, 1, 1, 0, 0, 1, 1],
        "zero": [0],
        "minus": [-1],
        "axes": [0],
    }


def test_legacy_export_of_a_view_flatten(torch, onnx, tmp_path):
    """x.view(x.size(0), -1) exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape: folded."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            x = self.conv(x)
            return self.fc(x.view(x.size(0), -1))

    net = Net().eval()
    path = tmp_path / "view.onnx"
    torch.onnx.export(net, (torch.randn(2, 3, 8, 8),), str(path), dynamo=False, opset_version=13,
                      input_names=["x"], dynamic_axes={"x": {0: "N"}})  # fmt: skip
    assert any(n.op_type == "Shape" for n in onnx.load(str(path)).graph.node)
    report = _analyze(path, batch=4)
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    assert report.totals.macs == _flop_counter_macs(torch, net, (4, 3, 8, 8))
    assert tuple(report.layers[-1].output_shape) == (4, 3)


def test_mutated_onnx_files_are_clean_errors_or_reports(onnx, tmp_path):
    """Bytes flipped, cut or repeated anywhere in a real export: the reader either reports the model
    or says what is wrong (a VggInspectError); nothing else escapes, nothing runs away."""
    import random

    whole = _opset7_vgg(onnx, tmp_path / "base.onnx").read_bytes()
    rng = random.Random(0)
    path = tmp_path / "mutant.onnx"
    for _ in range(300):
        data = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.5:
                data[i] = rng.randrange(256)
            elif kind < 0.8:
                del data[i : i + rng.randint(1, 64)]
            else:
                data[i:i] = data[i : i + rng.randint(1, 32)]
        path.write_bytes(bytes(data))
        try:
            _analyze(path)
        except VggInspectError:
            pass


def test_mutated_keras_configs_are_clean_errors_or_reports(tmp_path):
    """Any value of a Keras config replaced by one of the wrong type or sign: a report or a
    VggInspectError, never a traceback."""
    import copy
    import random

    def places(node, path=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield (*path, k)
                yield from places(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield (*path, i)
                yield from places(v, (*path, i))

    spots = list(places(KERAS2))
    rng = random.Random(0)
    path = tmp_path / "mutant.json"
    for _ in range(400):
        doc = copy.deepcopy(KERAS2)
        where = rng.choice(spots)
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = rng.choice([None, "x", -1, 0, 10**12, [], {}, [None], 1.5, True])
        path.write_text(json.dumps(doc))
        try:
            _analyze(path)
        except VggInspectError:
            pass


def test_a_frozen_keras_layer_counts_as_non_trainable(keras, tmp_path):
    model = _small_vgg(keras, bn=True)
    model.get_layer("conv8").trainable = False
    path = tmp_path / "frozen.json"
    path.write_text(model.to_json())
    report = _analyze(path)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert report.totals.trainable_params == trainable
    totals = next(w for w in report.warnings if w.startswith("Keras's own totals"))
    assert f"Trainable params: {trainable:,}," in totals
    assert f"Non-trainable params: {model.count_params() - trainable:,}" in totals
