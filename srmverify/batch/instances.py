"""VNN-COMP instance lists (``instances.csv``).

Each row is ``onnx,vnnlib,timeout`` with paths relative to the CSV file; ``.gz`` files are
accepted (they are read transparently). VNN-COMP 2026 multi-network benchmarks write the first
column as a Python list of ``(name, onnx)`` pairs, quoted for CSV::

    "[('f', 'onnx/nets/a.onnx'), ('g', 'onnx/pruned_nets/a_pruned5.onnx')]",./vnnlib/instance_0.vnnlib,100

The two fields are kept as written (``onnx_field`` / ``vnnlib_field``): they are the row's key in
``results.csv``, so a re-run recognises the rows already done.
"""
from __future__ import annotations

import ast
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..formats.files import read_text, stem


@dataclass(frozen=True)
class Instance:
    """One verification instance: networks ``(name, path)`` (name ``""`` for the single-network
    form), a property file, the time limit in seconds, the two CSV fields as written and a file
    name ``name`` unique in its list (:func:`instance_name`)."""

    networks: tuple[tuple[str, str], ...]
    vnnlib: str
    timeout: float
    onnx_field: str
    vnnlib_field: str
    name: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """The row's identity in ``results.csv``."""
        return self.onnx_field, self.vnnlib_field



def instance_name(networks: tuple[tuple[str, str], ...] | list, vnnlib: str) -> str:
    """``<network stem>_<property stem>`` (VNN-COMP's counterexample file naming), without
    ``.onnx`` / ``.vnnlib`` / ``.gz``.

    >>> instance_name([("", "a/n1.onnx.gz")], "p/prop_1.vnnlib")
    'n1_prop_1'
    """
    return "_".join(_bare(p) for _, p in networks) + "_" + _bare(vnnlib)


def _bare(path: str) -> str:
    s = stem(path)
    for ext in (".onnx", ".vnnlib", ".json"):
        if s.endswith(ext):
            return s[: -len(ext)]
    return s


def parse_instances(text: str, source: str = "<string>", base: str | Path = ".") -> list[Instance]:
    """Parse ``instances.csv`` text; paths are resolved against ``base``.

    Examples
    --------
    >>> rows = parse_instances("n.onnx,p.vnnlib,116\\n\\"[('f', 'a.onnx'), ('g', 'b.onnx')]\\",q.vnnlib,100\\n", base="/d")
    >>> rows[0].networks, rows[0].vnnlib, rows[0].timeout
    ((('', '/d/n.onnx'),), '/d/p.vnnlib', 116.0)
    >>> rows[1].networks
    (('f', '/d/a.onnx'), ('g', '/d/b.onnx'))
    >>> parse_instances("n.onnx,p.vnnlib,-1\\n", "i.csv")
    Traceback (most recent call last):
    ...
    srmverify.errors.InputError: i.csv: line 1, timeout = '-1': must be a positive number of seconds
    """
    base = Path(base)
    out: list[Instance] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise InputError(source, f"line {line}", ",".join(row), f"expected 3 columns onnx,vnnlib,timeout, got {len(row)}")
        onnx_field, vnnlib_field, timeout_field = (c.strip() for c in row)
        try:
            timeout = float(timeout_field)
        except ValueError:
            timeout = float("nan")
        if not 0 < timeout < float("inf"):
            raise InputError(source, f"line {line}, timeout", timeout_field, "must be a positive number of seconds")
        nets = _networks(onnx_field, source, line)
        if not vnnlib_field:
            raise InputError(source, f"line {line}, vnnlib", vnnlib_field, "empty property path")
        name = instance_name(nets, vnnlib_field)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        out.append(Instance(tuple((n, str(base / p)) for n, p in nets), str(base / vnnlib_field), timeout,
                            onnx_field, vnnlib_field, name))
    if not out:
        raise InputError(source, "rows", 0, "no instances listed")
    return out


def _networks(field: str, source: str, line: int) -> list[tuple[str, str]]:
    if not field.startswith("["):
        if not field:
            raise InputError(source, f"line {line}, onnx", field, "empty network path")
        return [("", field)]
    try:
        value = ast.literal_eval(field)
    except (ValueError, SyntaxError):
        value = None
    ok = isinstance(value, list) and value and all(
        isinstance(p, tuple) and len(p) == 2 and all(isinstance(s, str) and s for s in p) for p in value)
    if not ok:
        raise InputError(source, f"line {line}, onnx", field, "expected a network path or a list of (name, onnx) pairs")
    names = [n for n, _ in value]
    if len(set(names)) != len(names):
        raise InputError(source, f"line {line}, onnx", field, "network names must be distinct")
    return value


def read_instances(path: str | Path) -> list[Instance]:
    """Read a VNN-COMP ``instances.csv`` (``.gz`` too); paths are relative to its folder."""
    return parse_instances(read_text(path, "instances"), str(path), Path(path).parent)
