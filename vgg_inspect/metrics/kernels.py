"""Why VGG stacks 3x3 convolutions: n stacked 3x3 layers against one k x k layer, k = 2n + 1.

Pure arithmetic. For a stride-1, size-preserving stack whose first layer maps C_in to C_out and
whose others keep C_out:

    weights(stack)  = 9·C_in·C_out + (n-1)·9·C_out²      (= 9n·C² when C_in = C_out = C)
    weights(single) = k²·C_in·C_out
    MACs per output position = weights (each weight is used once per position)
    bias adds C_out per layer; field = 1 + Σ (k_i - 1) = 2n + 1; non-linearities n vs 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import ops, validate
from ..errors import VggInspectError
from ..ops.traced import LayerTrace
from ..records import record

MAX_KERNEL = 1001  # a 500-layer stack is already far past any real network


@record(frozen=True)
class StackRow:
    layers: int  # n stacked 3x3 convs
    field: int  # 2n + 1
    stack_weight_multiple: str  # "9n" of C_in·C_out, exact when C_in = C_out
    single_weight_multiple: str  # "k²"
    stack_params: int
    single_params: int
    stack_macs_per_position: int
    single_macs_per_position: int
    saving_percent: float  # of parameters
    stack_nonlinearities: int
    single_nonlinearities: int


def _conv_params(k: int, cin: int, cout: int, bias: bool) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def stack_table(in_channels: int, out_channels: int, kernel: int = 7, bias: bool = False) -> list[StackRow]:
    """Rows n = 1 .. (kernel-1)/2 comparing n stacked 3x3 layers with one (2n+1)x(2n+1) layer."""
    in_channels = validate.count(in_channels, "in_channels")
    out_channels = validate.count(out_channels, "out_channels")
    kernel = validate.count(kernel, "kernel")
    if kernel < 3 or kernel % 2 == 0 or kernel > MAX_KERNEL:
        raise VggInspectError(
            f"{{param}} must be odd, between 3 and {MAX_KERNEL} (a field of 2n+1), got {kernel}", param="kernel"
        )
    rows = []
    for n in range(1, (kernel - 1) // 2 + 1):
        k = 2 * n + 1
        stack = _conv_params(3, in_channels, out_channels, bias) + (n - 1) * _conv_params(
            3, out_channels, out_channels, bias
        )
        single = _conv_params(k, in_channels, out_channels, bias)
        stack_macs = 9 * in_channels * out_channels + (n - 1) * 9 * out_channels * out_channels
        rows.append(
            StackRow(
                layers=n,
                field=k,
                stack_weight_multiple=f"{9 * n}",
                single_weight_multiple=f"{k * k}",
                stack_params=stack,
                single_params=single,
                stack_macs_per_position=stack_macs,
                single_macs_per_position=k * k * in_channels * out_channels,
                saving_percent=round(100 * (1 - stack / single), 2),
                stack_nonlinearities=n,
                single_nonlinearities=1,
            )
        )
    return rows


@record(frozen=True)
class BlockRow:
    block: int
    convs: str  # "3x3, 3x3, 1x1"
    in_channels: int
    out_channels: int
    field: int  # growth of the field inside the block (stride 1)
    output_shape: list[int]
    stack_params: int
    single_params: int
    stack_macs: int
    single_macs: int
    saving_percent: float  # of MACs (equal to that of weights when shapes match)
    stack_nonlinearities: int


def block_table(traces: Sequence[LayerTrace]) -> list[BlockRow]:
    """Each block (the convs between max-pools) against one conv of the same field.

    Kernel sizes and biases are read from the conv ops. The single conv maps the block's input
    channels to its output channels at the same output size, with a bias if the block's convs
    have one. Each block's stack must be stride 1 and undilated (VGG's are)."""
    blocks: list[list[LayerTrace]] = [[]]
    for t in traces:
        if isinstance(t.op, ops.Conv2d):
            if t.op.stride != (1, 1) or t.op.dilation != (1, 1) or t.op.kernel_size[0] != t.op.kernel_size[1]:
                raise VggInspectError(f"{t.module}: the block comparison needs square, stride-1, undilated convs")
            blocks[-1].append(t)
        elif isinstance(t.op, ops.MaxPool2d) and blocks[-1]:
            blocks.append([])
    out = []
    for i, block in enumerate((b for b in blocks if b), start=1):
        convs = [t.op for t in block if isinstance(t.op, ops.Conv2d)]
        kernels = [c.kernel_size[0] for c in convs]
        field = 1 + sum(k - 1 for k in kernels)
        cin, cout = convs[0].in_channels, convs[-1].out_channels
        shape = block[-1].output_shape
        positions = shape[0] * shape[2] * shape[3]
        single_macs = positions * field * field * cin * cout
        stack_macs = sum(c.macs(t.input_shape, t.output_shape) for c, t in zip(convs, block))
        out.append(
            BlockRow(
                block=i,
                convs=", ".join(f"{k}x{k}" for k in kernels),
                in_channels=cin,
                out_channels=cout,
                field=field,
                output_shape=list(shape),
                stack_params=sum(c.params() for c in convs),
                single_params=_conv_params(field, cin, cout, convs[0].bias),
                stack_macs=stack_macs,
                single_macs=single_macs,
                saving_percent=round(100 * (1 - stack_macs / single_macs), 2),
                stack_nonlinearities=len(convs),
            )
        )
    return out
