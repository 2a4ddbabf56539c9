"""Reading input files and writing output files safely.

* Reading: :func:`read_bytes` / :func:`read_text` turn every problem (missing file, a directory,
  no permission, a broken ``.gz``, bytes that are not UTF-8) into one :class:`InputError` naming
  the file. A name ending in ``.gz`` is decompressed transparently (VNN-COMP ships ``.onnx.gz`` and
  ``.vnnlib.gz``).
* Writing: :func:`atomic_write` and :func:`atomic_path` write to a temporary file in the target
  directory and rename it over the target only when the whole output is there, so a failure, a
  signal or a concurrent writer never leaves a half-written file. :func:`check_output_path` tests
  an output location before any work starts. An existing target that is not a regular file
  (``/dev/stdout``, a FIFO) is written directly. After a stop request (:mod:`srmverify.stop`) no
  output is published. :data:`PENDING` lists the temporary files in flight, for an emergency exit.
* JSON: :func:`parse_json` / :func:`read_json` turn malformed or absurdly nested JSON into an
  :class:`InputError` naming the file.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import stat
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError, Interrupted
from ..stop import stop_signal

#: Temporary output files being written right now (removed by an emergency exit).
PENDING: set[str] = set()

#: Largest decompressed size accepted from a ``.gz`` input (a guard against decompression bombs).
MAX_GZ_BYTES = 1 << 31


def stem(path: str | Path) -> str:
    """The file name without a trailing ``.gz``: what decides the format.

    Examples
    --------
    >>> stem("nets/a.onnx.gz"), stem("b.json")
    ('a.onnx', 'b.json')
    """
    name = Path(path).name
    return name[:-3] if name.endswith(".gz") else name


def read_bytes(path: str | Path, field: str = "file") -> bytes:
    """The bytes of ``path`` (decompressed if it ends in ``.gz``); any problem is an :class:`InputError`.

    Examples
    --------
    >>> read_bytes("/no/such/file")
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: /no/such/file: file = '/no/such/file': cannot read (No such file or directory)
    """
    p = Path(path)
    try:
        if p.name.endswith(".gz"):
            with gzip.open(p, "rb") as fh:
                data = fh.read(MAX_GZ_BYTES + 1)
            if len(data) > MAX_GZ_BYTES:
                raise InputError(str(p), field, f"> {MAX_GZ_BYTES} bytes", "decompressed file too large")
            return data
        return p.read_bytes()
    except OSError as exc:
        if isinstance(exc, gzip.BadGzipFile):
            raise InputError(str(p), field, p.name, f"not a valid gzip file ({exc})") from None
        raise InputError(str(p), field, str(p), f"cannot read ({exc.strerror or exc})") from None
    except (EOFError, zlib.error) as exc:
        raise InputError(str(p), field, p.name, f"truncated or corrupt gzip data ({exc})") from None


def read_text(path: str | Path, field: str = "file") -> str:
    """The UTF-8 text of ``path`` (decompressed if it ends in ``.gz``); any problem is an :class:`InputError`."""
    data = read_bytes(path, field)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), field, data[max(exc.start - 8, 0):exc.end + 8],
                         f"not UTF-8 text (byte {exc.start})") from None


def parse_json(text: str, source: str, field: str = "json") -> Any:
    """Parse JSON text; malformed JSON and nesting too deep for the parser are an :class:`InputError`.

    The non-standard tokens ``NaN``/``Infinity`` are parsed so that the field validators can name
    the field that holds them ("must be a finite number").

    Examples
    --------
    >>> parse_json('{"a": [1, 2]}', "x.json")
    {'a': [1, 2]}
    >>> parse_json("[" * 100000, "x.json")
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: x.json: json = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[': nested too deeply for the JSON parser
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(source, field, text[:40], "nested too deeply for the JSON parser") from None
    except ValueError as exc:
        raise InputError(source, field, text[:40], f"malformed JSON ({exc})") from None


def read_json(path: str | Path, field: str = "json") -> Any:
    """Read and parse a JSON file (``.gz`` too); every problem is an :class:`InputError` naming the file."""
    return parse_json(read_text(path), str(path), field)


def check_output_path(path: str | Path, field: str = "output") -> Path:
    """Refuse an output location that cannot be written, before any work starts.

    Examples
    --------
    >>> check_output_path("/no/such/dir/out.json", "-o")
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: /no/such/dir/out.json: -o = '/no/such/dir': directory does not exist
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(str(p), field, str(p), "is a directory")
    if not parent.is_dir():
        raise InputError(str(p), field, str(parent), "directory does not exist" if not parent.exists()
                         else "is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(str(p), field, str(parent), "directory is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(str(p), field, str(p), "file is not writable")
    return p


@contextlib.contextmanager
def atomic_path(path: str | Path, field: str = "output") -> Iterator[Path]:
    """A temporary path in the target's directory; renamed onto ``path`` only if the block succeeds.

    For writers that want a path (``onnx.save``, ``savefig``). On any exception, or a signal that
    ends the block, the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "x.txt").read_text(), sorted(q.name for q in d.iterdir())
    ('done', ['x.txt'])
    """
    p = check_output_path(path, field)
    if p.exists() and not stat.S_ISREG(p.stat().st_mode):   # /dev/stdout, a FIFO: nothing to rename
        try:
            yield p
        except OSError as exc:
            raise InputError(str(p), field, str(p), f"cannot write ({exc.strerror or exc})") from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent if str(p.parent) else ".")
    except OSError as exc:
        raise InputError(str(p), field, str(p.parent), f"cannot create a file there ({exc.strerror or exc})") from None
    PENDING.add(tmp)
    try:
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        signum = stop_signal()
        if signum is not None:      # interrupted: publish nothing the command did not finish
            raise Interrupted(signum)
        mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(str(p), field, str(p), f"cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        PENDING.discard(tmp)


def atomic_write(path: str | Path, data: str | bytes, field: str = "output") -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same directory, then a rename);
    a full disk or an unwritable place is an :class:`InputError` naming the file."""
    with atomic_path(path, field) as tmp:
        try:
            if isinstance(data, str):
                tmp.write_text(data, encoding="utf-8")
            else:
                tmp.write_bytes(data)
        except OSError as exc:
            raise InputError(str(path), field, str(path), f"cannot write ({exc.strerror or exc})") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
