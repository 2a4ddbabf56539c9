"""Input vectors and boxes from the command line or files (.csv, .npy, .json)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import MAX_MAGNITUDE, check_magnitude


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


def load_inputs(path: str | Path, n: int | None = None) -> np.ndarray:
    """A batch of inputs, one per row, from ``.csv`` (comma or whitespace separated), ``.npy``
    or ``.json`` (list of rows)."""
    p = Path(path)
    try:
        if p.suffix == ".npy":
            a = np.load(p, allow_pickle=False)
        elif p.suffix == ".json":
            a = np.array(json.loads(p.read_text()), dtype=float)
        else:
            text = p.read_text()
            a = np.loadtxt(p, delimiter="," if "," in text else None, ndmin=2)
    except OSError as exc:
        raise InputError(str(p), "file", str(p), f"cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(str(p), "rows", "...", f"not a numeric table ({exc})") from None
    a = np.atleast_2d(np.asarray(a, dtype=float))
    if a.ndim != 2:
        raise InputError(str(p), "shape", a.shape, "expected one input per row")
    _check(a, str(p), "rows", n)
    return a


def _check(a: np.ndarray, src: str, field: str, n: int | None) -> None:
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        raise InputError(src, field + "".join(f"[{i}]" for i in bad[0]), float(a[tuple(bad[0])]), "must be finite")
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
