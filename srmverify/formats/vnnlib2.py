"""VNN-LIB 2.0 queries (VNN-COMP 2026), and linear queries over several networks.

A 2.0 file starts with ``(vnnlib-version <2.0>)``, declares one or more networks, each with one
tensor-shaped input and output, and asserts constraints over tensor elements (``X[0,0,0,3]``,
row-major)::

    (vnnlib-version <2.0>)
    (declare-network f (declare-input X_f float32 [1,5]) (declare-output Y_f float32 [1,5]))
    (declare-network g (isomorphic-to f) (declare-input X_g float32 [1,5]) (declare-output Y_g float32 [1,5]))
    (assert (and (>= X_f[0,0] 0.0) (<= X_f[0,0] 1.0)))
    (assert (== X_f[0,0] X_g[0,0]))           ; a relational input constraint
    (assert (> (- Y_f[0,0] Y_g[0,0]) 0.5))    ; a relational output property

``(equal-to f)`` declares a network that is the same model as ``f``; ``(isomorphic-to f)`` one
with the same input and output shapes. The property is violated (``sat``) when some inputs
satisfy every assertion. Supported: ``and``/``or`` nested freely, ``<= < >= > == !=``,
linear terms (``+``, ``-``, ``*`` by constants), any element type (read as real numbers).

The result is a :class:`LinearQuery` over the *stacked* inputs ``X`` (every network's input
flattened, in declaration order) and stacked outputs ``Y``: a list of groups, each an input
polytope (rows ``a . X <= b``; bounds of single elements are kept as a box) with an output
DNF (rows ``c . Y <= d``, strict where the file says ``<``/``>``/``!=``). Input constraints
are closed (strict input inequalities are read as non-strict, the VNN-COMP convention). A
constraint that mixes inputs and outputs, hidden-node declarations and networks with several
inputs or outputs are refused as unsupported with file, line and construct. VNN-LIB 1.0 files
parse to the same structure (:func:`read_query`), which also gives 1.0 files general linear
input constraints.

>>> q = parse_query('''(vnnlib-version <2.0>)
... (declare-network f (declare-input X Real [2]) (declare-output Y Real [1]))
... (assert (and (>= X[0] 0.0) (<= X[0] 1.0) (>= X[1] 0.0) (<= X[1] 1.0)))
... (assert (<= (+ X[0] X[1]) 1.5))
... (assert (> Y[0] 2.0))''')
>>> [n.name for n in q.networks], q.n_inputs, q.n_outputs
(['f'], 2, 1)
>>> g = q.groups[0]
>>> g.box.tolist(), [(a.tolist(), b) for a, b in g.rows], [[(c.tolist(), d, s) for c, d, s in conj] for conj in g.dnf]
([[0.0, 1.0], [0.0, 1.0]], [([1.0, 1.0], 1.5)], [[([-1.0], -2.0, True)]])
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from .files import atomic_write, read_text
from .vnnlib import (_DNF, VnnlibProperty, _Atom, _count, _Lin, _List, _Parser, _sexprs, _show,
                     is_vnnlib2, parse_disjuncts)

#: An output row ``c . Y <= d`` (``<`` if strict) over the stacked outputs.
OutRow = tuple[np.ndarray, float, bool]
_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-']*)\s*\[([^\]]*)\]$")


@dataclass
class NetworkDecl:
    """One ``declare-network``: its input and output tensors and its relation to an earlier one.
    ``input_offset`` / ``output_offset`` place it in the stacked inputs / outputs."""

    name: str
    input_name: str
    input_type: str
    input_shape: tuple[int, ...]
    output_name: str
    output_type: str
    output_shape: tuple[int, ...]
    equal_to: str | None = None
    isomorphic_to: str | None = None
    line: int = 0
    input_offset: int = 0
    output_offset: int = 0

    @property
    def n_inputs(self) -> int:
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        return math.prod(self.output_shape)


@dataclass
class InputGroup:
    """An input set ``{X : box[:, 0] <= X <= box[:, 1], a . X <= b for (a, b) in rows}`` and the
    output condition (OR of ANDs of :data:`OutRow`) to reach from it."""

    box: np.ndarray
    rows: list[tuple[np.ndarray, float]]
    dnf: list[list[OutRow]]


@dataclass
class LinearQuery:
    """A parsed VNN-LIB query (see the module docstring): ``sat`` iff some stacked input in one
    group's set gives stacked outputs satisfying that group's ``dnf``."""

    networks: list[NetworkDecl]
    groups: list[InputGroup]
    source: str = "<string>"
    version: str = "2.0"

    @property
    def n_inputs(self) -> int:
        return sum(n.n_inputs for n in self.networks)

    @property
    def n_outputs(self) -> int:
        return sum(n.n_outputs for n in self.networks)

    def as_box_property(self) -> VnnlibProperty:
        """The same property as a :class:`~srmverify.formats.vnnlib.VnnlibProperty` (one
        network, box inputs; strict output rows become non-strict as in VNN-LIB 1.0)."""
        if len(self.networks) != 1:
            raise InputError(self.source, "declare-network", [n.name for n in self.networks],
                             "a property over several networks: give one name=path per network to verify")
        if any(g.rows for g in self.groups):
            raise InputError(self.source, "assert", "linear input constraints",
                             "the input set is a polytope, not a box: use read_query / check_query")
        groups: dict[bytes, tuple[list[np.ndarray], list]] = {}
        for g in self.groups:
            dnf = [[(c, d) for c, d, _ in conj] for conj in g.dnf]
            key = repr([[(c.tolist(), d) for c, d in conj] for conj in dnf]).encode()
            groups.setdefault(key, ([], dnf))[0].append(g.box)
        return VnnlibProperty(self.n_inputs, self.n_outputs, list(groups.values()), self.source)


# --------------------------------------------------------------------------- parsing
class _Parser2(_Parser):
    """Variables are tensor elements ``NAME[i,j,...]`` of declared inputs and outputs."""

    def __init__(self, src: str) -> None:
        super().__init__(src)
        self.tensors: dict[str, tuple[str, tuple[int, ...], int]] = {}   # name -> (kind, shape, offset)

    def variable(self, node: _Atom) -> _Lin | None:
        m = _INDEXED.match(node.text)
        if not m:
            if node.text in self.tensors:
                raise self.fail(node, "a tensor element needs its indices, e.g. X[0]")
            return None
        name = m.group(1)
        if name not in self.tensors:
            raise self.fail(node, f"'{name}' is not a declared input or output")
        kind, shape, offset = self.tensors[name]
        idx = _ints(m.group(2), node, self)
        if len(idx) != len(shape) or any(not 0 <= i < d for i, d in zip(idx, shape)):
            raise self.fail(node, f"index {list(idx)} is out of range for shape {list(shape)}")
        flat = int(np.ravel_multi_index(idx, shape)) if shape else 0
        return _Lin({(kind, offset + flat): 1.0})


def _ints(text: str, node, p: _Parser) -> tuple[int, ...]:
    parts = [t.strip() for t in text.split(",")] if text.strip() else []
    if not all(re.fullmatch(r"\d+", t) for t in parts):
        raise p.fail(node, "indices and dimensions must be non-negative integers")
    return tuple(int(t) for t in parts)


def _tensor(p: _Parser2, cmd: _List, what: str) -> tuple[str, str, tuple[int, ...]]:
    """``(declare-input NAME TYPE [d1,...])`` -> name, type, shape (the tokenizer joins ``TYPE [..]``)."""
    items = cmd.items[1:]
    if len(items) != 2 or not all(isinstance(i, _Atom) for i in items):
        raise p.fail(cmd, f"expected ({what} NAME TYPE [d1,...])")
    m = _INDEXED.match(items[1].text)
    if not m or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", items[0].text):
        raise p.fail(cmd, f"expected ({what} NAME TYPE [d1,...])")
    shape = _ints(m.group(2), cmd, p)
    if any(d < 1 for d in shape) or math.prod(shape) > 10_000_000:
        raise p.fail(cmd, "every dimension must be >= 1 (and at most 10^7 elements)")
    return items[0].text, m.group(1), shape


def _network(p: _Parser2, cmd: _List, decls: list[NetworkDecl]) -> NetworkDecl:
    items = cmd.items
    if len(items) < 2 or not isinstance(items[1], _Atom):
        raise p.fail(cmd, "expected (declare-network NAME (declare-input ...) (declare-output ...))")
    name = items[1].text
    if any(n.name == name for n in decls):
        raise p.fail(cmd, f"network '{name}' declared twice")
    ins, outs, rel = [], [], {}
    for sub in items[2:]:
        head = sub.items[0].text if isinstance(sub, _List) and sub.items and isinstance(sub.items[0], _Atom) else None
        if head == "declare-input":
            ins.append(_tensor(p, sub, head))
        elif head == "declare-output":
            outs.append(_tensor(p, sub, head))
        elif head == "declare-hidden":
            raise p.fail(sub, "VNN-LIB 2.0 hidden-node constraints are not supported")
        elif head in ("equal-to", "isomorphic-to"):
            if len(sub.items) != 2 or not isinstance(sub.items[1], _Atom):
                raise p.fail(sub, f"expected ({head} NETWORK)")
            other = sub.items[1].text
            if not any(n.name == other for n in decls):
                raise p.fail(sub, f"'{other}' is not a network declared before '{name}'")
            rel[head] = other
        else:
            raise p.fail(sub, "expected declare-input, declare-output, equal-to or isomorphic-to")
    if len(ins) != 1 or len(outs) != 1:
        raise p.fail(cmd, f"network '{name}' has {len(ins)} inputs and {len(outs)} outputs: exactly one of "
                          "each is supported")
    (xn, xt, xs), (yn, yt, ys) = ins[0], outs[0]
    for tname in {xn, yn}:
        if tname in p.tensors or xn == yn:
            raise p.fail(cmd, f"variable '{tname}' declared twice")
    d = NetworkDecl(name, xn, xt, xs, yn, yt, ys, rel.get("equal-to"), rel.get("isomorphic-to"), cmd.line,
                    sum(n.n_inputs for n in decls), sum(n.n_outputs for n in decls))
    ref = next((n for n in decls if n.name in (d.equal_to, d.isomorphic_to)), None)
    if ref is not None and (ref.input_shape, ref.output_shape) != (xs, ys):
        raise p.fail(cmd, f"'{name}' must have the input/output shapes of '{ref.name}' "
                          f"({list(ref.input_shape)} / {list(ref.output_shape)})")
    p.tensors[xn] = ("X", xs, d.input_offset)
    p.tensors[yn] = ("Y", ys, d.output_offset)
    return d


def parse_query(text: str, source: str = "<string>") -> LinearQuery:
    """Parse a VNN-LIB 2.0 query, or a 1.0 property (then one network named ``""`` with inputs
    ``X_i`` and outputs ``Y_j``), into a :class:`LinearQuery`."""
    if not is_vnnlib2(text):
        p1, disjuncts = parse_disjuncts(text, source)
        n_in, n_out = _count(p1, "X", source), _count(p1, "Y", source)
        decl = NetworkDecl("", "X", "Real", (n_in,), "Y", "Real", (n_out,))
        return LinearQuery([decl], _groups(p1, disjuncts, n_in, n_out, strict_outputs=False), source, "1.0")
    p = _Parser2(source)
    decls: list[NetworkDecl] = []
    disjuncts = [[]]
    cmds = _sexprs(text, source)
    version = _show(cmds[0].items[1]) if len(cmds[0].items) == 2 else ""
    if not re.fullmatch(r"<2\.\d+>", version):
        raise p.fail(cmds[0], "expected (vnnlib-version <2.0>)")
    for cmd in cmds[1:]:
        head = cmd.items[0].text if cmd.items and isinstance(cmd.items[0], _Atom) else None
        if head == "declare-network":
            if len(disjuncts) != 1 or disjuncts[0]:
                raise p.fail(cmd, "networks must be declared before the assertions")
            decls.append(_network(p, cmd, decls))
        elif head == "assert":
            disjuncts = p.assertion(cmd, disjuncts)
        else:
            raise p.fail(cmd, "expected declare-network or assert (VNN-LIB 2.0)")
    if not decls:
        raise InputError(source, "declare-network", None, "no network declared")
    n_in, n_out = sum(d.n_inputs for d in decls), sum(d.n_outputs for d in decls)
    return LinearQuery(decls, _groups(p, disjuncts, n_in, n_out, strict_outputs=True), source, version[1:-1])


def read_query(path: str | Path) -> LinearQuery:
    """Read a VNN-LIB 2.0 or 1.0 file (``.gz`` too) into a :class:`LinearQuery`."""
    return parse_query(read_text(path), str(path))


def _groups(p: _Parser, disjuncts: _DNF, n_in: int, n_out: int, strict_outputs: bool) -> list[InputGroup]:
    """Split every conjunction into input box + input rows and output rows; group equal input
    sets (their output conjunctions form one DNF)."""
    by_input: dict[bytes, InputGroup] = {}
    for conj in disjuncts:
        box = np.array([[-np.inf, np.inf]] * n_in)
        rows: dict[bytes, tuple[np.ndarray, float]] = {}
        out: list[OutRow] = []
        feasible = True
        for lin, node, strict in conj:
            kinds = lin.kinds()
            vec = {k: np.zeros(n_in if k == "X" else n_out) for k in kinds}
            for (kind, i), v in lin.coef.items():
                if v != 0.0:
                    vec[kind][i] += v
            d = 0.0 - lin.const + 0.0
            if kinds == {"X"}:
                a = vec["X"]
                nz = np.flatnonzero(a)
                if len(nz) == 1:
                    i = int(nz[0])
                    if a[i] > 0:
                        box[i, 1] = min(box[i, 1], d / a[i] + 0.0)
                    else:
                        box[i, 0] = max(box[i, 0], d / a[i] + 0.0)
                else:
                    rows.setdefault(a.tobytes() + np.float64(d).tobytes(), (a, d))
            elif kinds == {"Y"}:
                out.append((vec["Y"], d, bool(strict and strict_outputs)))
            elif not kinds:
                feasible = feasible and (lin.const < 0.0 if strict else lin.const <= 0.0)
            else:
                raise p.fail(node, "constraints mixing inputs and outputs are not supported")
        if not feasible or np.any(box[:, 0] > box[:, 1]):
            continue
        key = box.tobytes() + b"|".join(sorted(rows))
        g = by_input.setdefault(key, InputGroup(box, list(rows.values()), []))
        g.dnf.append(out)
    if not by_input:
        raise InputError(p.src, "assert", None, "no assignment can satisfy it as written (contradictory bounds "
                                                "or constant-false constraints)")
    for g in by_input.values():
        g.dnf = _dedupe_out(g.dnf)
    return list(by_input.values())


def _dedupe_out(dnf: list[list[OutRow]]) -> list[list[OutRow]]:
    seen, res = set(), []
    for conj in dnf:
        uniq = list({(c.tobytes(), d, s): (c, d, s) for c, d, s in conj}.values())
        k = tuple(sorted((c.tobytes(), d, s) for c, d, s in uniq))
        if k not in seen:
            seen.add(k)
            res.append(uniq)
    return res


# --------------------------------------------------------------------------- counterexamples
def format_counterexample2(networks: Sequence[NetworkDecl], x: Sequence[float], y: Sequence[float | None],
                           verdict: str | None = "sat") -> str:
    """A counterexample in the VNN-LIB 2.0 form (the VNN-COMP 2026 scorer's): an optional first
    line ``sat``, then per declared variable (each network's input, then its output, in
    declaration order) a header ``NAME TYPE [d1,...]`` and one value per line (``repr`` floats;
    an output that never fires is written ``inf``). ``x`` / ``y`` are the stacked inputs/outputs.

    >>> n = NetworkDecl("f", "X", "float32", (1, 2), "Y", "float32", (1,))
    >>> print(format_counterexample2([n], [0.5, -1.0], [2.0]), end='')
    sat
    X float32 [1,2]
    0.5
    -1.0
    Y float32 [1]
    2.0
    """
    lines = [verdict] if verdict else []
    for n in networks:
        for name, typ, shape, vals in ((n.input_name, n.input_type, n.input_shape,
                                        x[n.input_offset:n.input_offset + n.n_inputs]),
                                       (n.output_name, n.output_type, n.output_shape,
                                        y[n.output_offset:n.output_offset + n.n_outputs])):
            lines.append(f"{name} {typ} [{','.join(map(str, shape))}]")
            lines += [repr(float("inf") if v is None else float(v)) for v in vals]
    return "\n".join(lines) + "\n"


def write_counterexample2(path: str | Path, networks: Sequence[NetworkDecl], x: Sequence[float],
                           y: Sequence[float | None]) -> None:
    """Write :func:`format_counterexample2` (with the leading ``sat`` line) to ``path`` atomically."""
    atomic_write(path, format_counterexample2(networks, x, y), "--cex-out")


def parse_counterexample2(text: str, source: str = "<string>") -> dict[str, np.ndarray]:
    """Read :func:`format_counterexample2` text back: variable name -> values (in the header's shape)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and lines[0] in ("sat", "unsat", "unknown", "timeout", "error"):
        lines = lines[1:]
    out: dict[str, np.ndarray] = {}
    k = 0
    while k < len(lines):
        m = re.fullmatch(r"(\S+)\s+(\S+)\s*\[([\d,\s]*)\]", lines[k])
        if not m:
            raise InputError(source, f"line {k + 1}", lines[k], "expected a header NAME TYPE [d1,...]")
        shape = tuple(int(t) for t in m.group(3).split(",") if t.strip())
        n = math.prod(shape)
        try:
            vals = np.array([float(v) for v in lines[k + 1:k + 1 + n]])
        except ValueError:
            raise InputError(source, f"variable {m.group(1)}", lines[k + 1:k + 1 + n][:3], "values must be numbers") from None
        if len(vals) != n:
            raise InputError(source, f"variable {m.group(1)}", len(vals), f"expected {n} values")
        out[m.group(1)] = vals.reshape(shape)
        k += 1 + n
    return out
