"""The meta results made without torch's kernels (pointwise, reductions, norms, transposed
convolutions) against those kernels: the same shapes, dtypes and strides, or the shortcut steps
aside; and the zoo's analyses never import torch._dynamo or sympy."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from vgg_inspect.runtime.arguments import AtenArgs  # noqa: E402
from vgg_inspect.runtime.meta_results import meta_result  # noqa: E402

ZOO = pathlib.Path(__file__).parent / "zoo"


def _tags(func):
    return frozenset(t.name for t in func.tags)


def _same(mine, theirs):
    mine, theirs = (v if isinstance(v, tuple) else (v,) for v in (mine, theirs))
    return [(t.shape, t.dtype, t.stride()) for t in mine] == [(t.shape, t.dtype, t.stride()) for t in theirs]


def _simple_pointwise_overloads():
    """Every pointwise-tagged aten overload whose required arguments are tensors and scalars."""
    found = []
    for name in dir(torch.ops.aten):
        packet = getattr(torch.ops.aten, name, None)
        if not isinstance(packet, torch._ops.OpOverloadPacket):
            continue
        for overload in packet.overloads():
            func = getattr(packet, overload)
            if torch.Tag.pointwise not in func.tags:
                continue
            required = [a for a in func._schema.arguments if not a.has_default_value()]
            if all(not a.kwarg_only and str(a.type) in ("Tensor", "Scalar") for a in required) and required:
                found.append((name, func, [str(a.type) for a in required]))
    return found


POINTWISE = _simple_pointwise_overloads()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_every_pointwise_shortcut_is_what_torchs_kernel_gives(dtype):
    """Over every pointwise-tagged overload (the first operand (2, 3, 4), the others broadcasting
    (3, 1)): where the shortcut gives a result, the kernel runs and gives the same layout and
    dtype (bool for comparisons), and an in-place op returns its input. Most of them are covered."""
    covered, wrong = 0, []
    for name, func, types in POINTWISE:
        shapes = [(2, 3, 4)] + [(3, 1)] * len(types)
        args = tuple(torch.empty(shapes[i], device="meta", dtype=dtype) if t == "Tensor" else 0.5
                     for i, t in enumerate(types))  # fmt: skip
        mine = meta_result(name, AtenArgs.of(func, args), {}, _tags(func))
        if mine is None:
            continue
        covered += 1
        try:
            theirs = func(*args)
        except Exception as exc:  # the shortcut would have let through what torch refuses
            wrong.append(f"{func}: the kernel refuses ({str(exc)[:60]})")
            continue
        if not _same(mine, theirs) or (name.endswith("_") and mine is not args[0]):
            wrong.append(str(func))
    assert not wrong, wrong
    assert covered > 0.8 * len(POINTWISE) > 150


def test_shortcuts_leave_the_odd_cases_to_the_kernels():
    m = torch.empty(2, 3, device="meta")
    aten = torch.ops.aten
    cases = [
        (aten.add.Tensor, (m, torch.empty(4, 3, device="meta"))),  # no broadcast: the kernel's error
        (aten.add.Tensor, (m, torch.empty(2, 3, device="meta", dtype=torch.float64))),  # promotion
        (aten.add.Tensor, (torch.empty(2, 3, device="meta", dtype=torch.int64), 0.5)),  # int + float
        (aten.add_.Tensor, (m, torch.empty(4, 2, 3, device="meta"))),  # in place cannot grow x
        (aten.add.Tensor, (m.t(), torch.empty(3, 2, device="meta"))),  # a transposed operand
        (aten.where.self, (m.bool(), m, m)),
        (aten.clamp.default, (m,)),  # neither bound: torch's error
        (aten.sum.dim_IntList, (m, [0, 0])),
        (aten.sum.dim_IntList, (m, [2])),
        (aten.mean.dim, (m.t(), [1])),
        (aten.native_layer_norm.default, (m, [4], None, None, 1e-5)),
        (aten.native_group_norm.default, (torch.empty(2, 6, 4, device="meta"), None, None, 2, 6, 4, 4, 1e-5)),
        (aten.native_group_norm.default, (torch.empty(2, 6, 4, device="meta"), None, None, 2, 6, 5, 3, 1e-5)),
    ]
    for func, args in cases:
        assert meta_result(func.overloadpacket.__name__, AtenArgs.of(func, args), None, _tags(func)) is None, func


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    other=st.lists(st.booleans(), min_size=1, max_size=4),
    crop=st.booleans(),
    op=st.sampled_from(["add.Tensor", "mul.Tensor", "div.Tensor", "maximum.default", "gt.Tensor", "pow.Tensor_Tensor",
                        "add_.Tensor", "mul_.Tensor"]),
)  # fmt: skip
def test_broadcast_pointwise_shortcuts_equal_the_kernels(shape, other, crop, op):
    """Random broadcasts (an operand with some dims 1 and fewer dims), crops of a larger tensor: the
    shortcut's result is the kernel's, or it steps aside."""
    x = torch.empty([n + 2 for n in shape], device="meta")
    x = x[tuple(slice(1, n + 1) for n in shape)] if crop else torch.empty(shape, device="meta")
    y = torch.empty([n if keep else 1 for n, keep in zip(shape[-len(other) :], other)], device="meta")
    func = getattr(torch.ops.aten, op.split(".")[0]).__getattr__(op.split(".")[1])
    mine = meta_result(func.overloadpacket.__name__, AtenArgs.of(func, (x, y)), None, _tags(func))
    assert mine is not None
    assert _same(mine, func(x, y))
    if op.split(".")[0].endswith("_"):
        assert mine is x


@settings(max_examples=150, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    dims=st.one_of(st.none(), st.lists(st.integers(-4, 3), max_size=3)),
    keep=st.booleans(),
    op=st.sampled_from(["sum.dim_IntList", "mean.dim", "amax.default", "amin.default"]),
    dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16]),
)
def test_reduction_shortcuts_equal_the_kernels_or_step_aside(shape, dims, keep, op, dtype):
    x = torch.empty(shape, device="meta", dtype=dtype)
    func = getattr(torch.ops.aten, op.split(".")[0]).__getattr__(op.split(".")[1])
    args = (x, [] if dims is None and op.startswith("am") else dims, keep)
    mine = meta_result(func.overloadpacket.__name__, AtenArgs.of(func, args), None, _tags(func))
    try:
        theirs = func(*args)
    except (RuntimeError, IndexError):
        assert mine is None
        return
    if mine is not None:
        assert _same(mine, theirs)
    else:
        assert len(set(d % len(shape) for d in dims or [])) != len(dims or [])  # only a repeated dim steps aside


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.sampled_from([1, 2, 3]),
    per_group=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 4), max_size=2),
    affine=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.float16]),
)
def test_norm_shortcuts_equal_the_kernels(n, groups, per_group, spatial, affine, dtype):
    """GroupNorm's and LayerNorm's (output, mean, rstd) as their kernels give them; 16-bit inputs
    are left to the kernels (their statistics' dtype is the kernel's business)."""
    c = groups * per_group
    x = torch.empty(n, c, *spatial, device="meta", dtype=dtype)
    w = torch.empty(c, device="meta", dtype=dtype) if affine else None
    hw = 1
    for s in spatial:
        hw *= s
    gn = torch.ops.aten.native_group_norm.default
    normalized = list(x.shape[1:])
    lw = torch.empty(normalized, device="meta", dtype=dtype) if affine else None
    ln = torch.ops.aten.native_layer_norm.default
    for func, args in ((gn, (x, w, w, n, c, hw, groups, 1e-5)), (ln, (x, normalized, lw, lw, 1e-5))):
        mine = meta_result(func.overloadpacket.__name__, AtenArgs.of(func, args), None, _tags(func))
        if dtype == torch.float16:
            assert mine is None
        else:
            assert mine is not None and _same(mine, func(*args))


@settings(max_examples=150, deadline=None)
@given(
    size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    extra=st.integers(0, 2),
    groups=st.sampled_from([1, 2]),
    bias=st.booleans(),
)
def test_transposed_convolution_shortcut_equals_the_kernel_or_steps_aside(
    size, kernel, stride, padding, dilation, extra, groups, bias
):
    """FCN's upsampling: ``aten.convolution`` with ``transposed``, weight (C_in, C_out / groups, kh, kw)."""
    x = torch.empty(2, 4, *size, device="meta")
    w = torch.empty(4, 6 // groups, *kernel, device="meta")
    b = torch.empty(6, device="meta") if bias else None
    args = (x, w, b, [stride] * 2, [padding] * 2, [dilation] * 2, True, [extra] * 2, groups)
    mine = meta_result("convolution", AtenArgs.of(torch.ops.aten.convolution.default, args), None)
    try:
        theirs = torch.ops.aten.convolution(*args)
    except RuntimeError:
        assert mine is None
        return
    if mine is None:  # only what torch refuses on a real device, which its meta kernel lets through
        out = [(n - 1) * stride - 2 * padding + dilation * (k - 1) + extra + 1 for n, k in zip(size, kernel)]
        assert extra >= max(stride, dilation) or min(out) < 1
        return
    assert _same(mine, theirs)


@pytest.mark.parametrize(
    ("file", "name", "size"),
    [("fcn.py", "FCN8s", 224), ("ssd.py", "SSDBackbone", 300), ("activations.py", "ModernVGG", 32),
     ("activations.py", "FunctionalActs", 32), ("timm_style.py", "TimmVGG16", 224), ("d2l.py", "VGG", 224)],
)  # fmt: skip
def test_the_zoos_analyses_never_import_dynamo_or_sympy(file, name, size):
    """Each of these VGGs once paid 1 to 1.5 s for torch._dynamo and sympy, imported by a Python
    meta kernel (GELU, GroupNorm, L2Norm's pow and sum, a transposed conv, a crop's add, a lazy
    module's materialisation): the analysis itself takes a few hundredths of that."""
    argv = ["summary", f"{ZOO / file}:{name}", "--input", str(size), "--format", "json"]
    code = (
        f"import sys; from vgg_inspect.cli import cli; cli({argv!r}, standalone_mode=False); "
        "assert not {'torch._dynamo', 'sympy'} & set(sys.modules), 'torch._dynamo or sympy was imported'"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
