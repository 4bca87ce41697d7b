"""The size of the file ``torch.save(model.state_dict(), path)`` writes, to the byte, without torch.

torch.save writes a zip archive (torch's own writer, stored uncompressed) whose folder is the file's
stem (``model`` for ``model.pt``; ``archive`` for a stream): ``data.pkl``, a protocol-2 pickle of
the state dict in which every storage is a persistent id; four small records; one ``data/N`` record
per storage (in the order the pickle first meets them, each tensor's storage written once); then the
zip's central directory and its zip64 end records, which torch always writes.

The pickle is reproduced with Python's own pure pickler over stand-ins that pickle exactly as torch's
objects do (``torch._utils._rebuild_tensor_v2`` and the storage classes are written by name, never
imported), so that its memo, its integer and string opcodes are the real ones. Every record's data
starts on a 64-byte boundary: its local header carries an extra field of 4 bytes plus the padding.
Tested against files torch writes (tests/test_speed.py, tests/test_hardening3.py). Beyond 4 GiB the zip needs zip64
fields per record; they follow torch's writer (inline_container.cc) but are not tested here.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from ..network.state import ITEMSIZES, STORAGE_CLASSES, ModelState

ALIGNMENT = 64
LOCAL_HEADER, CENTRAL_HEADER, PADDING_FIELD, DESCRIPTOR = 30, 46, 4, 16
END_RECORDS = 22 + 56 + 20  # end of central directory, zip64 end record and its locator
ZIP32_LIMIT = 0xFFFFFFFF
# The records around the storages, with their sizes (torch 2.x): the format version, the data's
# alignment, the byte order, the archive version and a 40-digit serialization id.
BEFORE = ((".format_version", 1), (".storage_alignment", 2), ("byteorder", 6))
AFTER = (("version", 2), (".data/serialization_id", 40))


class _Global:
    """A global pickled by name (GLOBAL 'module name'), as torch's classes and functions are."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # the pickler asks that a reduce function be callable
        raise TypeError("a stand-in")


class _Reduced:
    """An object that pickles as ``func(*args)``, with a state and dict items (OrderedDict, a tensor)."""

    def __init__(self, func: _Global, args: tuple[Any, ...], state: Any = None, items: Any = None) -> None:
        self.func, self.args, self.state, self.items = func, args, state, items

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.func, self.args, self.state, None, iter(self.items) if self.items is not None else None


class _Storage:
    def __init__(self, key: str, cls: _Global, numel: int) -> None:
        self.key, self.cls, self.numel = key, cls, numel


_PurePickler: Any = pickle._Pickler  # its opcodes are the C pickler's


class _Pickler(_PurePickler):  # type: ignore[misc]
    dispatch = _PurePickler.dispatch.copy()

    def _save_global_by_name(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = _save_global_by_name

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):  # torch.serialization's persistent_id for a storage
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def pickle_bytes(state: ModelState) -> int:
    """The size of ``data.pkl``: the state dict (an OrderedDict with ``_metadata``) as torch pickles it."""
    names: dict[tuple[str, str], _Global] = {}

    def named(module: str, name: str) -> _Global:
        return names.setdefault((module, name), _Global(module, name))

    ordered, rebuild = named("collections", "OrderedDict"), named("torch._utils", "_rebuild_tensor_v2")
    storages: dict[int, _Storage] = {}
    items = []
    for t in state.tensors:
        if t.storage not in storages:
            cls = named("torch", STORAGE_CLASSES[t.dtype])
            storages[t.storage] = _Storage(str(len(storages)), cls, t.storage_numel)
        hooks = _Reduced(ordered, ())  # the tensor's backward hooks: an empty OrderedDict
        # a fresh size and stride per tensor (torch.Size objects are): an equal tuple is not memoised
        args = (storages[t.storage], t.offset, tuple([*t.shape]), tuple([*t.strides]), False, hooks)
        items.append((t.key, _Reduced(rebuild, args)))
    metadata = _Reduced(ordered, (), None, [(path, {"version": version}) for path, version in state.modules])
    out = io.BytesIO()
    _Pickler(out, protocol=2).dump(_Reduced(ordered, (), {"_metadata": metadata}, items))
    return len(out.getvalue())


def storage_bytes(state: ModelState) -> list[int]:
    """Each storage's bytes, in the order torch writes them (each once)."""
    found: dict[int, int] = {}
    for t in state.tensors:
        found.setdefault(t.storage, t.storage_numel * ITEMSIZES[t.dtype])
    return list(found.values())


def zip_bytes(stem: str, records: list[tuple[str, int]]) -> int:
    """An archive of ``records`` (name under the stem's folder, data size) as torch's writer lays it out."""
    cursor = central = 0
    for name, size in records:
        path = len(f"{stem}/{name}".encode())
        start = cursor + LOCAL_HEADER + path + PADDING_FIELD
        extra = 0
        if size >= ZIP32_LIMIT or cursor >= ZIP32_LIMIT:  # zip64 fields in the local header
            extra = 4 + (16 if size >= ZIP32_LIMIT else 0) + (8 if cursor >= ZIP32_LIMIT else 0)
        start += extra
        padding = -start % ALIGNMENT
        cursor = start + padding + size + (DESCRIPTOR + 8 if size >= ZIP32_LIMIT else DESCRIPTOR)
        central += CENTRAL_HEADER + path + extra
    return cursor + central + END_RECORDS  # torch writes the zip64 end records in every case


def checkpoint_bytes(state: ModelState, stem: str = "model") -> int:
    """``torch.save(model.state_dict(), f"{stem}.pt")`` at the dtypes in ``state``."""
    records = [("data.pkl", pickle_bytes(state)), *BEFORE]
    records += [(f"data/{i}", n) for i, n in enumerate(storage_bytes(state))]
    return zip_bytes(stem, records + list(AFTER))
