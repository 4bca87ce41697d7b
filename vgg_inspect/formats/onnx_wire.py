"""An ONNX file's graph, read from the protobuf wire format by hand, without onnx or protobuf.

The file is memory-mapped and only the messages the analysis needs are decoded: the opset, the
nodes, the graph's inputs and outputs, each initializer's name, dims, type and where its data
lies. Weight bytes are skipped by their length (553 MB of VGG16 weights cost no reading and no
memory); only small integer tensors (a Reshape's target shape) are decoded. Field numbers are
onnx.proto3's. ``tests/test_frameworks.py`` holds this reader to the real onnx library on every
fixture.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from typing import Any

from .graph import FileError

# onnx.proto3 TensorProto.DataType -> bytes per element (the ones a VGG's weights can have)
ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
INT_TYPES = (6, 7)  # INT32, INT64
SMALL = 4096  # bytes: an integer tensor decoded for its values (shapes, axes), never a weight
MAX_DEPTH = 16  # nested graphs (If/Loop bodies) are not followed; attributes nest a little


@dataclass
class Tensor:
    name: str = ""
    dims: tuple[int, ...] = ()
    data_type: int = 1
    values: list[int] | None = None  # small integer tensors only
    external: dict[str, str] | None = None  # data_location EXTERNAL: location, offset, length
    stored: int = 0  # bytes of data inside the file

    @property
    def count(self) -> int:
        return math.prod(self.dims)


@dataclass
class Attribute:
    name: str = ""
    i: int | None = None
    f: float | None = None
    s: bytes | None = None
    ints: list[int] = field(default_factory=list)
    floats: list[float] = field(default_factory=list)
    t: Tensor | None = None


@dataclass
class OnnxNode:
    op_type: str = ""
    name: str = ""
    domain: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    attributes: dict[str, Attribute] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ValueInfo:
    name: str = ""
    dims: list[int | str | None] = field(default_factory=list)  # int, dim_param, or None (unknown)
    elem_type: int = 0
    has_shape: bool = False


@dataclass
class Model:
    ir_version: int = 0
    opset: int = 0
    producer: str = ""
    graph_name: str = ""
    nodes: list[OnnxNode] = field(default_factory=list)
    initializers: dict[str, Tensor] = field(default_factory=dict)
    inputs: list[ValueInfo] = field(default_factory=list)
    outputs: list[ValueInfo] = field(default_factory=list)
    value_info: dict[str, ValueInfo] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


class _Wire:
    """Fields of one protobuf message in ``buf[start:end]``."""

    def __init__(self, path: str, buf: Any) -> None:
        self.path, self.buf = path, buf

    def truncated(self, what: str = "a field") -> FileError:
        return FileError(self.path, f"is not a complete ONNX model ({what} runs past the end of its message)",
                         "the file is truncated or not ONNX")  # fmt: skip

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            if pos >= end or shift > 63:
                raise self.truncated("a number")
            byte = self.buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result, pos
            shift += 7

    def fields(self, start: int, end: int) -> Any:
        """(number, wire type, value): an int for varints and fixed widths, (start, end) for bytes."""
        pos = start
        while pos < end:
            key, pos = self.varint(pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise FileError(self.path, "is not an ONNX model (a field numbered 0)", "the file is not ONNX")
            value: Any
            if wire == 0:
                value, pos = self.varint(pos, end)
            elif wire == 1:
                if pos + 8 > end:
                    raise self.truncated()
                value, pos = struct.unpack_from("<q", self.buf, pos)[0], pos + 8
            elif wire == 5:
                if pos + 4 > end:
                    raise self.truncated()
                value, pos = struct.unpack_from("<i", self.buf, pos)[0], pos + 4
            elif wire == 2:
                size, pos = self.varint(pos, end)
                if pos + size > end:
                    raise self.truncated()
                value, pos = (pos, pos + size), pos + size
            else:
                raise FileError(self.path, f"is not an ONNX model (wire type {wire})", "the file is not ONNX")
            yield number, wire, value

    def text(self, span: tuple[int, int]) -> str:
        return bytes(self.buf[span[0] : span[1]]).decode("utf-8", "replace")

    def ints(self, wire: int, value: Any, out: list[int]) -> None:
        """A repeated int64 field, packed or not (negative values are two's complement)."""
        if wire == 0:
            out.append(value - (1 << 64) if value >= 1 << 63 else value)
            return
        pos, end = value
        while pos < end:
            v, pos = self.varint(pos, end)
            out.append(v - (1 << 64) if v >= 1 << 63 else v)

    def floats(self, wire: int, value: Any, out: list[float]) -> None:
        if wire == 5:
            out.append(struct.unpack("<f", struct.pack("<i", value))[0])
            return
        start, end = value
        out.extend(struct.unpack_from(f"<{(end - start) // 4}f", self.buf, start))

    # --- messages ---

    def tensor(self, span: tuple[int, int]) -> Tensor:
        t = Tensor()
        dims: list[int] = []
        int_data: list[int] = []
        raw: tuple[int, int] | None = None
        external: dict[str, str] = {}
        location = 0
        for number, wire, value in self.fields(*span):
            if number == 1:
                self.ints(wire, value, dims)
            elif number == 2 and wire == 0:
                t.data_type = value
            elif number == 8 and wire == 2:
                t.name = self.text(value)
            elif number == 9 and wire == 2:
                raw = value
            elif number in (5, 7) and wire in (0, 2):
                self.ints(wire, value, int_data)
            elif number in (4, 10, 11) and wire == 2:
                t.stored += value[1] - value[0]
            elif number == 13 and wire == 2:
                key, val = self.entry(value)
                external[key] = val
            elif number == 14 and wire == 0:
                location = value
        t.dims = tuple(dims)
        if raw is not None:
            t.stored += raw[1] - raw[0]
            if t.data_type in INT_TYPES and raw[1] - raw[0] <= SMALL:
                size = raw[1] - raw[0]
                fmt = f"<{size // 8}q" if t.data_type == 7 else f"<{size // 4}i"
                t.values = list(struct.unpack_from(fmt, self.buf, raw[0]))
        elif int_data and t.data_type in INT_TYPES:
            t.values = int_data
            t.stored += 8 * len(int_data)
        if location == 1 or external:
            t.external = external
        return t

    def entry(self, span: tuple[int, int]) -> tuple[str, str]:
        key = val = ""
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                key = self.text(value)
            elif number == 2 and wire == 2:
                val = self.text(value)
        return key, val

    def attribute(self, span: tuple[int, int]) -> Attribute:
        a = Attribute()
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                a.name = self.text(value)
            elif number == 2 and wire == 5:
                a.f = struct.unpack("<f", struct.pack("<i", value))[0]
            elif number == 3 and wire == 0:
                a.i = value - (1 << 64) if value >= 1 << 63 else value
            elif number == 4 and wire == 2:
                a.s = bytes(self.buf[value[0] : value[1]])
            elif number == 5 and wire == 2:
                a.t = self.tensor(value)
            elif number == 7:
                self.floats(wire, value, a.floats)
            elif number == 8:
                self.ints(wire, value, a.ints)
        return a

    def node(self, span: tuple[int, int]) -> OnnxNode:
        n = OnnxNode()
        for number, wire, value in self.fields(*span):
            if wire != 2:
                continue
            if number == 1:
                n.inputs.append(self.text(value))
            elif number == 2:
                n.outputs.append(self.text(value))
            elif number == 3:
                n.name = self.text(value)
            elif number == 4:
                n.op_type = self.text(value)
            elif number == 7:
                n.domain = self.text(value)
            elif number == 5:
                a = self.attribute(value)
                n.attributes[a.name] = a
            elif number == 9:
                key, val = self.entry(value)
                n.metadata[key] = val
        return n

    def value_info(self, span: tuple[int, int]) -> ValueInfo:
        v = ValueInfo()
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 2:
                v.name = self.text(value)
            elif number == 2 and wire == 2:
                for n2, w2, tensor_type in self.fields(*value):
                    if n2 == 1 and w2 == 2:  # TypeProto.tensor_type
                        self._tensor_type(tensor_type, v)
        return v

    def _tensor_type(self, span: tuple[int, int], v: ValueInfo) -> None:
        for number, wire, value in self.fields(*span):
            if number == 1 and wire == 0:
                v.elem_type = value
            elif number == 2 and wire == 2:  # TensorShapeProto
                v.has_shape = True
                for n2, w2, dim in self.fields(*value):
                    if n2 == 1 and w2 == 2:
                        found: int | str | None = None
                        for n3, w3, dv in self.fields(*dim):
                            if n3 == 1 and w3 == 0:
                                found = dv
                            elif n3 == 2 and w3 == 2:
                                found = self.text(dv)
                        v.dims.append(found)

    def graph(self, span: tuple[int, int], model: Model) -> None:
        for number, wire, value in self.fields(*span):
            if wire != 2:
                continue
            if number == 1:
                model.nodes.append(self.node(value))
            elif number == 2:
                model.graph_name = self.text(value)
            elif number == 5:
                t = self.tensor(value)
                model.initializers[t.name] = t
            elif number == 11:
                model.inputs.append(self.value_info(value))
            elif number == 12:
                model.outputs.append(self.value_info(value))
            elif number == 13:
                v = self.value_info(value)
                model.value_info[v.name] = v

    def model(self, size: int) -> Model:
        model = Model()
        graph = None
        for number, wire, value in self.fields(0, size):
            if number == 1 and wire == 0:
                model.ir_version = value
            elif number == 2 and wire == 2:
                model.producer = self.text(value)
            elif number == 7 and wire == 2:
                graph = value
            elif number == 8 and wire == 2:
                domain, version = "", 0
                for n2, w2, v2 in self.fields(*value):
                    if n2 == 1 and w2 == 2:
                        domain = self.text(v2)
                    elif n2 == 2 and w2 == 0:
                        version = v2
                if domain in ("", "ai.onnx"):
                    model.opset = version
            elif number == 14 and wire == 2:
                key, val = self.entry(value)
                model.metadata[key] = val
        if graph is None or not model.ir_version:
            raise FileError(self.path, "is not an ONNX model (no graph or IR version)", "give a .onnx export")
        self.graph(graph, model)
        return model


def read(path: str) -> Model:
    """The model in an ``.onnx`` file; its weights' bytes are mapped, never read."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            raise FileError(path, "is empty", "give a .onnx export")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            wire = _Wire(path, buf)
            try:
                return wire.model(size)
            except (struct.error, RecursionError, IndexError) as exc:
                raise FileError(path, f"is not a readable ONNX model ({type(exc).__name__})") from None
