"""VNN-LIB 1.0 properties (the VNN-COMP format) and VNN-COMP counterexample files.

A VNN-LIB file declares the inputs ``X_i`` and outputs ``Y_j`` (``(declare-const X_0 Real)``) and
asserts constraints; the property is *violated* (``sat``) when some input satisfies every assertion.
Supported (everything VNN-COMP benchmarks use):

* ``(assert (<= X_0 0.5))``, ``(>= ...)``, ``(< ...)``, ``(> ...)``, ``(= ...)`` (chained forms too);
* ``(and ...)``, ``(or ...)`` nested freely (converted to disjunctive normal form);
* linear terms ``(+ ...)``, ``(- a)``, ``(- a b ...)``, ``(* c t)``, ``(/ t c)`` with numeric ``c``;
* numbers in decimal or scientific form (``-1.5e-3``), comments ``; ...``.

Input constraints must bound single variables (each disjunct's input set is a box); a constraint
mixing ``X`` and ``Y`` variables or several ``X`` variables is rejected as unsupported. Strict
inequalities are read as non-strict (the VNN-COMP convention: the sets are closed, and a proof of
the closed property proves the strict one).

The result is a :class:`VnnlibProperty`: ``groups`` lists ``(boxes, output_dnf)`` pairs meaning
"some input in one of ``boxes`` whose output satisfies ``output_dnf``", where ``output_dnf`` is a
list of conjunctions (lists) of rows ``(c, d)`` meaning ``c . Y <= d``. Almost every file has one
group; ``input_boxes`` / ``output_dnf`` then give it directly.

>>> p = parse_vnnlib('''
... (declare-const X_0 Real) (declare-const Y_0 Real) (declare-const Y_1 Real)
... (assert (>= X_0 -1)) (assert (<= X_0 1.5e0))   ; the input box
... (assert (or (and (>= Y_0 Y_1)) (and (<= Y_0 -2))))''')
>>> p.n_inputs, p.n_outputs, p.input_box.tolist()
(1, 2, [[-1.0, 1.5]])
>>> [[(c.tolist(), d) for c, d in conj] for conj in p.output_dnf]
[[([-1.0, 1.0], 0.0)], [([1.0, 0.0], -2.0)]]
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from ..errors import InputError
from ..limits import MAX_NESTING, check_count
from .files import atomic_write, read_text

#: A conjunction of output rows ``c . Y <= d``; an output DNF is a list of them (OR of ANDs).
OutputDNF = list[list[tuple[np.ndarray, float]]]

_MAX_DISJUNCTS = 100_000
#: Tokens: parentheses, and atoms; a name followed by an index list (``X[0,1]``, ``X [0]``, the
#: VNN-LIB 2.0 tensor elements) is one atom.
_TOKEN = re.compile(r"\(|\)|[^\s()\[\]]*(?:\s*\[[^\]()]*\])|[^\s()]+")
_VAR = re.compile(r"([XY])_(\d+)$")


# --------------------------------------------------------------------------- s-expressions
@dataclass(frozen=True)
class _Atom:
    text: str
    line: int


@dataclass(frozen=True)
class _List:
    items: tuple
    line: int


_Node = Union[_Atom, _List]


def _sexprs(text: str, src: str) -> list[_List]:
    """Top-level s-expressions of ``text`` (comments removed), each node tagged with its line."""
    stack: list[tuple[list, int]] = [([], 0)]
    for lineno, line in enumerate(text.splitlines(), start=1):
        for tok in _TOKEN.findall(line.split(";", 1)[0]):
            if tok == "(":
                if len(stack) > MAX_NESTING:
                    raise InputError(src, f"line {lineno}", "(", f"nested deeper than {MAX_NESTING} "
                                                                 "(srmverify.limits.MAX_NESTING)")
                stack.append(([], lineno))
            elif tok == ")":
                if len(stack) == 1:
                    raise InputError(src, f"line {lineno}", ")", "unbalanced closing parenthesis")
                items, start = stack.pop()
                stack[-1][0].append(_List(tuple(items), start))
            else:
                stack[-1][0].append(_Atom(tok, lineno))
    if len(stack) > 1:
        raise InputError(src, f"line {stack[-1][1]}", "(", "parenthesis never closed")
    for node in stack[0][0]:
        if isinstance(node, _Atom):
            raise InputError(src, f"line {node.line}", node.text, "expected a parenthesised command")
    return stack[0][0]


def _show(node: _Node) -> str:
    if isinstance(node, _Atom):
        return node.text
    return "(" + " ".join(_show(i) for i in node.items) + ")"


# --------------------------------------------------------------------------- linear terms
class _Lin:
    """A linear form ``sum coef[var] * var + const`` over variables ``("X", i)`` / ``("Y", j)``."""

    __slots__ = ("coef", "const")

    def __init__(self, coef: dict | None = None, const: float = 0.0) -> None:
        self.coef, self.const = coef or {}, const

    def add(self, other: "_Lin", s: float = 1.0) -> "_Lin":
        coef = dict(self.coef)
        for k, v in other.coef.items():
            coef[k] = coef.get(k, 0.0) + s * v
        return _Lin(coef, self.const + s * other.const)

    def scale(self, s: float) -> "_Lin":
        return _Lin({k: s * v for k, v in self.coef.items()}, s * self.const)

    def kinds(self) -> set[str]:
        return {k[0] for k, v in self.coef.items() if v != 0.0}


#: one atom of a formula in normal form: ``(lin, node, strict)`` meaning ``lin <= 0`` (``< 0`` if strict)
_Row = tuple[_Lin, _Node, bool]
#: a formula in disjunctive normal form: a list of conjunctions of atoms
_DNF = list[list[_Row]]


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.declared: dict[str, set[int]] = {"X": set(), "Y": set()}

    def fail(self, node: _Node, problem: str) -> InputError:
        return InputError(self.src, f"line {node.line}", _show(node), problem)

    def number(self, node: _Atom) -> float:
        try:
            v = float(node.text)
        except ValueError:
            raise self.fail(node, "expected a number or a declared X_i / Y_j variable") from None
        if not math.isfinite(v):
            raise self.fail(node, "numbers must be finite")
        return v

    def variable(self, node: _Atom) -> _Lin | None:
        """The variable an atom names (``None``: not a variable name)."""
        m = _VAR.match(node.text)
        if not m:
            return None
        kind, idx = m.group(1), int(m.group(2))
        if idx not in self.declared[kind]:
            raise self.fail(node, "variable used before its declare-const")
        return _Lin({(kind, idx): 1.0})

    def term(self, node: _Node) -> _Lin:
        if isinstance(node, _Atom):
            v = self.variable(node)
            return v if v is not None else _Lin(const=self.number(node))
        if not node.items or not isinstance(node.items[0], _Atom):
            raise self.fail(node, "expected a term")
        op, args = node.items[0].text, [self.term(a) for a in node.items[1:]]
        if not args:
            raise self.fail(node, f"'{op}' needs arguments")
        if op == "+":
            acc = _Lin()
            for a in args:
                acc = acc.add(a)
            return acc
        if op == "-":
            if len(args) == 1:
                return args[0].scale(-1.0)
            acc = args[0]
            for a in args[1:]:
                acc = acc.add(a, -1.0)
            return acc
        if op == "*":
            variable = [a for a in args if a.coef]
            if len(variable) > 1:
                raise self.fail(node, "nonlinear product (only constant * term is supported)")
            factor = math.prod(a.const for a in args if not a.coef)
            return variable[0].scale(factor) if variable else _Lin(const=factor)
        if op == "/":
            if len(args) != 2 or args[1].coef or args[1].const == 0.0:
                raise self.fail(node, "division only by a nonzero numeric constant")
            return args[0].scale(1.0 / args[1].const)
        raise self.fail(node, f"unsupported term operator '{op}'")

    def assertion(self, cmd: _List, disjuncts: _DNF) -> _DNF:
        """``disjuncts`` (a DNF) AND the formula of ``(assert F)``, in disjunctive normal form."""
        if len(cmd.items) != 2:
            raise self.fail(cmd, "assert takes exactly one formula")
        sub = self.formula(cmd.items[1])
        if len(disjuncts) * len(sub) > _MAX_DISJUNCTS:
            raise self.fail(cmd, f"more than {_MAX_DISJUNCTS} disjuncts in normal form")
        return [c + s for c in disjuncts for s in sub]

    def formula(self, node: _Node) -> _DNF:
        """DNF of a boolean formula: a list of conjunctions of atoms ``(lin, node, strict)`` meaning
        ``lin <= 0`` (``lin < 0`` if strict)."""
        if isinstance(node, _Atom):
            if node.text == "true":
                return [[]]
            if node.text == "false":
                return []
            raise self.fail(node, "expected a constraint such as (<= X_0 1)")
        if not node.items or not isinstance(node.items[0], _Atom):
            raise self.fail(node, "expected a constraint such as (<= X_0 1)")
        op, args = node.items[0].text, node.items[1:]
        if op == "and":
            dnf: _DNF = [[]]
            for a in args:
                sub = self.formula(a)
                if len(dnf) * len(sub) > _MAX_DISJUNCTS:
                    raise self.fail(node, f"more than {_MAX_DISJUNCTS} disjuncts in normal form")
                dnf = [c + s for c in dnf for s in sub]
            return dnf
        if op == "or":
            return [c for a in args for c in self.formula(a)]
        if op in ("<=", "<", ">=", ">", "=", "=="):
            if len(args) < 2:
                raise self.fail(node, f"'{op}' needs at least two arguments")
            terms = [self.term(a) for a in args]
            rows: list[_Row] = []
            strict = op in ("<", ">")
            for a, b in zip(terms, terms[1:]):
                if op in ("<=", "<", "=", "=="):
                    rows.append((a.add(b, -1.0), node, strict))
                if op in (">=", ">", "=", "=="):
                    rows.append((b.add(a, -1.0), node, strict))
            return [rows]
        if op == "!=" and len(args) == 2:
            a, b = self.term(args[0]), self.term(args[1])
            return [[(a.add(b, -1.0), node, True)], [(b.add(a, -1.0), node, True)]]
        raise self.fail(node, f"unsupported connective '{op}' (VNN-LIB uses and, or, <=, >=, <, >, =, ==, !=)")


# --------------------------------------------------------------------------- the property
@dataclass
class VnnlibProperty:
    """A parsed VNN-LIB property: ``sat`` iff some input lies in one group's boxes and its output
    satisfies that group's ``output_dnf`` (rows ``c . Y <= d``, OR of ANDs)."""

    n_inputs: int
    n_outputs: int
    groups: list[tuple[list[np.ndarray], OutputDNF]]
    source: str = "<string>"

    @property
    def input_boxes(self) -> list[np.ndarray]:
        """Every input box of the property, each ``(n_inputs, 2)``."""
        return [b for boxes, _ in self.groups for b in boxes]

    @property
    def output_dnf(self) -> OutputDNF:
        """The output condition shared by all input boxes (the usual single-group case)."""
        if len(self.groups) != 1:
            raise InputError(self.source, "assert", f"{len(self.groups)} groups",
                             "different output constraints for different input boxes; use .groups")
        return self.groups[0][1]

    @property
    def input_box(self) -> np.ndarray:
        """The single input box (``InputError`` when the property has a disjunction of boxes)."""
        boxes = self.input_boxes
        if len(boxes) != 1:
            raise InputError(self.source, "input box", f"{len(boxes)} boxes", "expected exactly one input box")
        return boxes[0]


def parse_vnnlib(text: str, source: str = "<string>") -> VnnlibProperty:
    """Parse VNN-LIB text (see the module docstring); ``source`` names it in errors.

    A VNN-LIB 2.0 file (``(vnnlib-version <2.0>)``) is read by :mod:`srmverify.formats.vnnlib2`
    and converted when it is a single-network property over an input box; other 2.0 files
    (several networks, polytope inputs) need :func:`srmverify.formats.vnnlib2.read_query`."""
    if is_vnnlib2(text):
        from .vnnlib2 import parse_query

        return parse_query(text, source).as_box_property()
    p, disjuncts = parse_disjuncts(text, source)
    n_in, n_out = _count(p, "X", source), _count(p, "Y", source)
    return VnnlibProperty(n_in, n_out, _group(p, disjuncts, n_in, n_out), source)


def is_vnnlib2(text: str) -> bool:
    """Whether the first command of ``text`` is ``(vnnlib-version <2.x>)``."""
    body = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    return re.match(r"\s*\(\s*vnnlib-version\b", body) is not None


def parse_disjuncts(text: str, source: str = "<string>") -> tuple[_Parser, _DNF]:
    """The VNN-LIB 1.0 parse: the parser (with the declared variables) and the assertions in
    disjunctive normal form (conjunctions of ``(lin, node, strict)``)."""
    p = _Parser(source)
    disjuncts: _DNF = [[]]
    for cmd in _sexprs(text, source):
        head = cmd.items[0].text if cmd.items and isinstance(cmd.items[0], _Atom) else None
        if head == "declare-const":
            if len(cmd.items) != 3 or not isinstance(cmd.items[1], _Atom) or _show(cmd.items[2]) != "Real":
                raise p.fail(cmd, "expected (declare-const X_i Real) or (declare-const Y_j Real)")
            m = _VAR.match(cmd.items[1].text)
            if not m:
                raise p.fail(cmd, "variables must be named X_<i> (inputs) or Y_<j> (outputs)")
            check_count(int(m.group(2)) + 1, source, f"line {cmd.line}: {m.group(0)}", "MAX_VNNLIB_VARIABLES")
            if int(m.group(2)) in p.declared[m.group(1)]:
                raise p.fail(cmd, "variable declared twice")
            p.declared[m.group(1)].add(int(m.group(2)))
        elif head == "assert":
            disjuncts = p.assertion(cmd, disjuncts)
        elif head in ("check-sat", "get-model", "set-logic", "set-info", "set-option", "exit"):
            continue
        else:
            raise p.fail(cmd, "expected declare-const or assert")
    if not p.declared["X"]:
        raise InputError(source, "declare-const", None, "no input variables X_i declared")
    return p, disjuncts


def read_vnnlib(path: str | Path) -> VnnlibProperty:
    """Read a ``.vnnlib`` (or ``.vnnlib.gz``) file (``InputError`` naming the file, line and
    form when malformed); VNN-LIB 1.0, or 2.0 as :func:`parse_vnnlib` says."""
    return parse_vnnlib(read_text(path), str(path))


def _count(p: _Parser, kind: str, src: str) -> int:
    ids = p.declared[kind]
    n = max(ids) + 1 if ids else 0
    missing = sorted(set(range(n)) - ids)
    if missing:
        raise InputError(src, "declare-const", f"{kind}_{missing[0]}", f"not declared although {kind}_{n - 1} is")
    return n


def _group(p: _Parser, disjuncts: _DNF, n_in: int, n_out: int) -> list[tuple[list[np.ndarray], OutputDNF]]:
    """Split every conjunction into its input box and output rows; group boxes by output DNF."""
    by_box: dict[bytes, tuple[np.ndarray, list]] = {}
    for conj in disjuncts:
        box = np.array([[-np.inf, np.inf]] * n_in)
        rows, feasible = [], True
        for lin, node, _ in conj:
            kinds = lin.kinds()
            if kinds == {"X"}:
                nz = [(k, v) for k, v in lin.coef.items() if v != 0.0]
                if len(nz) != 1:
                    raise p.fail(node, "input constraints must bound one variable (boxes only)")
                (_, i), a = nz[0]
                if a > 0:
                    box[i, 1] = min(box[i, 1], -lin.const / a)
                else:
                    box[i, 0] = max(box[i, 0], -lin.const / a)
            elif kinds == {"Y"}:
                c = np.zeros(n_out)
                for (_, j), v in lin.coef.items():
                    c[j] += v
                rows.append((c, 0.0 - lin.const + 0.0))
            elif not kinds:
                feasible = feasible and lin.const <= 0.0
            else:
                raise p.fail(node, "constraints mixing inputs X and outputs Y are not supported")
        if not feasible or np.any(box[:, 0] > box[:, 1]):
            continue
        unbounded = np.flatnonzero(~np.isfinite(box).all(axis=1))
        if unbounded.size:
            raise InputError(p.src, f"X_{int(unbounded[0])}", box[unbounded[0]].tolist(),
                             "every input needs a lower and an upper bound")
        key = box.tobytes()
        by_box.setdefault(key, (box, []))[1].append(_dedupe(rows))
    if not by_box:
        raise InputError(p.src, "assert", None, "no assignment can satisfy it as written (contradictory bounds or constant-false constraints)")
    groups: dict[bytes, tuple[list[np.ndarray], OutputDNF]] = {}
    for box, dnf in by_box.values():
        dnf = _dedupe_dnf(dnf)
        key = repr([[(c.tolist(), d) for c, d in conj] for conj in dnf]).encode()
        groups.setdefault(key, ([], dnf))[0].append(box)
    return list(groups.values())


def _dedupe(rows: list) -> list:
    seen, out = set(), []
    for c, d in rows:
        k = (c.tobytes(), d)
        if k not in seen:
            seen.add(k)
            out.append((c, d))
    return out


def _dedupe_dnf(dnf: list) -> list:
    seen, out = set(), []
    for conj in dnf:
        k = tuple(sorted((c.tobytes(), d) for c, d in conj))
        if k not in seen:
            seen.add(k)
            out.append(conj)
    return out


# --------------------------------------------------------------------------- counterexamples
def format_counterexample(x: Sequence[float], y: Sequence[float | None]) -> str:
    """A counterexample in the VNN-COMP form ``((X_0 v) ... (Y_0 v) ...)`` (``repr`` floats).

    An output that never fires (``None`` / ``inf``) has no VNN-LIB value: it is written as a
    comment line instead of an assignment.

    >>> print(format_counterexample([0.5, 1.0], [0.25]), end='')
    ((X_0 0.5)
     (X_1 1.0)
     (Y_0 0.25))
    """
    lines = [f"(X_{i} {float(v)!r})" for i, v in enumerate(x)]
    notes = []
    for j, v in enumerate(y):
        if v is None or not math.isfinite(float(v)):
            notes.append(f"; Y_{j}: the output neuron never fires")
        else:
            lines.append(f"(Y_{j} {float(v)!r})")
    return "\n".join(["(" + "\n ".join(lines) + ")"] + notes) + "\n"


def write_counterexample(path: str | Path, x: Sequence[float], y: Sequence[float | None]) -> None:
    """Write :func:`format_counterexample` to ``path`` atomically."""
    atomic_write(path, format_counterexample(x, y), "--cex-out")


def read_counterexample(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a VNN-COMP counterexample (an optional ``sat`` line, then ``((X_0 v) ... (Y_0 v))``)
    back into ``(x, y)``; outputs without a value are ``inf``."""
    text = re.sub(r"^\s*sat\b", "", read_text(path))
    p = _Parser(str(path))
    values: dict[str, dict[int, float]] = {"X": {}, "Y": {}}
    forms = _sexprs(text, str(path))
    if len(forms) != 1:
        raise InputError(str(path), "counterexample", f"{len(forms)} forms", "expected one ((X_0 v) ...) list")
    for pair in forms[0].items:
        well_formed = isinstance(pair, _List) and len(pair.items) == 2 and all(isinstance(i, _Atom) for i in pair.items)
        m = _VAR.match(pair.items[0].text) if well_formed else None
        if m is None:
            raise p.fail(pair, "expected (X_i value) or (Y_j value)")
        values[m.group(1)][int(m.group(2))] = p.number(pair.items[1])
    nx = max(values["X"], default=-1) + 1
    ny = max(values["Y"], default=-1) + 1
    x = np.array([values["X"].get(i, np.nan) for i in range(nx)])
    if np.isnan(x).any():
        raise InputError(str(path), "counterexample", f"X_{int(np.flatnonzero(np.isnan(x))[0])}", "missing input value")
    return x, np.array([values["Y"].get(j, np.inf) for j in range(ny)])
