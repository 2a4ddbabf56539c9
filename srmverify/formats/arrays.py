"""Input vectors and boxes from the command line or files (.csv, .npy, .json)."""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError
from ..limits import MAX_MAGNITUDE, check_magnitude
from .files import read_text


def parse_vector(text: str, field: str = "--input", n: int | None = None) -> np.ndarray:
    """``"0.1,0.2"`` -> array; checks finiteness and (optionally) the length.

    >>> parse_vector("0.5, -1").tolist()
    [0.5, -1.0]
    """
    try:
        v = np.array([float(p) for p in text.replace(";", ",").split(",") if p.strip()], dtype=float)
    except ValueError:
        raise InputError("<command line>", field, text, "expected comma-separated numbers") from None
    _check(v, "<command line>", field, n)
    return v


#: Rows per chunk when inputs are streamed.
CHUNK_ROWS = 4096
#: Input file suffixes (after an optional ``.gz`` for the text formats).
INPUT_SUFFIXES = (".csv", ".txt", ".npy", ".json", ".jsonl")


def load_inputs(path: str | Path, n: int | None = None) -> np.ndarray:
    """A batch of inputs, one per row, from ``.csv``/``.txt`` (comma or whitespace separated),
    ``.npy``, ``.json`` (a list of rows) or ``.jsonl`` (one row per line), checked like
    :func:`iter_inputs` and concatenated.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("1,2\\n3,4\\n")
    >>> load_inputs(p, 2).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    _, chunks = iter_inputs(path, n)
    parts = [c for _, c in chunks]
    return np.concatenate(parts) if parts else np.empty((0, n or 0))


def iter_inputs(path: str | Path, n: int | None = None,
                chunk_rows: int = CHUNK_ROWS) -> tuple[int | None, Iterator[tuple[int, np.ndarray]]]:
    """Stream the rows of an input file: ``(total rows or None, iterator of (first row, chunk))``.

    ``.npy`` files are read by offset, ``chunk_rows`` rows at a time (never loaded whole), text
    files line by line (``.gz`` decompressed on the fly); a ``.json`` list is parsed at once.
    Every chunk is ``(rows, n)`` float64 with finite values. Anything else — an unreadable
    file, a JSON object, a string / structured / complex ``.npy``, a header claiming more data
    than the file holds, a ragged or non-numeric row — is an :class:`InputError` naming the
    file, the field and the value (the header is checked before the iterator is returned, the
    rows as they are read).
    """
    p = Path(path)
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    suffix = Path(name).suffix.lower()
    if suffix == ".npy":
        if p.name.endswith(".gz"):
            raise InputError(str(p), "file", p.name, "a .npy input cannot be compressed")
        total, chunks = _npy_chunks(p, chunk_rows)
    elif suffix == ".json":
        rows = _json_rows(p)
        total, chunks = len(rows), ((lo, rows[lo:lo + chunk_rows]) for lo in range(0, len(rows), chunk_rows))
    else:
        total, chunks = None, _text_chunks(p, chunk_rows, jsonl=suffix == ".jsonl")
    return total, _checked(chunks, str(p), n)


def _checked(chunks, src: str, n: int | None) -> Iterator[tuple[int, np.ndarray]]:
    width = n
    for lo, a in chunks:
        if width is None:
            width = a.shape[1]
        _check(a, src, "rows", width, lo)
        yield lo, a


def _npy_chunks(p: Path, chunk_rows: int):
    try:
        fh = open(p, "rb")
    except OSError as exc:
        raise InputError(str(p), "file", str(p), f"cannot read ({exc.strerror or exc})") from None
    with fh:
        try:
            version = np.lib.format.read_magic(fh)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(fh)
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise InputError(str(p), "header", p.name, f"not a valid .npy file ({exc})") from None
        offset = fh.tell()
    if dtype.fields is not None or dtype.kind not in "biuf":
        what = {"c": "complex numbers (the imaginary part would be lost)", "U": "strings", "S": "bytes",
                "O": "Python objects", "V": "structured records"}.get(dtype.kind, f"dtype {dtype}")
        if dtype.fields is not None:
            what = "structured records"
        raise InputError(str(p), "dtype", str(dtype), f"expected real numbers, got {what}")
    if len(shape) not in (1, 2):
        raise InputError(str(p), "shape", list(shape), "expected one input per row (a 1-D or 2-D array)")
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape
    need, have = rows * cols * dtype.itemsize, p.stat().st_size - offset
    if need > have:
        raise InputError(str(p), "shape", list(shape),
                         f"the header claims {need} bytes of data but the file holds {have}")

    def chunks():
        if fortran and len(shape) == 2:
            a = np.load(p, mmap_mode="r", allow_pickle=False)
            for lo in range(0, rows, chunk_rows):
                yield lo, np.array(a[lo:lo + chunk_rows], dtype=float)
            return
        with open(p, "rb") as f:
            for lo in range(0, rows, chunk_rows):
                k = min(chunk_rows, rows - lo)
                f.seek(offset + lo * cols * dtype.itemsize)
                yield lo, np.fromfile(f, dtype=dtype, count=k * cols).reshape(k, cols).astype(float)

    return rows, chunks()


def _json_rows(p: Path) -> np.ndarray:
    try:
        obj = json.loads(read_text(p, "file"))
    except RecursionError:
        raise InputError(str(p), "json", p.name, "nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(p), "json", p.name, f"not valid JSON ({exc})") from None
    if not isinstance(obj, list):
        raise InputError(str(p), "inputs", f"a JSON {type(obj).__name__}", "expected a list of rows (lists of numbers)")
    return _numeric(obj, str(p), "rows", 0)


def _numeric(rows, src: str, field: str, lo: int) -> np.ndarray:
    """A list of rows (or one flat row) as a 2-D float array; ragged or non-numeric is an error."""
    try:
        a = np.array(rows, dtype=float)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(src, field, f"rows {lo}..", f"not a numeric table ({exc})") from None
    a = a.reshape(1, -1) if a.ndim == 1 else a
    if a.ndim != 2:
        raise InputError(src, field, f"shape {list(a.shape)}", "expected one input per row (lists of numbers)")
    return a


def _text_chunks(p: Path, chunk_rows: int, jsonl: bool):
    try:
        fh = gzip.open(p, "rt", encoding="utf-8") if p.name.endswith(".gz") else open(p, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(p), "file", str(p), f"cannot read ({exc.strerror or exc})") from None

    def parse(lines, lo):
        if jsonl:
            try:
                return _numeric([json.loads(line) for line in lines], str(p), "rows", lo)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise InputError(str(p), f"rows[{lo}..]", lines[0][:40], f"not a JSON row ({exc})") from None
        delim = "," if "," in lines[0] else None
        try:
            return np.loadtxt(lines, delimiter=delim, ndmin=2, comments="#")
        except ValueError as exc:
            raise InputError(str(p), f"rows[{lo}..]", lines[0][:40], f"not a numeric table ({exc})") from None

    def chunks():
        row, lines = 0, []
        try:
            with fh:
                for line in fh:
                    if line.strip() and not line.lstrip().startswith("#"):
                        lines.append(line)
                        if len(lines) == chunk_rows:
                            yield row, parse(lines, row)
                            row, lines = row + len(lines), []
        except UnicodeDecodeError as exc:
            raise InputError(str(p), "file", p.name, f"not UTF-8 text (byte {exc.start} of a line)") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(str(p), "file", p.name, f"cannot read ({exc})") from None
        if lines:
            yield row, parse(lines, row)

    return chunks()


def _check(a: np.ndarray, src: str, field: str, n: int | None, row0: int = 0) -> None:
    """Finite values and ``n`` columns; ``row0`` is the row number of ``a[0]`` (for the message)."""
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        idx = bad[0].copy()
        if a.ndim == 2:
            idx[0] += row0
        raise InputError(src, field + "".join(f"[{i}]" for i in idx), float(a[tuple(bad[0])]), "must be finite")
    if n is not None and a.shape[-1] != n:
        raise InputError(src, field, f"{a.shape[-1]} values", f"the network has {n} inputs")


def parse_box(text: str, n: int | None = None, field: str = "--box") -> np.ndarray:
    """An input box as an ``(n, 2)`` array of ``[lo, hi]`` rows.

    Accepted: ``"lo:hi"`` (one interval for every input, needs ``n``), ``"l0:h0,l1:h1,..."``,
    a JSON list of pairs (inline or in a ``.json`` file), or a ``.vnnlib`` file's input box.

    >>> parse_box("0:1", n=2).tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    >>> parse_box("[[0, 1], [-1, 2]]").tolist()
    [[0.0, 1.0], [-1.0, 2.0]]
    """
    src = "<command line>"
    t = text.strip()
    try:
        if t.endswith(".vnnlib"):
            from .vnnlib import read_vnnlib  # written with the verification engine

            box = np.asarray(read_vnnlib(t).input_box, dtype=float)
            src = t
        elif t.endswith(".json"):
            src = t
            box = np.array(json.loads(Path(t).read_text()), dtype=float)
        elif t.startswith("["):
            box = np.array(json.loads(t), dtype=float)
        else:
            parts = [p.split(":") for p in t.split(",") if p.strip()]
            if any(len(p) != 2 for p in parts):
                raise ValueError("each interval is lo:hi")
            box = np.array([[float(a), float(b)] for a, b in parts], dtype=float)
            if len(box) == 1 and n is not None:
                box = np.repeat(box, n, axis=0)
    except OSError as exc:
        raise InputError(t, "file", t, f"cannot read ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:
        raise InputError(src, field, text, f"expected lo:hi, lo:hi,... or a JSON list of [lo, hi] ({exc})") from None
    return check_box(box, n, src, field)


def check_box(box, n: int | None = None, source: str = "<arguments>", field: str = "box") -> np.ndarray:
    """Validate an input box: an ``(n, 2)`` float array of finite ``[lo, hi]`` rows with ``lo <= hi``
    and ``|lo|, |hi| <= MAX_MAGNITUDE`` (:mod:`srmverify.limits`: float64 bounds must not overflow).

    >>> check_box([[0, 1]], 1).tolist()
    [[0.0, 1.0]]
    >>> check_box([[1, 0]], 1)
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: <arguments>: box[0] = [1.0, 0.0]: lower bound exceeds upper bound
    """
    try:
        box = np.asarray(box, dtype=float)
    except (TypeError, ValueError):
        raise InputError(source, field, box, "not a numeric (n, 2) array of [lo, hi] pairs") from None
    if box.ndim != 2 or box.shape[1] != 2:
        raise InputError(source, field, f"shape {box.shape}", "expected a list of [lo, hi] pairs")
    _check(box, source, field, None)
    if n is not None and len(box) != n:
        raise InputError(source, field, f"{len(box)} intervals", f"the network has {n} inputs")
    bad = np.flatnonzero(box[:, 0] > box[:, 1])
    if bad.size:
        raise InputError(source, f"{field}[{int(bad[0])}]", box[bad[0]].tolist(), "lower bound exceeds upper bound")
    big = np.flatnonzero(np.abs(box).max(axis=1, initial=0.0) > MAX_MAGNITUDE)
    if big.size:
        check_magnitude(float(np.abs(box[big[0]]).max()), source, f"{field}[{int(big[0])}]")
    return box
