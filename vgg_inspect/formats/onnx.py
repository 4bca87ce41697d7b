"""An ONNX export as the tool's graph: one row per operator node, the framework's own names kept,
the weights counted from the initializers' dims (their bytes never read), opset 7 to today's.

Where exporters differ, the file says what happened: BatchNorm folded into the convs (the legacy
exporter's ``onnx::Conv_*`` initializers, the new one's node metadata), zero biases shared or
dropped, weights in an external file (its location checked to stay in the model's folder, and
never read), or absent (every figure comes from shapes). The rows of each operator are in
``onnx_ops.py``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from .graph import MODEL_INPUT, Description, FileError, Node, Shape, check_dim
from .onnx_ops import ALIASES, VALUE_OPS, Rows, rows, value_build
from .onnx_wire import Model, OnnxNode, Tensor, read

# The inputs of these ops that are weights: fed by initializers, or by graph inputs when the
# file was saved without its weights.
WEIGHT_INPUTS = {"Conv": (1, 2), "Gemm": (1, 2), "BatchNormalization": (1, 2, 3, 4), "MatMul": (1,), "PRelu": (1,)}


def read_onnx(path: str) -> Description:
    return OnnxReader(path, read(path)).describe()


class OnnxReader:
    def __init__(self, path: str, model: Model) -> None:
        self.path, self.model = path, model
        self.inits = model.initializers
        self.values: dict[str, list[int]] = {n: t.values for n, t in self.inits.items() if t.values is not None}
        self.notes: list[str] = []
        self.counted: set[str] = set()  # initializers counted once, by their first user
        self.shared: set[str] = set()
        self.statistics_of: dict[str, int] = {}  # a BatchNormalization row -> its running mean and variance
        self.bias_of: dict[int, list[str]] = {}
        # Identity nodes that rename an initializer (the legacy exporter's shared zero biases)
        self.alias_of: dict[str, str] = {}
        for n in model.nodes:
            if n.op_type == "Identity" and n.inputs and n.outputs and self.resolve(n.inputs[0]) in self.inits:
                self.alias_of[n.outputs[0]] = self.resolve(n.inputs[0])
        declared = {v.name for v in model.inputs}
        self.weight_inputs = {
            n.inputs[i] for n in model.nodes for i in WEIGHT_INPUTS.get(n.op_type, ())
            if i < len(n.inputs) and n.inputs[i] in declared and n.inputs[i] not in self.inits
        }  # fmt: skip

    def fail(self, problem: str, hint: str = "") -> FileError:
        return FileError(self.path, problem, hint)

    def resolve(self, name: str) -> str:
        return self.alias_of.get(name, name) if hasattr(self, "alias_of") else name

    def is_weight(self, name: str) -> bool:
        name = self.resolve(name)
        return name in self.inits or name in self.weight_inputs

    def dims(self, name: str) -> tuple[int, ...] | None:
        """A weight's dims: its initializer's, or those of the graph input that declares it."""
        name = self.resolve(name)
        if name in self.inits:
            return self.inits[name].dims
        for v in self.model.inputs:
            if v.name == name and v.dims and all(isinstance(d, int) for d in v.dims):
                return tuple(int(d) for d in v.dims if isinstance(d, int))
        return None

    def held(self, names: Sequence[str]) -> int:
        """Elements of the weights a node reads that no earlier node counted (a shared initializer
        is counted by its first user, and said)."""
        total = 0
        for name in names:
            if not name or not self.is_weight(name):
                continue
            name = self.resolve(name)
            if name in self.counted:
                self.shared.add(name)
                continue
            self.counted.add(name)
            dims = self.dims(name)
            total += math.prod(dims) if dims else 0
        return total

    def model_input(self) -> tuple[str, Shape, bool]:
        """The one graph input that is not a weight (old IR files list initializers among inputs)."""
        data = [v for v in self.model.inputs if not self.is_weight(v.name)]
        if len(data) != 1:
            names = ", ".join(v.name for v in data) or "none"
            raise self.fail(f"has {len(data)} data inputs ({names}); vgg-inspect reads a model with one image input")
        v = data[0]
        if len(v.dims) != 4:
            raise self.fail(f"input {v.name} has shape {v.dims}, not an image batch (N, C, H, W)")
        n, c, h, w = v.dims
        if not isinstance(c, int) or c <= 0:
            raise self.fail(f"input {v.name} leaves its channel count free ({c})")
        check_dim(self.path, c, "the input's channels")
        size = [check_dim(self.path, d, "a declared input dimension") if isinstance(d, int) and d > 0 else 0
                for d in (h, w)]  # fmt: skip
        fixed_batch = isinstance(n, int) and n > 0
        batch = check_dim(self.path, n, "the batch") if isinstance(n, int) and n > 0 else 1
        return v.name, (batch, c, size[0], size[1]), not fixed_batch

    def value_tensors(self) -> set[str]:
        """Tensors of integers computed from shapes: Shape and Constant outputs, and what Gather,
        Unsqueeze, Concat, Cast... make of them alone."""
        known = set(self.values)
        for n in self.model.nodes:
            reads = [i for i in n.inputs if i]
            if n.op_type in ("Shape", "Constant") or (
                n.op_type in VALUE_OPS and reads and all(i in known for i in reads)
            ):
                known.update(n.outputs)
        return known

    def describe(self) -> Description:
        m = self.model
        name, shape, free = self.model_input()
        rename = {name: MODEL_INPUT}
        values = self.value_tensors()
        biases = self.matmul_biases()
        nodes: list[Node] = []
        for k, n in enumerate(m.nodes):
            label = n.name or f"{n.op_type}_{k}"
            out = n.outputs[0] if n.outputs else f"{label}:out"
            if out in self.alias_of:  # another name for a weight: its users count it
                continue
            ins = [rename.get(i, i) for i in n.inputs if i]
            if out in values:  # integers from shapes, no data (an initializer's are known already)
                made_by_nodes = tuple(i for i in ins if i not in self.inits)
                nodes.append(Node(label, n.op_type, value_build(self, n), made_by_nodes, out, value=True))
                continue
            data = [i for i in ins if not self.is_weight(i) and i not in values]
            if k in biases.values():  # MatMul + Add: the Add is the bias of the Linear row before it
                rename[out] = data[0]
                continue
            if n.op_type in ALIASES or (n.op_type == "Dropout" and self._eval_dropout(n)):
                rename[out] = data[0] if data else MODEL_INPUT
                if n.op_type == "Transpose":
                    self.notes.append("Transpose nodes are layout changes: no rows, shapes stay in (N, C, H, W)")
                continue
            made: Rows = rows(self, n, label, k in biases)
            reads = [i for i in ins if i in values and i not in self.inits]  # a Reshape's target, made by a node
            current = tuple(data) if n.op_type in ("Add", "Sum", "Concat", "Mul") else tuple(data[:1])
            for j, (row, type_label, build, params) in enumerate(made):
                target = out if j == len(made) - 1 else f"{row}:out"
                nodes.append(
                    Node(row, type_label, build, (*(current or (MODEL_INPUT,)), *reads), target, params=params)
                )
                current, reads = (target,), []
        title = m.graph_name or os.path.splitext(os.path.basename(self.path))[0]
        desc = Description(f"ONNX opset {m.opset or '?'}", title, nodes, shape, "NCHW", free,
                           outputs=tuple(o.name for o in m.outputs))  # fmt: skip
        desc.buffers = self.statistics_of
        desc.notes.extend(self.provenance())
        desc.notes.extend(dict.fromkeys(self.notes))
        return desc

    def _eval_dropout(self, n: OnnxNode) -> bool:
        """A Dropout with no mask read and no training flag set: the identity (an eval export)."""
        mode = n.inputs[2] if len(n.inputs) > 2 else ""
        return not mode or self.values.get(mode, [0]) == [0]

    def matmul_biases(self) -> dict[int, int]:
        """MatMul node index -> the Add that adds a 1-D initializer to its result alone."""
        nodes = self.model.nodes
        readers: dict[str, list[int]] = {}
        for k, n in enumerate(nodes):
            for i in n.inputs:
                readers.setdefault(i, []).append(k)
        found = {}
        for k, n in enumerate(nodes):
            if n.op_type != "MatMul" or not n.outputs or len(n.inputs) < 2 or not self.is_weight(n.inputs[1]):
                continue
            users = readers.get(n.outputs[0], [])
            if len(users) == 1 and nodes[users[0]].op_type == "Add":
                other = [i for i in nodes[users[0]].inputs if i != n.outputs[0]]
                dims = self.dims(other[0]) if len(other) == 1 else None
                if dims is not None and len(dims) == 1:
                    found[k] = users[0]
        self.bias_of = {k: nodes[v].inputs for k, v in found.items()}
        return found

    def provenance(self) -> list[str]:
        notes = []
        m = self.model
        conv_weights = [n.inputs[1] for n in m.nodes if n.op_type == "Conv" and len(n.inputs) > 1]
        has_bn = any(n.op_type == "BatchNormalization" for n in m.nodes)
        scopes = " ".join(v for n in m.nodes if n.op_type == "Conv" for v in n.metadata.values())
        if not has_bn and (any(c.startswith("onnx::Conv_") for c in conv_weights) or "BatchNorm" in scopes):
            notes.append("BatchNorm folded into the convs at export (eval mode): its scale and shift are in their "
                         "weights and biases, so the file has no BatchNorm rows")  # fmt: skip
        if self.shared:
            notes.append(f"{len(self.shared)} initializer(s) shared by several nodes, counted once: "
                         f"{', '.join(sorted(self.shared)[:4])}")  # fmt: skip
        no_bias = [n for n in m.nodes if n.op_type in ("Conv", "Gemm") and len([i for i in n.inputs if i]) < 3]
        if no_bias:
            kinds = " and ".join(f"{sum(n.op_type == k for n in no_bias)} {k}" for k in ("Conv", "Gemm")
                                 if any(n.op_type == k for n in no_bias))  # fmt: skip
            notes.append(f"{kinds} node(s) have no bias in the file (the new exporter drops all-zero biases): "
                         "counted as the file holds them, MACs unchanged")  # fmt: skip
        external = [t for t in self.inits.values() if t.external is not None]
        if external:
            notes.append(self.check_external(external))
        elif self.weight_inputs:
            notes.append("weights absent from the file: counted from the shapes its graph declares")
        return notes

    def check_external(self, tensors: list[Tensor]) -> str:
        """Each external location stays inside the model's folder (no absolute path, no '..', no
        symlink out); nothing is read from it."""
        folder = os.path.realpath(os.path.dirname(os.path.abspath(self.path)))
        places = set()
        for t in tensors:
            location = (t.external or {}).get("location", "")
            parts = location.replace("\\", "/").split("/")
            if not location or os.path.isabs(location) or location.startswith(("/", "\\")) or ".." in parts:
                raise self.fail(f"initializer {t.name} points outside the model's folder ({location!r})",
                                "external data must lie beside the model; nothing was read")  # fmt: skip
            real = os.path.realpath(os.path.join(folder, location))
            if os.path.commonpath([real, folder]) != folder:
                raise self.fail(f"initializer {t.name}'s data {location!r} leads outside the model's folder "
                                "(a symlink)", "external data must lie beside the model; nothing was read")  # fmt: skip
            places.add(location)
        shown = ", ".join(sorted(places)[:3])
        present = all(os.path.isfile(os.path.join(folder, p)) for p in places)
        return f"weights in an external file ({shown}{'' if present else ', not present here'}): not read"
