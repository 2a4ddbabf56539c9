"""Writing rows of outputs chunk by chunk: ``.csv``/``.txt``, ``.npy``, ``.jsonl``, ``.json`` or text.

A :class:`RowWriter` is given float rows (``inf`` = the output neuron never fires) and optionally
their exact forms (strings such as ``"1/3"``); it never holds more than the chunk it is given
(except the exact strings of a ``.json`` file, kept for its ``outputs_exact`` list). Writing to a
path goes through :func:`.files.atomic_path`: the file appears, complete, when the writer is
closed without an exception. Formats:

* ``csv`` — comma separated, shortest round-trip floats, ``inf`` for never fires (exact strings
  when given); ``txt`` the same, space separated; ``text`` is the human form (10 significant
  digits, space separated) that ``simulate`` prints;
* ``npy`` — float64 ``(rows, outputs)``, the header rewritten with the row count at the end;
* ``jsonl`` — one JSON list per line (``null`` for never fires), or ``{"outputs": [...],
  "outputs_exact": [...]}`` per line with exact strings;
* ``json`` — one object ``{<meta>, "outputs": [...], "rows": N, "complete": bool}`` (and
  ``"outputs_exact"``).

>>> import io
>>> buf = io.StringIO()
>>> with RowWriter.to_stream(buf, "json", meta={"kind": "snn"}) as w:
...     w.write(np.array([[0.5, np.inf]]))
>>> buf.getvalue()
'{"kind": "snn", "outputs": [\\n[0.5, null]\\n], "rows": 1, "complete": true}\\n'
"""
from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path
from typing import IO, Sequence

import numpy as np

from ..errors import InputError
from .files import atomic_path

#: Output formats by file suffix.
SUFFIX_FORMAT = {".csv": "csv", ".txt": "txt", ".npy": "npy", ".jsonl": "jsonl", ".json": "json"}
#: Bytes reserved for a ``.npy`` header (room for any row count).
_NPY_HEADER = 128


def output_format(path: str | Path, field: str = "-o") -> str:
    """The format of an output path, from its suffix.

    >>> output_format("y.npy"), output_format("out/y.jsonl")
    ('npy', 'jsonl')
    """
    fmt = SUFFIX_FORMAT.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(str(path), field, Path(path).suffix or Path(path).name,
                         "unknown output format (use .csv, .txt, .npy, .jsonl or .json)")
    return fmt


def _npy_header(rows: int, cols: int) -> bytes:
    d = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    body = d.ljust(_NPY_HEADER - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


def _num(v: float) -> str:
    return "null" if v == np.inf else repr(v)


class RowWriter:
    """Streaming writer of output rows; use :meth:`to_path` or :meth:`to_stream`."""

    def __init__(self, fh: IO, fmt: str, meta: dict | None = None) -> None:
        self._fh, self.fmt, self._meta = fh, fmt, dict(meta or {})
        self.rows, self.cols, self.complete = 0, None, True
        self._exact: list[list[str]] = []

    @classmethod
    @contextlib.contextmanager
    def to_path(cls, path: str | Path, meta: dict | None = None, field: str = "-o"):
        """Write a file atomically (format from the suffix)."""
        fmt = output_format(path, field)
        with atomic_path(path, field) as tmp:
            with open(tmp, "wb" if fmt == "npy" else "w", encoding=None if fmt == "npy" else "utf-8") as fh:
                w = cls(fh, fmt, meta)
                w._start()
                yield w
                w._finish()

    @classmethod
    @contextlib.contextmanager
    def to_stream(cls, fh: IO[str], fmt: str, meta: dict | None = None):
        """Write to an open text stream (``text``, ``csv``, ``txt``, ``jsonl`` or ``json``)."""
        w = cls(fh, fmt, meta)
        w._start()
        yield w
        w._finish()

    def _start(self) -> None:
        if self.fmt == "npy":
            self._fh.write(_npy_header(0, 0))
        elif self.fmt == "json":
            head = json.dumps(self._meta)[:-1]
            self._fh.write((head + ", " if self._meta else "{") + '"outputs": [')

    def write(self, values: np.ndarray, exact: Sequence[Sequence[str]] | None = None) -> None:
        """Append rows: ``values`` (k, n_outputs) floats, ``exact`` their exact strings (optional)."""
        values = np.asarray(values, dtype=float)
        if self.cols is None:
            self.cols = values.shape[1]
        fmt, fh = self.fmt, self._fh
        if fmt == "npy":
            fh.write(np.ascontiguousarray(values, dtype="<f8").tobytes())
        elif fmt in ("csv", "txt", "text"):
            sep = "," if fmt == "csv" else " "
            rows = exact if exact is not None else (
                [["%.10g" % v for v in r] for r in values.tolist()] if fmt == "text"
                else [[repr(v) for v in r] for r in values.tolist()])
            fh.write("".join(sep.join(r) + "\n" for r in rows))
        elif fmt == "jsonl":
            if exact is None:
                fh.write("".join("[" + ", ".join(map(_num, r)) + "]\n" for r in values.tolist()))
            else:
                fh.write("".join(json.dumps({"outputs": [None if v == np.inf else v for v in r], "outputs_exact": list(e)})
                                 + "\n" for r, e in zip(values.tolist(), exact)))
        else:
            lead = ",\n" if self.rows else "\n"
            fh.write(lead + ",\n".join("[" + ", ".join(map(_num, r)) + "]" for r in values.tolist()))
            if exact is not None:
                self._exact.extend(list(e) for e in exact)
        self.rows += len(values)

    def _finish(self) -> None:
        if self.fmt == "npy":
            self._fh.seek(0)
            self._fh.write(_npy_header(self.rows, self.cols or 0))
        elif self.fmt == "json":
            tail: dict[str, object] = {"rows": self.rows, "complete": self.complete}
            if self._exact:
                tail["outputs_exact"] = self._exact
            self._fh.write(("\n" if self.rows else "") + "], " + json.dumps(tail)[1:] + "\n")
        self._fh.flush()
