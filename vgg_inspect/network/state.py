"""What a model's ``state_dict()`` holds, as data (pure Python): every tensor's key, shape, dtype
and storage, and every module with its ``_version`` (the state dict's ``_metadata``). The storage
and checkpoint figures are computed from it, so that every tensor counts once, whatever holds it.

A built-in's state follows torchvision's layout (``builtin_state``); the runtime reads a module's
own (``runtime/state.py``) with the same records."""

from __future__ import annotations

from .. import ops
from ..records import record
from .layout import LayerDef

# The torch storage class each dtype is pickled as (torch.save writes its name).
STORAGE_CLASSES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "bfloat16": "BFloat16Storage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage",
}  # fmt: skip
ITEMSIZES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1,
             "uint8": 1, "bool": 1}  # fmt: skip
FLOATS = ("float32", "float64", "float16", "bfloat16")
MODULE_VERSIONS = {"BatchNorm2d": 2}  # nn.Module._version where a built-in's module changes it


@record(frozen=True)
class StateTensor:
    """One entry of the state dict."""

    key: str  # features.0.weight
    shape: tuple[int, ...]
    dtype: str  # float32, int64 (num_batches_tracked)...
    storage: int  # the storage it lives in: tensors tied to one parameter share it (written once)
    storage_numel: int  # elements of that storage
    quantisable: bool = False  # a conv or linear weight: fp8/int8/int4 keep it at that width, a scale per row
    stride: tuple[int, ...] | None = None  # None: contiguous
    offset: int = 0

    @property
    def strides(self) -> tuple[int, ...]:
        if self.stride is not None:
            return self.stride
        out, step = [], 1
        for size in reversed(self.shape):
            out.append(step)
            step *= size
        return tuple(reversed(out))


@record(frozen=True)
class ModelState:
    tensors: list[StateTensor]
    modules: list[tuple[str, int | None]]  # named_modules() order: path ("" the model) and _version
    not_counted: list[str]  # entries that are not tensors (a module's extra state), by key


def _op_tensors(op: ops.Op) -> list[tuple[str, tuple[int, ...], str, bool]]:
    """(name, shape, dtype, quantisable) of the tensors a built-in's module holds."""
    weight: tuple[int, ...]
    if isinstance(op, ops.Conv2d):
        weight = (op.out_channels, op.in_channels // op.groups, *op.kernel_size)
        return [("weight", weight, "float32", True), *([("bias", (op.out_channels,), "float32", False)] * op.bias)]
    if isinstance(op, ops.Linear):
        weight = (op.out_features, op.in_features)
        return [("weight", weight, "float32", True), *([("bias", (op.out_features,), "float32", False)] * op.bias)]
    if isinstance(op, ops.BatchNorm2d):
        c = (op.num_features,)
        affine = [("weight", c, "float32", False), ("bias", c, "float32", False)] if op.affine else []
        stats = [("running_mean", c, "float32", False), ("running_var", c, "float32", False),
                 ("num_batches_tracked", (), "int64", False)] if op.track_running_stats else []  # fmt: skip
        return affine + stats
    return []


def builtin_state(defs: list[LayerDef]) -> ModelState:
    """The state dict of the built-in module ``runtime/instantiate.VGG`` builds from ``defs``: its
    top-level children in order (``features`` and ``classifier`` as Sequentials), at float32."""
    tensors: list[StateTensor] = []
    modules: list[tuple[str, int | None]] = [("", 1)]
    for d in defs:
        top, dot, _ = d.module.partition(".")
        if dot and (top, 1) not in modules:
            modules.append((top, 1))
        modules.append((d.module, MODULE_VERSIONS.get(d.op.type_name, 1)))
        for name, shape, dtype, quantisable in _op_tensors(d.op):
            numel = 1
            for size in shape:
                numel *= size
            tensors.append(StateTensor(f"{d.module}.{name}", shape, dtype, len(tensors), numel, quantisable))
    return ModelState(tensors, modules, [])
