"""Exact dyadic arithmetic on arrays: the vectorised rational engine of conversion and certificates.

Every float64 is a dyadic rational ``m * 2**e``. A :class:`Dyadic` array stores Python integers
(a numpy ``object`` array) and one shared exponent, so sums, products and dot products of float
parameters are computed *exactly* with C-speed loops over Python ints (no gcd work as with
``Fraction``). The checks of the certificate only add and multiply float parameters and
previously derived dyadics, so every value they need stays dyadic.

Examples
--------
>>> a = Dyadic.from_floats([0.1, 0.2])
>>> a.sum().fraction() == Fraction(0.1) + Fraction(0.2), a.sum().fraction() == Fraction(0.3)
(True, False)
>>> Dyadic.from_floats([[1.5, -2.0]]).dot(Dyadic.from_floats([2.0, 0.25])).fractions()
[Fraction(5, 2)]
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InexactValue


def _ints(shape: tuple[int, ...], value: int = 0) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.fill(value)
    return out


class Dyadic:
    """An array of exact dyadic rationals ``n * 2**exp`` (``n``: object array of Python ints)."""

    __slots__ = ("n", "exp")

    def __init__(self, n: np.ndarray, exp: int) -> None:
        self.n = n
        self.exp = int(exp)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_floats(cls, x: Any) -> "Dyadic":
        """Exact value of float64 data (any shape)."""
        x = np.asarray(x, dtype=float)
        if not np.all(np.isfinite(x)):
            raise InexactValue("non-finite value has no exact dyadic form")
        m, e = np.frexp(x)
        mant = (m * 2.0 ** 53).astype(np.int64)
        e = e.astype(np.int64) - 53
        nz = mant != 0
        base = int(e[nz].min()) if nz.any() else 0
        shift = np.where(nz, e - base, 0)
        n = np.left_shift(mant.astype(object), shift.astype(object)) if x.size else mant.astype(object)
        return cls(np.asarray(n, dtype=object).reshape(x.shape), base)

    @classmethod
    def from_fractions(cls, values: Any) -> "Dyadic":
        """Exact dyadic array from Fractions/ints (raises :class:`~srmverify.errors.InexactValue` if one is not dyadic)."""
        vals = [Fraction(v) for v in np.asarray(values, dtype=object).reshape(-1)]
        shape = np.shape(np.asarray(values, dtype=object))
        exps = []
        for v in vals:
            d = v.denominator
            if d & (d - 1):
                raise InexactValue(f"{v} is not a dyadic rational")
            exps.append(-(d.bit_length() - 1))
        base = min(exps, default=0)
        n = np.array([v.numerator << (e - base) for v, e in zip(vals, exps)] or [], dtype=object)
        return cls(n.reshape(shape), base)

    @classmethod
    def concat(cls, *parts: "Dyadic") -> "Dyadic":
        """Concatenate 1-D arrays."""
        e = min(p.exp for p in parts)
        return cls(np.concatenate([p.at(e) for p in parts]).astype(object), e)

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> "Dyadic":
        return cls(_ints(shape), 0)

    # ------------------------------------------------------------------ helpers
    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    def at(self, exp: int) -> np.ndarray:
        """The integers of this array over the denominator ``2**-exp`` (``exp <= self.exp``)."""
        if exp > self.exp:
            raise InexactValue("can only rescale to a finer exponent")
        return self.n if exp == self.exp else np.left_shift(self.n, self.exp - exp)

    @staticmethod
    def _align(a: "Dyadic", b: "Dyadic") -> tuple[np.ndarray, np.ndarray, int]:
        e = min(a.exp, b.exp)
        return a.at(e), b.at(e), e

    def __getitem__(self, idx) -> "Dyadic":
        return Dyadic(np.asarray(self.n[idx], dtype=object), self.exp)

    def __add__(self, other: "Dyadic") -> "Dyadic":
        a, b, e = self._align(self, other)
        return Dyadic(np.asarray(a + b, dtype=object), e)

    def __sub__(self, other: "Dyadic") -> "Dyadic":
        a, b, e = self._align(self, other)
        return Dyadic(np.asarray(a - b, dtype=object), e)

    def __neg__(self) -> "Dyadic":
        return Dyadic(np.asarray(-self.n, dtype=object), self.exp)

    def __mul__(self, other: "Dyadic") -> "Dyadic":
        return Dyadic(np.asarray(self.n * other.n, dtype=object), self.exp + other.exp)

    def half(self) -> "Dyadic":
        return Dyadic(self.n, self.exp - 1)

    def dot(self, other: "Dyadic") -> "Dyadic":
        """Matrix product ``self @ other`` (exact; see :func:`exact_matmul`)."""
        return Dyadic(exact_matmul(self.n, other.n), self.exp + other.exp)

    def sum(self, axis: int | None = None) -> "Dyadic":
        if self.n.size == 0:
            shape = np.empty(self.shape).sum(axis=axis).shape
            return Dyadic(_ints(shape), self.exp)
        return Dyadic(np.asarray(self.n.sum(axis=axis), dtype=object), self.exp)

    def pos(self) -> "Dyadic":
        """Elementwise ``max(0, x)``."""
        return Dyadic(np.where(self.n > 0, self.n, 0).astype(object), self.exp)

    def where(self, mask: np.ndarray, other: "Dyadic") -> "Dyadic":
        a, b, e = self._align(self, other)
        return Dyadic(np.where(mask, a, b).astype(object), e)

    def cmp(self, other: "Dyadic") -> np.ndarray:
        """Elementwise sign of ``self - other`` as an int array (-1, 0, 1)."""
        a, b, _ = self._align(self, other)
        d = a - b
        return np.sign(np.asarray(d, dtype=object)).astype(np.int64)

    def max(self, axis: int, mask: np.ndarray) -> "Dyadic":
        """Maximum along ``axis`` over the entries where ``mask`` is True (each row needs one)."""
        lowest = min(self.n[mask].tolist(), default=0) - 1
        return Dyadic(np.asarray(np.where(mask, self.n, lowest).max(axis=axis), dtype=object), self.exp)

    # ------------------------------------------------------------------ conversions
    def fraction(self, i: Any = ()) -> Fraction:
        """One entry as a Fraction."""
        v = int(self.n[i])
        return Fraction(v << self.exp) if self.exp >= 0 else Fraction(v, 1 << -self.exp)

    def fractions(self) -> list[Fraction]:
        """All entries (flattened) as Fractions."""
        return [self.fraction(np.unravel_index(k, self.shape)) for k in range(self.n.size)]

    def floor(self) -> np.ndarray:
        """Elementwise floor as Python ints (object array)."""
        if self.exp >= 0:
            return np.left_shift(self.n, self.exp)
        return np.right_shift(self.n, -self.exp)  # arithmetic shift floors negatives too

    @classmethod
    def from_ints(cls, n: Any) -> "Dyadic":
        return cls(np.asarray(n, dtype=object), 0)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Dyadic({[str(f) for f in self.fractions()]})"


#: Below this many multiply-adds (and for matrix-vector products) the plain object-array product is used.
SMALL_PRODUCT = 20_000


def _limbs(x: np.ndarray, bits: int) -> list[np.ndarray]:
    """Signed base-``2**bits`` digits of Python ints as float64 arrays: ``x = Σ_i limbs[i] 2**(bits i)``."""
    neg = np.asarray(x < 0, dtype=bool)
    mag = np.abs(x)
    mask = (1 << bits) - 1
    out = []
    while np.any(mag != 0):
        digit = np.asarray(mag & mask).astype(np.int64)
        out.append(np.where(neg, -digit, digit).astype(np.float64))
        mag = mag >> bits
    return out


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact ``a @ b`` of Python-int (object) arrays, fast: both sides are split into signed digits
    small enough that every float64 BLAS product and partial sum is an integer below ``2**53``
    (hence exact in any summation order); the digit products are recombined with Python ints.

    >>> a = np.array([[3**60, -(2**70) + 1], [5, 7]], dtype=object)
    >>> b = np.array([[2**65 + 3, 1], [-(3**41), 2]], dtype=object)
    >>> bool(np.all(exact_matmul(a, b) == a.dot(b)))
    True
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    shape = np.empty(a.shape, dtype=np.int8).dot(np.empty(b.shape, dtype=np.int8)).shape if a.size and b.size else None
    inner = a.shape[-1] if a.ndim else 0
    if shape is None:
        shape = np.empty(a.shape)[..., :0].dot(np.empty(b.shape)[:0]).shape if a.ndim else ()
        return _ints(shape)
    work = a.size * (b.shape[-1] if b.ndim == 2 else 1)
    if work < SMALL_PRODUCT or b.ndim < 2 or a.ndim < 2 or a.shape[0] < 8:   # splitting costs ~ a.size + b.size
        return np.asarray(a.dot(b), dtype=object)
    bits = max(1, (52 - int(inner).bit_length()) // 2)
    la, lb = _limbs(a, bits), _limbs(b, bits)
    acc: dict[int, np.ndarray] = {}
    for i, ai in enumerate(la):
        for j, bj in enumerate(lb):
            p = (ai @ bj).astype(np.int64)            # exact: |entries| < 2**52
            acc[i + j] = acc[i + j] + p if i + j in acc else p   # at most ~10 terms: < 2**56
    out = _ints(shape)
    for k, v in acc.items():
        out = out + np.left_shift(v.astype(object), bits * k)
    return np.asarray(out, dtype=object)


def float_expansion(r: Fraction, limit: int = 64) -> list[float]:
    """Floats whose exact sum is ``r`` (greedy nearest-float remainders); ``[]`` for zero.

    >>> from fractions import Fraction
    >>> xs = float_expansion(Fraction(1, 3) - Fraction(1, 3) % Fraction(1, 2**80))
    >>> sum(map(Fraction, xs)) == Fraction(1, 3) - Fraction(1, 3) % Fraction(1, 2**80), len(xs)
    (True, 2)
    """
    out: list[float] = []
    while r:
        f = float(r)
        out.append(f)
        r -= Fraction(f)
        if len(out) > limit:
            raise InexactValue("rational needs too many floats (not dyadic?)")
    return out
