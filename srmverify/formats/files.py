"""Reading input files and writing output files safely.

* Reading: :func:`read_bytes` / :func:`read_text` turn every problem (missing file, a directory,
  no permission, a broken ``.gz``, bytes that are not UTF-8) into one :class:`InputError` naming
  the file. A name ending in ``.gz`` is decompressed transparently (VNN-COMP ships ``.onnx.gz`` and
  ``.vnnlib.gz``).
* Writing: :func:`atomic_write` and :func:`atomic_path` write to a temporary file in the target
  directory and rename it over the target only when the whole output is there, so a failure, a
  signal or a concurrent writer never leaves a half-written file. :func:`check_output_path` tests
  an output location before any work starts.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import zlib
from pathlib import Path
from typing import Iterator

from ..errors import InputError

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
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(str(p), field, str(p), f"cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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
