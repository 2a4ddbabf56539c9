"""A small backend-neutral optimisation program: the one thing every encoding writes.

Variables are bounded reals or binaries; constraints are linear rows with sense ``<=``, ``<``
or ``==``, *blocks* of rows given as arrays (:meth:`Program.add_rows` sparse, :meth:`Program.add_block`
dense; for vectorised encodings) and *implications* ``(b_1 = v_1 and ... ) => row``. A ReLU term ``y = max(0, e)`` is
written with :meth:`Program.relu` as rows on one binary with constants from the bounds of ``e``
(the ReLU's triangle, :func:`relu_rows`; no binary when the bounds fix its sign). The lowering to a MILP (big-M from the variable bounds, strict
rows as ``<= rhs - tau``) lives in :mod:`srmverify.solvers.bigm`; the lowering to z3 (exact
rationals, strict rows exact, implications as ``Implies``) in :mod:`srmverify.solvers.z3_smt`.

Coefficients are exact rationals (:class:`fractions.Fraction` of the float64 network parameters)
and every arithmetic step on expressions is exact, so the exact backend sees the true network;
the MILP lowering rounds them to floats once. A program meant only for a MILP solver can be built
inside :func:`float_arithmetic` (like :func:`decimal.localcontext`): expressions then keep plain
floats, which is an order of magnitude cheaper; :attr:`Program.exact` records the mode. A
vectorised encoding computes on :func:`numbers` arrays (exact objects, or floats inside
:func:`float_arithmetic`) so that one code serves both modes.

Examples
--------
>>> p = Program()
>>> x = p.var("x", -1, 2)
>>> y, b = p.relu(Lin({x: 1.0}), -1, 2, name="y")
>>> p.maximize(Lin({y: 1.0}))
>>> len(p.rows), len(p.implications), p.binary[b]
(3, 0, True)
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Union

import math

import numpy as np

from ..errors import InputError
from ..settings import DEFAULT

SENSES = ("<=", "<", "==")


#: A coefficient: exact (``int`` / ``Fraction``), or ``float`` inside :func:`float_arithmetic`.
Number = Union[int, float, Fraction]

_EXACT: ContextVar[bool] = ContextVar("srmverify_exact_arithmetic", default=True)


@contextmanager
def float_arithmetic() -> Iterator[None]:
    """Build expressions with float coefficients inside this block (for programs that only a
    MILP solver will see; see the module docstring).

    >>> with float_arithmetic():
    ...     type(Lin({0: 0.1}).coef[0]).__name__, Program().exact
    ('float', False)
    >>> type(Lin({0: 0.1}).coef[0]).__name__
    'Fraction'
    """
    token = _EXACT.set(False)
    try:
        yield
    finally:
        _EXACT.reset(token)


def exact(x) -> Number:
    """The exact rational value of a number (floats exactly); integral values stay ``int``
    (much faster arithmetic for the many unit coefficients). Inside :func:`float_arithmetic`
    a float stays a float."""
    t = type(x)
    if t is int or t is Fraction:
        return x
    x = float(x)
    if x.is_integer():
        return int(x)
    return Fraction(x) if _EXACT.get() else x


def numbers(a) -> np.ndarray:
    """The numbers of a float array for a vectorised encoding: an object array of their exact
    values (:func:`exact`), or inside :func:`float_arithmetic` the float array itself. numpy's
    elementwise operations and ``np.add.at`` on such arrays are exact arithmetic in the first case.

    >>> numbers([0.5, 2.0]).tolist(), numbers([0.5, 2.0]).dtype
    ([Fraction(1, 2), 2], dtype('O'))
    >>> with float_arithmetic():
    ...     numbers([0.5, 2.0]).dtype
    dtype('float64')
    """
    a = np.asarray(a, dtype=float)
    if not _EXACT.get():
        return a
    out = np.empty(a.shape, dtype=object)
    out.reshape(-1)[:] = [exact(x) for x in a.reshape(-1).tolist()]
    return out


@dataclass
class Lin:
    """A linear expression ``sum coef[v] * var_v + const`` with exact rational coefficients
    (numbers given as floats are converted exactly)."""

    coef: dict[int, Number] = field(default_factory=dict)
    const: Number = 0

    def __post_init__(self) -> None:
        self.coef = {int(k): exact(v) for k, v in self.coef.items()}
        self.const = exact(self.const)

    @staticmethod
    def _raw(coef: dict[int, Number], const: Number) -> "Lin":
        """Construct from values that are already exact (internal fast path)."""
        out = object.__new__(Lin)
        out.coef, out.const = coef, const
        return out

    def __add__(self, other: "Lin") -> "Lin":
        c = dict(self.coef)
        for k, v in other.coef.items():
            c[k] = c.get(k, 0) + v
        return Lin._raw(c, self.const + other.const)

    def __sub__(self, other: "Lin") -> "Lin":
        c = dict(self.coef)
        for k, v in other.coef.items():
            c[k] = c.get(k, 0) - v
        return Lin._raw(c, self.const - other.const)

    def scaled(self, s) -> "Lin":
        s = exact(s)
        if s == 1:
            return Lin._raw(dict(self.coef), self.const)
        return Lin._raw({k: s * v for k, v in self.coef.items()}, s * self.const)

    @staticmethod
    def var(v: int, c: float = 1) -> "Lin":
        return Lin._raw({int(v): exact(c)}, 0)

    @staticmethod
    def constant(c: float) -> "Lin":
        return Lin._raw({}, exact(c))

    @staticmethod
    def sum(terms: Iterable["Lin"]) -> "Lin":
        coef: dict[int, Number] = {}
        const: Number = 0
        for t in terms:
            for k, v in t.coef.items():
                coef[k] = coef.get(k, 0) + v
            const += t.const
        return Lin._raw(coef, const)


@dataclass
class Row:
    """``lin <sense> 0`` (the constant of ``lin`` carries the right-hand side)."""

    lin: Lin
    sense: str
    name: str = ""


@dataclass
class Block:
    """Rows ``sum of val[e] * x[col[e]] over the entries e with row[e] = r  <sense>  rhs[r]``
    (sense ``<=`` or ``==``; repeated ``(row, col)`` entries add up): a vectorised encoding (a
    branch-and-bound leaf, the static neurons of an SNN) writes its rows at once instead of one
    :class:`Lin` each. ``val`` and ``rhs`` are float arrays, or object arrays of exact numbers
    (:func:`numbers`) in an exact program."""

    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    rhs: np.ndarray
    sense: str = "<="
    name: str = ""


@dataclass
class Implication:
    """``(all binary[v] == val for v, val in literals) => row``."""

    literals: tuple[tuple[int, int], ...]
    row: Row


class Program:
    """Variables, rows, implications and an objective (see the module docstring)."""

    def __init__(self) -> None:
        #: ``False`` when built inside :func:`float_arithmetic` (a MILP-only program).
        self.exact = _EXACT.get()
        self.names: list[str] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.binary: list[bool] = []
        self.rows: list[Row] = []
        self.blocks: list[Block] = []
        self.implications: list[Implication] = []
        self.objective: Lin | None = None
        self.maximizing = True

    @property
    def n_vars(self) -> int:
        return len(self.names)

    @property
    def n_binaries(self) -> int:
        return int(sum(self.binary))

    def var(self, name: str, lo: float = -np.inf, hi: float = np.inf, binary: bool = False) -> int:
        """Add a variable; returns its index."""
        if binary:
            lo, hi = max(0.0, lo), min(1.0, hi)
        self.names.append(name)
        self.lo.append(float(lo))
        self.hi.append(float(hi))
        self.binary.append(binary)
        return len(self.names) - 1

    def add(self, lin: Lin, sense: str, rhs: float = 0.0, name: str = "") -> None:
        """Add the row ``lin <sense> rhs`` (sense ``<=``, ``<``, ``==`` or ``>=``/``>``)."""
        self.rows.append(_row(lin, sense, rhs, name))

    def add_block(self, cols, A, rhs, name: str = "") -> None:
        """Add the dense rows ``A @ x[cols] <= rhs`` (``A``: one row per entry of ``rhs``, one
        column per variable index in ``cols``; binaries count as 0/1).

        >>> p = Program(); x = p.var("x", 0, 1); y = p.var("y", 0, 1)
        >>> p.add_block([x, y], [[1.0, 1.0], [-1.0, 0.0]], [1.5, -0.25])
        >>> len(p.blocks), p.blocks[0].row.tolist(), p.blocks[0].col.tolist()
        (1, [0, 0, 1], [0, 1, 0])
        """
        A, rhs = np.atleast_2d(np.asarray(A, dtype=float)), np.asarray(rhs, dtype=float).reshape(-1)
        cols = np.asarray(cols, dtype=np.int64).reshape(-1)
        if A.shape != (len(rhs), len(cols)):
            raise InputError("program", "block", f"{A.shape}", f"needs {len(rhs)} rows x {len(cols)} columns")
        r, c = np.nonzero(A)
        self.blocks.append(Block(r, cols[c], A[r, c], rhs, "<=", name))

    def add_rows(self, row, col, val, rhs, sense: str = "<=", name: str = "") -> None:
        """Add the sparse rows of a :class:`Block`: entry ``e`` puts ``val[e] * x[col[e]]`` in
        row ``row[e]`` (repeats add up), row ``r`` is ``<sense> rhs[r]`` (``<=`` or ``==``).
        ``val`` and ``rhs`` as :func:`numbers` keeps an exact program exact.

        >>> p = Program(); x = p.var("x", 0, 1); y = p.var("y", 0, 1)
        >>> p.add_rows([0, 0, 0], [x, y, x], numbers([1.0, -1.0, 0.5]), numbers([0.25]), "==")
        >>> b = p.blocks[0]; b.sense, b.val.tolist(), b.rhs.tolist()        # 1.5 x - y == 0.25
        ('==', [1, -1, Fraction(1, 2)], [Fraction(1, 4)])
        """
        row, col = np.asarray(row, dtype=np.int64).reshape(-1), np.asarray(col, dtype=np.int64).reshape(-1)
        val, rhs = np.asarray(val).reshape(-1), np.asarray(rhs).reshape(-1)
        if sense not in ("<=", "==") or len(row) != len(col) or len(row) != len(val) or \
                (len(row) and not 0 <= row.min() <= row.max() < len(rhs)):
            raise InputError("program", "rows", f"{len(row)} entries, {len(rhs)} rows, sense {sense}",
                             "needs one row, column and value per entry, rows in range, sense <= or ==")
        self.blocks.append(Block(row, col, val, rhs, sense, name))

    def implies(self, literals: Iterable[tuple[int, int]], lin: Lin, sense: str, rhs: float = 0.0,
                name: str = "") -> None:
        """Add ``(literals all hold) => lin <sense> rhs``; an empty literal list is a plain row."""
        lits = tuple((int(v), int(val)) for v, val in literals)
        row = _row(lin, sense, rhs, name)
        if lits:
            self.implications.append(Implication(lits, row))
        else:
            self.rows.append(row)

    def relu(self, e: Lin, lo: float, hi: float, name: str = "relu") -> tuple[int, int | None]:
        """``y = max(0, e)`` for ``e`` in ``[lo, hi]`` (sound bounds of ``e``); returns ``(y, b)``
        with the binary ``b`` (``b = 1`` iff ``e >= 0`` on the active branch) or ``None`` when the
        sign is fixed.

        A stable term (``lo >= 0`` or ``hi <= 0``) is a plain equality, not a binary. An unstable
        one is the four rows of the ReLU's triangle, with its constants (:func:`relu_rows`).
        """
        y = self.var(name, max(0.0, lo), max(0.0, hi))
        if lo >= 0:
            self.add(Lin.var(y) - e, "==", 0.0, name)
            return y, None
        if hi <= 0:
            self.add(Lin.var(y), "==", 0.0, name)
            return y, None
        b = self.var(name + ".on", binary=True)
        self.add(e - Lin.var(y), "<=", 0.0, name)          # y >= e (and y >= 0: its bound, which both backends take)
        relu_rows(self, y, e, b, lo, hi, name)
        return y, b

    def maximize(self, lin: Lin) -> None:
        self.objective, self.maximizing = lin, True

    def minimize(self, lin: Lin) -> None:
        self.objective, self.maximizing = lin, False

    def copy(self) -> "Program":
        p = Program()
        p.exact = self.exact
        p.names, p.lo, p.hi, p.binary = list(self.names), list(self.lo), list(self.hi), list(self.binary)
        p.rows, p.blocks, p.implications = list(self.rows), list(self.blocks), list(self.implications)
        p.objective, p.maximizing = self.objective, self.maximizing
        return p


def relu_rows(p: Program, y: int, e: Lin, b: int, lo: float, hi: float, name: str = "relu") -> None:
    """The upper rows of ``y = b * e`` for a binary ``b`` and sound bounds ``lo <= e <= hi``:
    ``y <= e - lo (1 - b)`` and ``y <= hi b`` (the constants widened by
    :attr:`~srmverify.settings.Settings.bound_margin`). With ``y >= 0`` and ``y >= e`` when
    ``b = 1`` (a row for a ReLU, an implication for a gated term) ``y = b * e`` exactly; and,
    unlike the implications ``b = 1 => y <= e``, ``b = 0 => y <= 0`` (whose big-M the lowering
    takes over the bounds of ``y`` too: ``hi - lo``), the relaxation of a ReLU is its triangle,
    the tightest on ``[lo, hi]``.

    >>> p = Program(); x = p.var("x", -1, 2); y = p.var("y", 0, 2); b = p.var("b", binary=True)
    >>> relu_rows(p, y, Lin.var(x), b, -1.0, 2.0)
    >>> [[round(float(r.lin.coef.get(v, 0)), 6) for v in (x, y, b)] + [float(r.lin.const)] for r in p.rows]
    [[-1.0, 1.0, 1.0, -1.000000002], [0.0, 1.0, -2.0, 0.0]]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):        # the lowering's big-M (an error there if needed)
        p.implies([(b, 1)], Lin.var(y) - e, "<=", 0.0, name)
        p.implies([(b, 0)], Lin.var(y), "<=", 0.0, name)
        return
    m_lo = exact(lo - DEFAULT.bound_margin * (1 + abs(lo)))
    m_hi = exact(hi + DEFAULT.bound_margin * (1 + abs(hi)))
    on = Lin._raw({v: -c for v, c in e.coef.items()}, m_lo - e.const)
    on.coef[y] = on.coef.get(y, 0) + 1
    on.coef[b] = on.coef.get(b, 0) - m_lo
    p.rows.append(Row(on, "<=", name))                            # on: y <= e;  off: y <= e - lo
    p.rows.append(Row(Lin._raw({y: 1, b: -m_hi}, 0), "<=", name))  # off: y <= 0; on: y <= hi


def _row(lin: Lin, sense: str, rhs: float, name: str) -> Row:
    e = Lin._raw(dict(lin.coef), lin.const - exact(rhs))
    if sense in (">=", ">"):
        e, sense = e.scaled(-1), sense.replace(">", "<")
    if sense not in SENSES:
        raise InputError("program", "sense", sense, f"choose one of {', '.join(SENSES)}")
    return Row(e, sense, name)
