"""The recorder of one meta-tensor run: each leaf-module call and each operation a forward calls
itself becomes a typed ``Call``; the tensors autograd saves are charged to the call that saves them.

The dispatch mode is thin, as torch's ``FlopCounterMode`` is: it hands every operation to the
recorder. Module hooks open and close leaf calls and name the container whose forward runs."""

from __future__ import annotations

from typing import Any

from . import require

require("torch", "analysing an nn.Module")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from .. import ops  # noqa: E402
from ..records import field, record, replace  # noqa: E402
from . import bindings  # noqa: E402
from .arguments import AtenArgs  # noqa: E402
from .meta_results import meta_of, meta_result, tags_of  # noqa: E402

# Operations that compute nothing: views, reshapes, transposes, bare allocations.


def storage_id(t: Any) -> int | None:
    return t.untyped_storage()._cdata if isinstance(t, torch.Tensor) else None


TensorKey = tuple[int, int, tuple[int, ...]]


def tensor_key(t: Any) -> TensorKey | None:
    """A tensor as the receptive-field graph knows it: its storage, offset and shape (a crop is a
    view of the same storage, and must not be taken for the map it was cut from)."""
    if not isinstance(t, torch.Tensor):
        return None
    return (t.untyped_storage()._cdata, int(t.storage_offset()), tuple(t.shape))


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor of a value: modules may return tuples (a pool with indices, an LSTM)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for t in (first_tensor(v) for v in value) if t is not None), None)
    return None


@record
class Call:
    """One recorded call: a leaf module's (``module``) or an operation outside modules (``op``)."""

    name: str  # the module path, or "F.max_pool2d in VGGNet.forward"
    module: nn.Module | None
    op: ops.Op | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] = ()
    saved: int = 0  # bytes autograd keeps for this call's backward
    reads: int | None = None  # the storage it reads (-1: several, a join)
    writes: int | None = None  # the storage it writes
    input_requires_grad: bool = False
    weights: list[torch.Tensor] = field(default_factory=list)  # parameters a functional call reads
    key: tuple[str, int] | None = None  # a functional call: (op family, its n-th call outside modules)
    operand_grad: bool | None = None  # a matrix product: its second operand needs a gradient
    runs_macs: bool = False  # a leaf module's call ran a kernel that multiply-accumulates
    sources: tuple[TensorKey, ...] = ()  # the activations it reads (two or more: a merge)
    result: TensorKey | None = None  # the activation it writes

    def operator(self) -> ops.Op:
        if self.op is not None:
            return self.op
        assert self.module is not None  # a call is of a module or of an operation
        op = bindings.op_from_module(self.module)
        if isinstance(op, ops.Unknown) and not self.runs_macs:  # AvgPool3d: no formulas, but surely no MACs
            return replace(op, mac_free=True)
        return op


class SavedTensors:
    """Each storage autograd saves, counted once and kept alive (so its id stays unique) until the
    run ends; parameters and buffers (``excluded``) are not activations."""

    def __init__(self, excluded: set[int]) -> None:
        self.excluded = excluded
        self.claimed: set[int] = set()
        self.held: list[Any] = []
        self.pending: list[int] = []  # bytes saved for an op whose call is not recorded yet (its inputs)

    def claim(self, t: torch.Tensor) -> int | None:
        """The bytes of a storage saved for the first time; None for one already counted or a weight."""
        storage = t.untyped_storage()
        sid = storage._cdata
        if sid in self.excluded or sid in self.claimed:
            return None
        self.claimed.add(sid)
        self.held.append(storage)
        return int(storage.nbytes())

    def take_pending(self) -> int:
        taken = sum(self.pending)
        self.pending.clear()
        return taken

    def release(self) -> None:
        self.held.clear()


class Recorder:
    """What a run did, call by call."""

    def __init__(self, excluded: set[int]) -> None:
        self.excluded = excluded
        self.calls: list[Call] = []
        self.saved = SavedTensors(excluded)
        self.active: list[int] = []  # leaf calls open now, innermost last
        self.containers: list[str] = []  # non-leaf modules whose forward runs, outermost first
        self.ran: set[int] = set()  # every module whose forward ran (a leaf, or one that calls functions)
        self.in_dropout = False  # inside a functional dropout (its mask is made, then applied)
        self.mask: int | None = None  # the storage of that dropout's mask
        self.family_calls: dict[str, int] = {}  # op family -> functional calls of it so far
        self.last_outputs: set[int | None] = set()  # what the last functional call may save after it runs

    # --- module hooks ---

    def enter_leaf(self, name: str, module: nn.Module, args: tuple[Any, ...]) -> None:
        self.ran.add(id(module))
        self.active.append(len(self.calls))
        first = first_tensor(args)
        shape = tuple(first.shape) if first is not None else ()
        key = tensor_key(first)
        self.calls.append(Call(name, module, None, shape, saved=self.saved.take_pending(), reads=storage_id(first),
                               input_requires_grad=bool(getattr(first, "requires_grad", False)),
                               sources=(key,) if key is not None else ()))  # fmt: skip

    def leave_leaf(self, out: Any) -> None:
        result = first_tensor(out)
        call = self.calls[self.active.pop()]
        call.output_shape = tuple(result.shape) if result is not None else ()
        call.writes = storage_id(result)
        call.result = tensor_key(result)

    def enter_container(self, module: nn.Module) -> None:
        self.ran.add(id(module))
        self.containers.append(type(module).__name__)

    def leave_container(self) -> None:
        self.containers.pop()

    # --- saved-tensor hook ---

    def pack(self, t: torch.Tensor) -> int:
        nbytes = self.saved.claim(t)
        if nbytes is None:
            return 0
        # Autograd saves an op's inputs before the op runs and its outputs after: outside a module,
        # an output of the last functional call (or the dropout being applied) is that call's;
        # anything else is an input of the op about to run, whose call takes it when it is made.
        if self.active:
            self.calls[self.active[-1]].saved += nbytes
        elif self.calls and self.calls[-1].op is not None and (self.in_dropout or storage_id(t) in self.last_outputs):
            self.calls[-1].saved += nbytes
        else:
            self.saved.pending.append(nbytes)
        return 0  # never the tensor itself: that would make an uncollectable reference cycle

    def finish(self) -> None:
        """Bytes saved for an op that made no call (a view, an unknown op's own pieces): the last call's."""
        if self.calls:
            self.calls[-1].saved += self.saved.take_pending()

    # --- operations ---

    def operation(self, func: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
        name = func.overloadpacket.__name__
        tags = tags_of(func)
        args = AtenArgs.of(func, args, kwargs)  # read by the schema's names from here on
        out = meta_result(name, args, kwargs, tags)
        if out is None:
            out = func(*args, **(kwargs or {}))
        if self.active:
            if name in bindings.MAC_KERNELS:
                self.calls[self.active[-1]].runs_macs = True
            return out
        if name == bindings.CROP and self._crops(args, out):
            self._record(
                name,
                args,
                out,
                False,
                frozenset(),
                self._crop(args),
            )
            return out
        flat = name in bindings.RESHAPES and self._flattens(args[0], out)
        if name in bindings.FREE_OPS and not flat:
            return out
        if self.in_dropout and name in (bindings.DROPOUT_SCALE, bindings.DROPOUT_APPLY):  # the rest of F.dropout
            if name == bindings.DROPOUT_APPLY:  # x * mask: the dropout call's output
                self.in_dropout = False
                last = self.calls[-1]
                x = next((a for a in args if isinstance(a, torch.Tensor) and storage_id(a) != self.mask), None)
                last.reads, last.writes = storage_id(x), storage_id(out)
                key = tensor_key(x)
                last.sources, last.result = ((key,) if key is not None else ()), tensor_key(out)
                last.input_shape = tuple(x.shape) if x is not None else last.input_shape  # dropout2d: mask (N, C, 1, 1)
                last.output_shape = tuple(out.shape)
            return out
        self._record(name, args, out, flat, tags)
        return out

    @staticmethod
    def _crop(args: AtenArgs) -> ops.Crop:
        """slice(self, dim, start, end, step): ``end`` may be None or past the axis (``x[:, :, 1:]``)."""
        dim, end = int(args["dim"]), args["end"]
        size = args["self"].shape[dim]
        return ops.Crop(dim % 4, int(args["start"] or 0), int(size if end is None else min(end, size)),
                        int(args["step"]))  # fmt: skip

    def _crops(self, args: tuple[Any, ...], out: Any) -> bool:
        """``x[:, :, a:b]``: a slice of a feature map's spatial axis (FCN's crops), a row of its own."""
        x = args[0]
        return (
            x.dim() == 4
            and len(args) > 1
            and int(args[1]) % 4 in (2, 3)
            and tuple(out.shape) != tuple(x.shape)
            and storage_id(x) not in self.excluded
        )

    def _record(
        self, name: str, args: AtenArgs, out: Any, flat: bool, tags: frozenset[str], op: ops.Op | None = None
    ) -> None:
        first = next(iter(_tensors(args)), None)
        result = out[0] if isinstance(out, (tuple, list)) else out
        where = f"{self.containers[-1]}.forward" if self.containers else "forward"
        label = "flatten" if flat else "crop" if name == bindings.CROP else bindings.functional_label(name)
        # torch.flatten(x, 1) or x.view(n, -1) before the classifier: a row, as nn.Flatten gets
        weights = [a for a in args if isinstance(a, torch.Tensor) and storage_id(a) in self.excluded]
        operand_grad = None
        if op is None:
            op = ops.Flatten(1) if flat else bindings.op_from_aten(name, args, tags)
        if name in bindings.PRODUCTS:  # each operand's gradient is computed if it needs one, whatever its order
            a, b = bindings.product_operands(name, args)
            first, operand_grad = a, bool(getattr(b, "requires_grad", False))
            if not weights:  # two activations (a Gram matrix): MACs, but no weight layer
                op, label = bindings.activation_product(name, args), name
        if name == bindings.DROPOUT_MASK:
            self.in_dropout = True
            self.mask = storage_id(args[0])
        activations = [a for a in _tensors(args) if storage_id(a) not in self.excluded]
        reads = {storage_id(a) for a in activations}
        family = bindings.op_family(name)
        self.family_calls[family] = self.family_calls.get(family, 0) + 1
        self.calls.append(Call(
            f"F.{label} in {where}", None, op,
            tuple(first.shape) if first is not None else (),
            tuple(result.shape) if isinstance(result, torch.Tensor) else (),
            saved=self.saved.take_pending(),
            reads=reads.pop() if len(reads) == 1 else -1,  # -1: reads two (a join)
            writes=storage_id(result),
            input_requires_grad=bool(getattr(first, "requires_grad", False)),
            weights=weights,
            operand_grad=operand_grad,
            key=(family, self.family_calls[family]),  # how a later real run finds this call again
            sources=tuple(k for k in dict.fromkeys(tensor_key(a) for a in activations) if k is not None),
            result=tensor_key(result),
        ))  # fmt: skip
        outputs = list(out) if isinstance(out, (tuple, list)) else [out]
        # what this op may save after it runs: its result (relu...), or its indices, statistics, mask
        self.last_outputs = {storage_id(o) for o in (outputs if bindings.saves_result(name) else outputs[1:])}

    def _flattens(self, x: Any, out: Any) -> bool:
        """A feature map (not a parameter) flattened per sample: (N, C, H, W) or (N, C, L) -> (N, features)."""
        return (
            isinstance(x, torch.Tensor)
            and isinstance(out, torch.Tensor)
            and x.dim() >= 3
            and out.dim() == 2
            and out.shape[0] == x.shape[0]
            and storage_id(x) not in self.excluded
        )


def _tensors(args: tuple[Any, ...]) -> list[torch.Tensor]:
    """The tensors among an op's arguments, inside lists too (``torch.cat``'s)."""
    out: list[torch.Tensor] = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(t for t in a if isinstance(t, torch.Tensor))
    return out


class EagerMode(TorchDispatchMode):
    """A dispatch mode that never runs under torch.compile."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Torch's documented opt-out: without it the mode is wrapped in dynamo.disable, which imports
        # torch._dynamo on the first op (0.7 s of a 1 s analysis).
        return False


class ShortcutMode(EagerMode):
    """Runs every operation, with the meta results made directly where they can be (a forward on
    meta that records nothing: a lazy module's materialisation)."""

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        out = meta_of(func, args, kwargs)
        return func(*args, **(kwargs or {})) if out is None else out


class RecordingMode(EagerMode):
    """Hands every operation to the recorder (which runs it, or makes its meta result)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        return self.recorder.operation(func, args, kwargs)
