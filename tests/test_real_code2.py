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


# --- receptive fields through branches (items 5-7) --------------------------------------------------------


def positive(net):
    """The same geometry with positive weights, in float64: every structural dependence carries gradient."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.fill_(1.0 / m.weight[0].numel())
                m.bias.zero_()
    return net.double()


@pytest.mark.parametrize("name, rf, jump", [("RepBlock", 3, 2), ("DilatedBranch", 5, 1)])
def test_a_merge_of_one_jump_is_a_regular_field(name, rf, jump):
    from tests.oracles import assert_centre_field

    report = vgg_inspect.analyze(f"{FILE}:{name}", input_size=16)
    merged = next(r for r in report.layers if r.name.startswith("F.add"))
    assert (merged.field_status, merged.receptive_field, merged.jump) == ("local", rf, jump)
    assert_centre_field(merged, positive(model(name)), (1, 3, 16, 16))  # against autograd
    assert not any("different jumps" in w for w in report.warnings)


@pytest.mark.parametrize("size", [16, 32, 64])
def test_an_irregular_bound_is_the_theoretical_span_at_every_size(size):
    """The largest unit's span, padding included: the support of the same units when the image sits
    inside a larger one (real pixels where the padding was), P pixels each side, P a multiple of the
    network's period (32)."""
    row = vgg_inspect.analyze(f"{FILE}:IrregularThenStrided", input_size=size).layers[-1]
    assert row.field_status == "irregular"
    pad = 64
    x = torch.ones((1, 3, size + 2 * pad, 8), dtype=torch.float64, requires_grad=True)
    out = positive(model("IrregularThenStrided"))(x)
    offset, units = pad // 16, size // 16
    widths = []
    for u in range(offset, offset + units):
        (grad,) = torch.autograd.grad(out[0, :, u, 0].sum(), x, retain_graph=True)
        rows = torch.nonzero(grad[0].sum((0, 2)), as_tuple=True)[0]
        widths.append(int(rows.max() - rows.min() + 1))
    assert row.receptive_field == max(widths)  # 18 at 16 px before, where the span is 32


def test_constants_have_no_field_and_do_not_spread_unknown():
    report = vgg_inspect.analyze(f"{FILE}:Constants", input_size=16)
    made = [r for r in report.layers if r.type == "Constant"]
    assert {r.name.split()[0] for r in made} == {"F.ones_like", "F.full_like", "F.new_zeros", "F.zeros_like"}
    assert all(r.field_status == "constant" and r.flops == 0 and r.macs == 0 for r in made)
    last = report.layers[-1]
    assert (last.field_status, last.receptive_field) == ("local", 3)  # the conv's field, through every merge
    assert report.coverage.status["receptive_field"] == "complete" and report.coverage.status["macs"] == "complete"


def test_ops_without_macs_leave_macs_complete():
    report = vgg_inspect.analyze(f"{FILE}:NoMacOps", input_size=16)
    status = report.coverage.status
    assert status["macs"] == status["flops"] == status["train_flops"] == "complete"
    assert report.coverage.not_counted == {"AvgPool3d": 1, "aten.mse_loss": 1}  # still named: no formulas
    assert report.totals.macs == 3 * 3 * 3 * 8 * 16 * 16  # the conv's, as FlopCounterMode counts (below)
    net, x = model("NoMacOps"), torch.randn(1, 3, 16, 16)
    with FlopCounterMode(display=False) as counter:
        net(x)
    assert counter.get_total_flops() == 2 * report.totals.macs
    with_elementwise = vgg_inspect.analyze(f"{FILE}:NoMacOps", input_size=16, include="elementwise")
    assert with_elementwise.coverage.status["flops"] == "partial"  # their elementwise FLOPs are not known


def test_mac_kernels_are_flop_counters_registry():
    from torch.utils.flop_counter import flop_registry

    from vgg_inspect.runtime.bindings import MAC_KERNELS

    assert {k.__name__ for k in flop_registry if hasattr(k, "__name__") and "attention" not in str(k)} - {
        "flex_attention", "flex_attention_backward"} <= MAC_KERNELS  # fmt: skip
    assert {str(k).removeprefix("aten.") for k in flop_registry if str(k).startswith("aten.")} == MAC_KERNELS


# --- identify (items 11-14) ------------------------------------------------------------------------------


def _identify(path):
    import json

    res = CliRunner().invoke(cli, ["identify", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_bias_free_convs_before_batchnorm_are_no_exact_vgg16_bn(tmp_path):
    from tests.test_checkpoints import _torchvision_state

    state = _torchvision_state(vgg_inspect.network.VARIANTS["vgg16_bn"].layers, batch_norm=True)
    state = {k: v for k, v in state.items() if not (k.startswith("features.") and k.endswith(".bias") and
                                                    f"{k[:-5]}.running_mean" not in state)}  # fmt: skip
    torch.save(state, tmp_path / "zoo.pt")
    found = _identify(tmp_path / "zoo.pt")
    assert found["params"] == 138_361_768  # the model zoo's file, as the issue counted it
    assert found["variant"] is None and found["base_variant"] == "vgg16_bn" and found["standard_head"]
    lacking = 138_365_992 - 138_361_768  # vgg16_bn's count (REFERENCE §2) less the file's
    assert found["differences"] == [f"convs without bias (13 of 13): {lacking:,} parameters fewer than vgg16_bn"]


def test_a_tensor_under_two_keys_is_counted_once(tmp_path):
    from tests.test_checkpoints import _torchvision_state

    state = _torchvision_state(vgg_inspect.network.VARIANTS["vgg11"].layers)
    unique = sum(v.numel() for v in state.values())
    state["conv1.weight"], state["conv1.bias"] = state["features.0.weight"], state["features.0.bias"]
    torch.save(state, tmp_path / "aliased.pt")
    found = _identify(tmp_path / "aliased.pt")
    assert found["params"] == unique == 132_863_336  # vgg11 (REFERENCE §2), not 1,792 more
    assert found["variant"] == "vgg11" and any("conv1.weight is features.0.weight" in n for n in found["notes"])


def test_an_encoder_decoder_is_named_by_its_exact_prefix(tmp_path):
    from tests.test_checkpoints import _torchvision_state

    state = {
        k.replace("features.", "encoder."): v
        for k, v in _torchvision_state(vgg_inspect.network.VARIANTS["vgg16_bn"].layers, batch_norm=True).items()
        if k.startswith("features.")
    }
    widths = [512, 512, 512, 512, 512, 256, 256, 256, 128, 128, 64, 64, 2]
    c = 512
    for i, w in enumerate(widths):  # a SegNet-style decoder after the encoder's conv5_3
        state[f"decoder.{i}.weight"] = torch.zeros(1).expand(w, c, 3, 3)
        state[f"decoder.{i}.bias"] = torch.zeros(1).expand(w)
        c = w
    torch.save(state, tmp_path / "segnet.pt")
    found = _identify(tmp_path / "segnet.pt")
    assert found["base_variant"] == "vgg16_bn" and found["followed_by"] == 13
    assert found["differences"][0].startswith("13 convs after vgg16_bn's conv5_3 (a decoder?): 3x3 with 512")
    assert not any("instead of" in d for d in found["differences"])  # no misleading per-position diff


def test_a_cut_extractor_carries_its_variant_and_cut_as_data(tmp_path):
    from tests.test_checkpoints import _torchvision_state

    state = _torchvision_state(vgg_inspect.network.VARIANTS["vgg19"].layers)
    cut = {k: v for k, v in state.items() if k.startswith("features.") and int(k.split(".")[1]) <= 28}
    torch.save(cut, tmp_path / "cut.pt")
    found = _identify(tmp_path / "cut.pt")
    assert (found["base_variant"], found["cut_after"], found["standard_head"]) == ("vgg19", "conv5_1", False)
    assert found["how"] == "vgg19 cut after conv5_1 (torchvision key layout)"


def test_constants_save_nothing_for_backward():
    """Constant's rules (nothing saved, no workspace) against a real CPU run: autograd packs no tensor
    for zeros_like, ones_like, full_like or new_zeros."""
    y = torch.randn(1, 8, 4, 4, requires_grad=True) * 2
    packed = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        made = [torch.zeros_like(y), torch.ones_like(y), torch.full_like(y, 0.5), y.new_zeros(y.shape)]
    assert packed == [] and not any(t.requires_grad for t in made)
    from vgg_inspect import ops

    c = ops.Constant("ones_like")
    shape = (1, 8, 4, 4)
    assert c.rules_measured and c.saved(shape, shape, 4, ops.Convention.CPU) == () and c.workspace(shape, shape, 4) == 0
