"""A model read from another framework's file: its layers as a graph of nodes, each made into an
op record once the shapes reaching it are known (a Keras config never states a conv's input
channels; an ONNX Reshape's result depends on its input), and the traces the report is built from.

Every reader (``keras.py``, ``onnx.py``) produces a ``Description``; ``description_traces`` walks
its nodes in dependency order and gives the same ``LayerTrace`` rows the torch tracer gives, with
the graph's links (``sources``/``result``) so branches and joins are reported as the model has them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import ops
from ..errors import VggInspectError
from ..ops.traced import LayerTrace

MODEL_INPUT = "input"  # the tensor name the traces give the model's input
# Larger than any image a VGG is run on: a declared dimension past it is a corrupt or hostile file.
MAX_DIM = 1 << 20

Shape = tuple[int, ...]
# Made from the shapes of the node's inputs: its record, and its output shape where the record's
# own formula does not give it (a join, a reshape); None: the formula's.
Build = Callable[[Sequence[Shape]], "tuple[ops.Op, Shape | None]"]


class FileError(VggInspectError):
    """A file that is not the model it claims to be (truncated, of something else, inconsistent)."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        super().__init__(f"{path}: {problem}" + (f"; {hint}" if hint else ""), param="model")


@dataclass
class Node:
    """One layer of the file: the framework's name and type, the tensors it reads and writes."""

    name: str
    type_label: str  # the framework's own type (Conv2D, Conv): shown where it differs from the record's
    build: Build
    inputs: tuple[str, ...]
    output: str
    params: int | None = None  # what the file holds for it (ONNX initializers); None: the record's count
    trainable: int | None = None  # of which trainable; None: all of params (0: a frozen layer)
    alias: bool = False  # no row: its output is its input (Identity, Transpose, Dropout removed at export)
    value: bool = False  # no row: integers computed from shapes (ONNX Shape -> Gather -> Concat), its build
    # stores them for the node that reads them (a Reshape's target)


@dataclass
class Description:
    """A model from another framework, as the tool reports it."""

    framework: str  # "Keras 3", "Keras 2 (tf.keras)", "ONNX opset 17"
    name: str
    nodes: list[Node]
    input_shape: Shape  # (N, C, H, W) in the tool's layout; N: 1 where the file leaves it free
    layout: str = "NCHW"  # the framework's own layout, named in a note
    batch_free: bool = True  # the file leaves the batch free (None, dim_param): --batch sets it
    outputs: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    # Statistics a row holds where the framework counts them its own way (a Keras BatchNormalization's
    # moving mean and variance, without torch's num_batches_tracked), by row: filled as rows are made.
    buffers: dict[str, int] = field(default_factory=dict)


def check_dim(path: str, value: int, what: str) -> int:
    if not 0 < value <= MAX_DIM:
        raise FileError(path, f"{what} is {value}", f"a dimension must be between 1 and {MAX_DIM:,}")
    return value


def ordered(path: str, nodes: list[Node]) -> list[Node]:
    """The nodes in an order where each reads only tensors made before it (the file's own order
    where it already is one); a node that waits on itself is a cycle, one reading nothing made is
    a dangling reference."""
    made = {MODEL_INPUT}
    producers = {n.output for n in nodes}
    waiting = list(nodes)
    out: list[Node] = []
    while waiting:
        ready = [n for n in waiting if all(i in made for i in n.inputs)]
        if not ready:
            stuck = waiting[0]
            missing = [i for i in stuck.inputs if i not in made]
            if all(m in producers for m in missing):
                raise FileError(path, f"the graph has a cycle through {stuck.name} ({', '.join(missing)})")
            raise FileError(path, f"{stuck.name} reads {', '.join(m for m in missing if m not in producers)}, "
                                  "which nothing in the graph makes")  # fmt: skip
        for n in ready:
            waiting.remove(n)
            out.append(n)
            made.add(n.output)
    return out


def description_traces(path: str, desc: Description, input_shape: Shape, itemsize: int) -> list[LayerTrace]:
    """Each node's row: its record made from the shapes that reach it, its output shape, and what
    it holds; the graph's links kept (a join reads two rows)."""
    shapes: dict[str, Shape] = {MODEL_INPUT: input_shape}
    alias: dict[str, str] = {}
    values: set[str] = set()  # tensors of integers (a shape), read by a node but no data of its row
    traces: list[LayerTrace] = []
    previous = MODEL_INPUT
    for node in ordered(path, desc.nodes):
        sources = tuple(dict.fromkeys(alias.get(i, i) for i in node.inputs if i not in values))
        in_shapes = [shapes[alias.get(i, i)] for i in node.inputs]
        try:
            op, given = node.build(in_shapes)
            out = given if given is not None else op.output_shape(in_shapes[0] if in_shapes else input_shape)
        except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError, AttributeError) as exc:
            shown = ", ".join("x".join(map(str, s)) for s in in_shapes)
            raise VggInspectError(f"{desc.name} cannot run on input {input_shape}: {node.name} ({node.type_label}) "
                                  f"on {shown}: {exc}", param="input_size") from None  # fmt: skip
        if not node.value and any(v <= 0 for v in out):
            size = f"{input_shape[2]}x{input_shape[3]}"
            raise VggInspectError(f"input {size} is too small for {desc.name}: {node.name} would output "
                                  f"{'x'.join(map(str, out))}", param="input_size")  # fmt: skip
        if node.alias or node.value:
            if node.value:
                values.add(node.output)
            if node.alias:
                alias[node.output] = sources[0] if sources else MODEL_INPUT
            shapes[node.output] = out
            continue
        shapes[node.output] = out
        params = op.params() if node.params is None else node.params
        trainable = params if node.trainable is None else node.trainable
        buffers = desc.buffers.get(node.name, op.buffers())
        shown = node.type_label if isinstance(op, ops.Unknown) else op.type_name  # an unknown: the file's type
        traces.append(LayerTrace(
            module=node.name, type=shown, op=op, input_shape=in_shapes[0] if in_shapes else input_shape,
            output_shape=out, params=params, trainable_params=trainable, buffers=buffers,
            param_bytes=params * itemsize, buffer_bytes=buffers * itemsize,
            chained=sources == (previous,), sources=sources, result=node.output,
        ))  # fmt: skip
        previous = node.output
    return traces


# --- helpers the readers share ---


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's and ONNX SAME_UPPER's padding along one axis: the output is ceil(size / stride),
    and the total padding floor(total / 2) before, the rest after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def flat(shape: Shape, start: int = 1) -> Shape:
    return (*shape[:start], math.prod(shape[start:]))


def broadcast(shapes: Sequence[Shape]) -> Shape:
    rank = max(map(len, shapes))
    out = []
    for sizes in zip(*((1,) * (rank - len(s)) + tuple(s) for s in shapes)):
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            raise ValueError(f"shapes {' and '.join('x'.join(map(str, s)) for s in shapes)} do not broadcast")
        out.append(big.pop() if big else 1)
    return tuple(out)


def concatenated(shapes: Sequence[Shape], axis: int) -> Shape:
    first = shapes[0]
    axis %= len(first)
    if any(len(s) != len(first) or s[:axis] != first[:axis] or s[axis + 1 :] != first[axis + 1 :] for s in shapes):
        raise ValueError(f"shapes {' and '.join('x'.join(map(str, s)) for s in shapes)} do not concatenate")
    return (*first[:axis], sum(s[axis] for s in shapes), *first[axis + 1 :])


def join(kind: str, axis: int = 1) -> Build:
    """An elementwise join (Add, Sum) or a concatenation: a copy of what it reads, shaped by all of it."""

    def build(shapes: Sequence[Shape]) -> tuple[ops.Op, Shape | None]:
        if kind == "cat":
            return ops.Pointwise("cat", copy=True), concatenated(shapes, axis)
        return ops.Pointwise(kind), broadcast(shapes)

    return build


def fixed(op: ops.Op) -> Build:
    """A record that does not depend on the shapes reaching it."""
    return lambda shapes: (op, None)
