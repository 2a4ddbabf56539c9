"""Tensors of a torch ``state_dict`` file, read without running anything in it.

A ``.pt`` file written by ``torch.save`` (since torch 1.6) is a zip archive: ``PREFIX/data.pkl``,
a pickle of the dictionary whose tensors refer to storages ``PREFIX/data/KEY`` (raw bytes in the
order of ``PREFIX/byteorder``). Unpickling a file can run any code it names, so:

* with torch installed, :func:`read_state_dict` uses ``torch.load(path, map_location="cpu",
  weights_only=True)``, torch's own allow-list loader;
* without torch, :func:`read_state_dict_restricted` unpickles with an unpickler that knows only
  ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` and the
  float and integer storage types (as inert markers); any other global is an
  :class:`~srmverify.errors.InputError` naming the file and the class, and nothing it names is
  imported or called. Every tensor view is checked against its storage.

Both give ``{key: float64 array}`` (exact for float16/32/64 tensors).
"""
from __future__ import annotations

import collections
import functools
import io
import math
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InputError

#: Largest tensor storage (bytes) and tensor (entries) the restricted reader accepts.
MAX_STORAGE_BYTES = 1 << 31
MAX_TENSOR_ENTRIES = 20_000_000

_REFUSED = "nothing in the file was run; save net.state_dict(), not the module"


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a torch ``state_dict`` file as float64 arrays (exact for float16/32/64).

    With torch installed: ``torch.load(path, map_location="cpu", weights_only=True)``; without:
    the restricted reader (:func:`read_state_dict_restricted`). Either way a file that needs any
    other object than dictionaries and tensors is refused (:class:`InputError`), never executed.
    """
    try:
        import torch
    except ImportError:
        return read_state_dict_restricted(path)

    name = str(path)
    try:
        obj = torch.load(name, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise InputError(name, "data.pkl", found.group(1),
                             f"refused by torch.load(weights_only=True) ({_REFUSED})") from None
        raise InputError(name, "data.pkl", Path(name).name,
                         f"refused by torch.load(weights_only=True): {_torch_reason(exc)}") from None
    except OSError as exc:
        raise InputError(name, "file", name, f"cannot read ({exc.strerror or exc})") from None
    except Exception as exc:      # torch raises RuntimeError, EOFError, ... for files that are no checkpoint
        raise InputError(name, "file", Path(name).name, f"not a torch checkpoint ({type(exc).__name__}: "
                         f"{first_line(exc)})") from None
    if not isinstance(obj, Mapping):
        raise InputError(name, "(top level)", type(obj).__name__, "must be a state_dict (a dict of tensors)")
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise InputError(name, str(k), type(v).__name__, "must be a tensor")
        out[str(k)] = v.detach().cpu().to(torch.float64).numpy()
    return out


def read_state_dict_restricted(path: str | Path) -> dict[str, np.ndarray]:
    """Read a torch zip checkpoint (``torch.save`` since torch 1.6) without torch.

    The pickle inside is read by an unpickler that knows only ``collections.OrderedDict``,
    ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` and the float and integer
    storage types; any other global is an :class:`InputError` naming the file and the class, and
    nothing it names is imported or called. Tensor views are checked against their storage.
    """
    name = str(path)
    data = _open_zip(name)
    with data:
        pkl = [n for n in data.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise InputError(name, "data.pkl", len(pkl), "not a torch zip checkpoint (expected one data.pkl)")
        prefix = pkl[0][: -len("data.pkl")]
        order = "<"
        if prefix + "byteorder" in data.namelist():
            order = {"little": "<", "big": ">"}.get(_member(data, prefix + "byteorder", name).decode("ascii", "replace"), "?")
            if order == "?":
                raise InputError(name, "byteorder", _member(data, prefix + "byteorder", name)[:20], "unknown byte order")
        unpickler = _Unpickler(data, prefix, name, order)
        try:
            obj = unpickler.load()
        except InputError:
            raise
        except Exception as exc:     # a truncated or malformed pickle
            raise InputError(name, "data.pkl", Path(name).name,
                             f"not a readable state_dict ({type(exc).__name__}: {first_line(exc)})") from None
    if not isinstance(obj, dict):
        raise InputError(name, "(top level)", type(obj).__name__, "must be a state_dict (a dict of tensors)")
    for k, v in obj.items():
        if not isinstance(v, np.ndarray):
            raise InputError(name, str(k), type(v).__name__, "must be a tensor")
    return {str(k): v for k, v in obj.items()}



def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _torch_reason(exc: BaseException) -> str:
    """The line of a weights-only refusal that says what was wrong (torch wraps it in advice)."""
    boiler = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return next((ln for ln in lines if not ln.startswith(boiler)), first_line(exc))



class _Storage:
    """A storage type named in the pickle (``torch.DoubleStorage``, ...): only its dtype."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype


_STORAGES = {"DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "LongStorage": "i8",
             "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1"}


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> np.ndarray:
    """``torch._utils._rebuild_tensor_v2``: a checked strided view of the storage, as float64."""
    if not isinstance(storage, np.ndarray):
        raise TypeError("a tensor needs a storage")
    ints = lambda xs: isinstance(xs, tuple) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in xs)  # noqa: E731
    if not (isinstance(offset, int) and offset >= 0 and ints(size) and ints(stride) and len(size) == len(stride)):
        raise ValueError(f"bad tensor geometry (offset {offset!r}, size {size!r}, stride {stride!r})")
    entries = math.prod(size)
    if entries > MAX_TENSOR_ENTRIES:
        raise ValueError(f"a tensor of {entries} entries (more than {MAX_TENSOR_ENTRIES})")
    if entries == 0:
        return np.zeros(size)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ValueError(f"a tensor view reaches entry {last} of a storage of {storage.size}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=tuple(s * item for s in stride),
                                           writeable=False)
    return np.array(view, dtype=np.float64)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    """``torch._utils._rebuild_parameter``: a parameter is its tensor."""
    return data


#: The globals a state_dict needs, each as a factory: every lookup gets a new object, so a pickle
#: that sets attributes on what it looked up (BUILD) changes nothing outside its own load.
_ALLOWED: dict[tuple[str, str], Callable[[], Any]] = {
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,      # an immutable type
    ("torch._utils", "_rebuild_tensor_v2"): lambda: lambda *args: _rebuild_tensor(*args),
    ("torch._utils", "_rebuild_parameter"): lambda: lambda *args: _rebuild_parameter(*args),
    **{("torch", k): functools.partial(_Storage, v) for k, v in _STORAGES.items()},
}


class _Unpickler(pickle.Unpickler):
    """Builds dictionaries and tensors only (see :func:`read_state_dict_restricted`)."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str, name: str, order: str) -> None:
        super().__init__(io.BytesIO(_member(archive, prefix + "data.pkl", name)))
        self.archive, self.prefix, self.name, self.order = archive, prefix, name, order
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]()
        raise InputError(self.name, "data.pkl", f"{module}.{name}", f"refused: a plain tensor state_dict needs no "
                         f"such class ({_REFUSED})")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise ValueError(f"unknown persistent id {pid!r:.60}")
        kind, key, numel = pid[1], pid[2], pid[4]
        if key not in self.storages:
            raw = _member(self.archive, f"{self.prefix}data/{key}", self.name)
            dtype = np.dtype(self.order + kind.dtype)
            if numel < 0 or numel * dtype.itemsize > len(raw):
                raise ValueError(f"storage {key} holds {len(raw)} bytes, not {numel} entries of {dtype}")
            self.storages[key] = np.frombuffer(raw, dtype=dtype, count=numel)
        return self.storages[key]


def _open_zip(name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(name)
    except zipfile.BadZipFile:
        raise InputError(name, "file", Path(name).name, "not a torch zip checkpoint (torch.save since torch 1.6; "
                         "an older file: load and save it again with a current torch)") from None
    except OSError as exc:
        raise InputError(name, "file", name, f"cannot read ({exc.strerror or exc})") from None


def _member(archive: zipfile.ZipFile, member: str, name: str) -> bytes:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise InputError(name, member, None, "missing in the checkpoint") from None
    if info.file_size > MAX_STORAGE_BYTES:
        raise InputError(name, member, info.file_size, f"more than {MAX_STORAGE_BYTES} bytes")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(name, member, info.file_size, f"corrupt checkpoint member ({exc})") from None
