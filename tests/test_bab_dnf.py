"""The DNF branch and bound (srmverify.verify.bab.decide_dnf: conjunctions of linear atoms over
the stacked outputs), its forward symbolic bounds and the PGD attack, against independent
computations: the full big-M MILP and z3 on the whole program, dense sampling, exact rationals."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings, strategies as st

from srmverify.bounds.relu import backsubstitute, conjunction_lower_bound, forward_bounds_batch
from srmverify.simulate import relu_exact
from srmverify.verify.attack import gradient, margins, pgd
from srmverify.verify.bab import decide_dnf
from srmverify.verify.pipeline import Atom, find_violation

sys.path.insert(0, str(Path(__file__).parent))
from engine_nets import random_box, random_relu  # noqa: E402


def make_net(seed: int, widths, scale: str):
    """``fanin``: engine_nets' scaling; ``unit``: weights and biases N(0, 1) (many unstable ReLUs)."""
    rng = np.random.default_rng(seed)
    if scale == "fanin":
        return random_relu(rng, widths)
    from srmverify.network import ReLUNet
    return ReLUNet([(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(widths, widths[1:])])


def make_box(seed: int, n: int) -> np.ndarray:
    return random_box(np.random.default_rng(seed + 1), n)


def _dnf(rng: np.random.Generator, net, box, m: int) -> list[list[Atom]]:
    """1-2 conjunctions of 2-3 atoms ``c @ Y <= d`` with ``d`` near the values at sampled points
    (so both verdicts occur)."""
    X = box[:, 0] + rng.random((64, box.shape[0])) * (box[:, 1] - box[:, 0])
    Y = net.evaluate(X)
    dnf = []
    for _ in range(rng.integers(1, 3)):
        conj = []
        for _ in range(rng.integers(2, 4)):
            c = rng.normal(size=m)
            v = Y @ c
            conj.append(Atom(c, float(np.quantile(v, rng.uniform(0.0, 0.6)) + rng.normal(0, 0.1)),
                             strict=bool(rng.integers(2))))
        dnf.append(conj)
    return dnf


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1))
@example(8325)   # satisfied by an exact margin of -1.8e-17: the check must be exact, not float
def test_conjunctions_branch_and_bound_agrees_with_milp_and_z3(seed):
    """A DNF with conjunctions on a ReLU net with few inputs goes through decide_dnf; the same
    query as one MILP of the whole network (a no-op input constraint disables the branch and
    bound) and exactly by z3 must give the same verdict, and a sat point must satisfy a
    conjunction in exact arithmetic."""
    rng = np.random.default_rng(seed)
    net = make_net(seed, (3, 6, 6, 3), "fanin")
    box = make_box(seed, 3)
    dnf = _dnf(rng, net, box, 3)
    bab = find_violation([net], box, dnf, query="t", engine="highs", falsify=False)
    milp = find_violation([net], box, dnf, query="t", engine="highs", falsify=False, constraint=lambda p, x: None)
    exact = find_violation([net], box, dnf, query="t", engine="z3", falsify=False, timeout=60)
    assert bab.stats.get("found_by") == "branch and bound"
    assert bab.verdict == milp.verdict == exact.verdict, (bab.message, milp.message, exact.message)
    if bab.counterexample is not None:
        y = relu_exact(net, bab.counterexample.exact_input)
        lhs = lambda a: sum(Fraction(float(ci)) * yi for ci, yi in zip(a.c, y))     # exact rationals
        assert any(all(lhs(a) < Fraction(a.d) if a.strict else lhs(a) <= Fraction(a.d) for a in conj) for conj in dnf)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(2, 5, 5, 2), (3, 8, 8, 8, 2)]), st.booleans())
def test_forward_bounds_are_sound(seed, widths, refine):
    """Every sampled pre-activation lies in the forward bounds (refined or not), and so does every
    sampled output within the back-substituted output bounds built on them."""
    rng = np.random.default_rng(seed)
    net = make_net(seed, widths, "unit")
    boxes = np.array([make_box(seed + k, widths[0]) for k in range(3)])
    pre = forward_bounds_batch(net, boxes, refine=refine)
    L = len(net.layers)
    lb = backsubstitute(net, L - 1, None, pre[:-1], boxes, upper=False)[0]
    ub = backsubstitute(net, L - 1, None, pre[:-1], boxes, upper=True)[0]
    for f, bx in enumerate(boxes):
        X = bx[:, 0] + rng.random((2000, widths[0])) * (bx[:, 1] - bx[:, 0])
        _, Z = net.evaluate(X, return_preactivations=True)
        for (lo, hi), z in zip(pre, Z):
            assert np.all(z >= lo[f] - 1e-9) and np.all(z <= hi[f] + 1e-9)
        assert np.all(Z[-1] >= lb[f] - 1e-9) and np.all(Z[-1] <= ub[f] + 1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_attack_gradient_is_exact_on_the_linear_region(seed):
    """The gradient equals the finite difference of a tiny step (same linear region), and PGD
    never returns a point outside its box or a margin worse than its start's."""
    rng = np.random.default_rng(seed)
    net = make_net(seed, (3, 6, 6, 2), "unit")
    box = make_box(seed, 3)
    X = box[:, 0] + rng.random((16, 3)) * (box[:, 1] - box[:, 0])
    g = gradient(net, X, np.zeros(16, int))
    h = 1e-7
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (net.evaluate(X + e)[:, 0] - net.evaluate(X)[:, 0]) / h
        same = np.logical_and.reduce([np.all((p > 0) == (q > 0), axis=1) for p, q in
                                      zip(net.evaluate(X, True)[1][:-1], net.evaluate(X + e, True)[1][:-1])])
        assert np.allclose(fd[same], g[same, i], atol=1e-5)
    conjs = [[0], [0, 1]]
    P, best = pgd(net, X, box[:, 0], box[:, 1], conjs)
    assert np.all(P >= box[:, 0]) and np.all(P <= box[:, 1])
    assert np.all(best <= margins(net, X, conjs).min(axis=1) + 1e-12)
    assert np.allclose(best, margins(net, P, conjs).min(axis=1))


def test_decide_dnf_finds_a_thin_counterexample_and_times_out_soundly():
    """|x0| + |x1| <= 0.01 and x0 >= 0.009: only a thin sliver near (0.01, 0) -- found and
    accepted only when exactly true; with no time, no verdict."""
    from srmverify.network import ReLUNet
    net = ReLUNet([([[1.0, 0], [-1.0, 0], [0, 1.0], [0, -1.0]], [0.0] * 4), ([[1.0, 1.0, 1.0, 1.0], [-1, 1, 0, 0]], [0.0, 0.0])])
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    dnf = [[(np.array([1.0, 0.0]), 0.01, False), (np.array([0.0, 1.0]), -0.009, False)]]
    exact = lambda x: float(relu_exact(net, x.tolist())[0]) <= 0.01 and float(x[0]) >= 0.009  # noqa: E731
    r = decide_dnf([net], box, dnf, exact)
    assert r.verdict == "sat" and exact(r.x)
    assert decide_dnf([net], box, dnf, exact, timeout=0.0).verdict in (None, "sat")


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_disjunction_of_single_atoms_branch_and_bound_agrees_with_milp(seed):
    """Several one-atom conjunctions on one network (ACAS Xu props 5, 6, 9, 10) go through one
    decide_dnf search; the whole-network MILP gives the same verdict, and a sat point satisfies
    an atom in exact arithmetic."""
    rng = np.random.default_rng(seed)
    net = make_net(seed, (3, 6, 6, 3), "fanin")
    box = make_box(seed, 3)
    dnf = [conj[:1] for conj in _dnf(rng, net, box, 3) + _dnf(rng, net, box, 3)]
    if len(dnf) < 2:
        dnf = dnf + dnf
    bab = find_violation([net], box, dnf, query="t", engine="highs", falsify=False)
    milp = find_violation([net], box, dnf, query="t", engine="highs", falsify=False, constraint=lambda p, x: None)
    assert bab.stats.get("found_by") == "branch and bound"
    assert bab.verdict == milp.verdict, (bab.message, milp.message)
    if bab.counterexample is not None:
        y = relu_exact(net, bab.counterexample.exact_input)
        lhs = lambda a: sum(Fraction(float(ci)) * yi for ci, yi in zip(a.c, y))     # exact rationals
        assert any(lhs(a) < Fraction(a.d) if a.strict else lhs(a) <= Fraction(a.d) for conj in dnf for a in conj)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 4))
def test_conjunction_lower_bound_is_below_the_lp_optimum(seed, k, n):
    """min_x max_i (a_i x + c_i) over a box is an LP (scipy's HiGHS); the combined bound never
    exceeds it, never falls below the best single bound, and a dense sample never goes below it."""
    from scipy.optimize import linprog
    rng = np.random.default_rng(seed)
    A, c = rng.normal(size=(2, k, n)), rng.normal(size=(2, k))
    boxes = np.stack([np.stack([make_box(seed + j, n)[:, 0] for j in range(2)]),
                      np.stack([make_box(seed + j, n)[:, 1] for j in range(2)])], axis=2)
    phi, lam = conjunction_lower_bound(A, c, boxes)
    assert np.allclose(lam.sum(axis=1), 1.0) and np.all(lam >= 0)
    for b in range(2):
        lo, hi = boxes[b, :, 0], boxes[b, :, 1]
        lp = linprog(np.r_[np.zeros(n), 1.0], A_ub=np.hstack([A[b], -np.ones((k, 1))]), b_ub=-c[b],
                     bounds=list(zip(lo, hi)) + [(None, None)], method="highs")
        single = (c[b] + np.minimum(A[b] * lo, A[b] * hi).sum(axis=1)).max()
        assert single - 1e-9 <= phi[b] <= lp.fun + 1e-9
        X = lo + rng.random((4000, n)) * (hi - lo)
        assert (X @ A[b].T + c[b]).max(axis=1).min() >= phi[b] - 1e-9
    if k == 2 and n == 1:    # max(x, -x) on [-1, 1]: exactly 0, where every single bound is -1
        phi, _ = conjunction_lower_bound(np.array([[[1.0], [-1.0]]]), np.zeros((1, 2)), np.array([[[-1.0, 1.0]]]))
        assert abs(phi[0]) < 1e-9



@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_each_split_rule_alone_and_interleaved_agree_with_milp(seed):
    """decide_dnf's searches (one per split rule, interleaved by CPU share) give the whole-network
    MILP's verdict with either rule alone and with both from the first batch on (no head start)."""
    from unittest import mock

    import srmverify.verify.bab as bab
    rng = np.random.default_rng(seed)
    net = make_net(seed, (3, 6, 6, 3), "unit")
    box = make_box(seed, 3)
    dnf = _dnf(rng, net, box, 3)
    milp = find_violation([net], box, dnf, query="t", engine="highs", falsify=False, constraint=lambda p, x: None)
    for rules in ((("grad", 1.0),), (("wide", 1.0),), (("grad", 0.5), ("wide", 0.5))):
        with mock.patch.object(bab, "SPLIT_RULES", rules), mock.patch.object(bab, "HEAD_START", 0.0):
            r = find_violation([net], box, dnf, query="t", engine="highs", falsify=False)
        assert r.stats.get("found_by") == "branch and bound"
        assert r.verdict == milp.verdict, (rules, r.message, milp.message)
