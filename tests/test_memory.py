"""Memory conventions against REFERENCE.md section 4, saved-tensor hooks, and the budget search."""

import json
import math

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.cli import cli

from . import reference as ref
from .conftest import ALL_VARIANTS


def test_activation_sum_vgg16():
    r = vgg_inspect.analyze("vgg16")
    conv_pool = sum(math.prod(x.output_shape) for x in r.layers if x.kind in ("conv", "pool"))
    assert conv_pool == ref.VGG16_CONV_POOL_OUTPUT_VALUES
    assert r.totals["activation_bytes"] == ref.VGG16_ACTIVATION_VALUES * 4
    assert round(r.totals["activation_bytes"] / 2**20, 1) == 58.1
    assert r.layer("conv1_1").activation_bytes == 64 * 224 * 224 * 4


def test_inference_peak_is_conv1_2_pair():
    assert vgg_inspect.analyze("vgg16").totals["inference_peak_bytes"] == 2 * 64 * 224 * 224 * 4
    assert vgg_inspect.analyze("vgg16", batch=8, dtype="float16").totals["inference_peak_bytes"] == 8 * 2 * 64 * 224 * 224 * 2


def _measure_saved_real(torch, name, shape):
    """Independent of the tool: a real CPU forward in train mode, every saved tensor's storage
    counted once by data pointer, parameters and buffers left out."""
    from vgg_inspect import torch_backend as tb
    from vgg_inspect.architecture import model_spec

    model = tb.instantiate(model_spec(name), device="cpu", init=True).train()
    state = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    seen: dict[int, int] = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in state:
            seen[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(torch.rand(shape))
    total = sum(seen.values())
    del out
    return total


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_saved_for_backward_rule_equals_measurement(torch, name):
    shape = (2, 3, 40, 56)
    predicted = vgg_inspect.analyze(name, input_size=(40, 56), batch=2).totals["training_saved_bytes"]
    assert predicted == _measure_saved_real(torch, name, shape)
    hooked = vgg_inspect.analyze(name, input_size=(40, 56), batch=2, device="meta", execute=True)
    assert hooked.totals["training_saved_bytes"] == predicted
    assert hooked.input["analysis"] == "instantiated"


def test_training_totals_and_optimizers():
    for opt, states in (("sgd", 0), ("momentum", 1), ("adam", 2)):
        t = vgg_inspect.analyze("vgg16_bn", optimizer=opt).totals
        assert t["gradient_bytes"] == t["weight_bytes"] == ref.PARAMS["vgg16_bn"] * 4
        assert t["optimizer_state_bytes"] == states * t["weight_bytes"]
        assert t["training_total_bytes"] == (t["weight_bytes"] * (2 + states) + t["buffer_bytes"]
                                             + t["training_saved_bytes"])


def test_budget_batch_fits_and_one_more_does_not():
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["memory", "vgg16_bn", "--budget", "8GiB", "--optimizer", "adam",
                                          "--format", "json"]).output)
    budget = data["budget"]
    assert budget["bytes"] == 8 * 2**30

    def totals(b):
        return vgg_inspect.analyze("vgg16_bn", batch=b, optimizer="adam").totals

    def inference(t):  # weights + buffers + peak live activations, written out here
        return t["weight_bytes"] + t["buffer_bytes"] + t["inference_peak_bytes"]

    b = budget["inference_batch"]
    assert inference(totals(b)) <= budget["bytes"] < inference(totals(b + 1))
    b = budget["training_batch"]
    assert totals(b)["training_total_bytes"] <= budget["bytes"] < totals(b + 1)["training_total_bytes"]


def test_budget_too_small_gives_zero():
    data = json.loads(CliRunner().invoke(cli, ["memory", "vgg16", "--budget", "100MB", "--format", "json"]).output)
    assert data["budget"]["inference_batch"] == 0 and data["budget"]["training_batch"] == 0


def test_memory_cli_labels_and_errors(torch):
    runner = CliRunner()
    out = " ".join(runner.invoke(cli, ["memory", "vgg16"]).output.split())
    assert "60,950,432 B = 58.1 MiB = 61.0 MB" in out
    assert "93" in out and "96 MB" in out
    measured = json.loads(runner.invoke(cli, ["memory", "vgg11", "--device", "cpu", "--format", "json"]).output)
    assert measured["totals"]["training_saved_bytes"] == vgg_inspect.analyze("vgg11").totals["training_saved_bytes"]
    for args, msg in ((["memory", "--budget", "lots"], "malformed size 'lots'"),
                      (["memory", "--measure"], "--measure needs --device cuda"),
                      (["memory", "--train"], "--train goes with --measure"),
                      (["memory", "--budget", "0GiB"], "size must be positive")):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2 and msg in res.output and "Traceback" not in res.output


def test_summary_has_macs_and_activation_columns():
    out = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "csv"]).output
    header = out.splitlines()[0]
    assert "MACs" in header and "Activation" in header
