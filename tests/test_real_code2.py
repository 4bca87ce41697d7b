"""Issue 29: public VGG code the tool had not seen. Each case is a model of tests/models/real_code2.py
checked against an independent oracle: FlopCounterMode on a real forward + backward, autograd,
real CPU runs, or arithmetic written here."""

import importlib.util

import pytest
from click.testing import CliRunner

import vgg_inspect
from vgg_inspect.cli import cli

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

FILE = "tests/models/real_code2.py"


def model(name, **kwargs):
    spec = importlib.util.spec_from_file_location("real_code2", FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)(**kwargs)


def flop_counter_train(name, shape):
    """FlopCounterMode's FLOPs for forward + backward of the output's sum, in train mode where the
    model accepts it at this batch (else eval, as the tool falls back), on real CPU tensors."""
    net = model(name)
    x = torch.randn(shape)
    net.train()
    try:
        with torch.no_grad():
            net(x)
    except ValueError:  # BatchNorm over one value per channel
        net.eval()
    with FlopCounterMode(display=False) as counter:
        out = net(x)
        out.sum().backward()
    return counter.get_total_flops()


def analyze(name, size, batch=1):
    return vgg_inspect.analyze(f"{FILE}:{name}", input_size=size, batch=batch)


# --- compute that follows autograd (items 1-4) ------------------------------------------------------


def test_a_gram_matrix_is_no_weight_layer_and_gets_no_backward_when_its_output_is_unused():
    report = analyze("StyleNet", 16)
    assert report.model.weight_layers == 5  # five convs; the two Gram matrices hold no weight
    grams = [r for r in report.layers if r.name.startswith("F.mm")]
    assert len(grams) == 2 and all(r.kind != "fc" and r.params == 0 for r in grams)
    assert [r.macs for r in grams] == [8 * 8 * 256, 16 * 16 * 64]  # (C, HW) @ (HW, C): C·HW·C
    assert all(r.train_flops == r.flops for r in grams)  # the style loss returns its input: no gradient flows
    assert report.totals.train_flops == flop_counter_train("StyleNet", (1, 3, 16, 16))


def test_both_operands_of_a_product_that_reaches_the_output_get_their_gradient():
    report = analyze("GramOutput", 8)
    gram = next(r for r in report.layers if r.name.startswith("F.mm"))
    assert gram.train_flops == 3 * gram.flops  # forward, and the gradient of each operand
    assert report.totals.train_flops == flop_counter_train("GramOutput", (1, 3, 8, 8))


def test_a_frozen_first_operand_still_sends_the_gradient_to_the_second():
    report = analyze("PcaHead", 16, batch=2)
    pca = report.layers[-1]
    assert pca.params == 16 * 32 and pca.trainable_params == 0
    assert pca.train_flops == 2 * pca.flops  # no gradient for the frozen matrix, one for the embedding
    assert report.totals.train_flops == flop_counter_train("PcaHead", (2, 3, 16, 16))
    assert pca.train_flops - pca.flops == 65_536 // 32  # one mm: 2·16·32·2 FLOPs (the 65,536 at its size)


def test_eval_fallback_charges_no_input_gradient_to_a_branch_reading_the_image():
    report = analyze("TwoBranchesBn", 8)
    assert any("refuses train mode" in w for w in report.warnings)
    one = next(r for r in report.layers if r.module == "one")
    assert one.train_flops == 2 * one.flops  # its weight gradient only: 147,456 where 221,184 was charged
    assert report.totals.train_flops == flop_counter_train("TwoBranchesBn", (1, 3, 8, 8))


# --- modules and construction (items 9, 10) -------------------------------------------------------------


def test_a_module_whose_forward_ran_is_not_called_never_called():
    report = analyze("Perceptual", 16)
    held = {h.owner: h for h in report.held or []}
    assert held["scaling"].called and sorted(held["scaling"].names) == ["scaling.scale", "scaling.shift"]
    assert not any("never called" in w and "scaling" in w for w in report.warnings)
    assert any(r.name.endswith("in ScalingLayer.forward") for r in report.layers)


def test_init_builds_on_the_device_a_model_that_moves_itself(tmp_path):
    res = CliRunner().invoke(cli, ["params", f"{FILE}:MovesItself", "--device", "cpu", "--init", "--input", "16",
                                   "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    net = model("MovesItself")
    import json

    got = json.loads(res.output[res.output.index("{") :])
    assert got["totals"]["params"] == sum(p.numel() for p in net.parameters())
