"""SNN branch and bound (srmverify.verify.bab_snn) and its batched spike-time bounds
(srmverify.bounds.snn_batch) against independent computations: exact rational simulation at
random points and box corners, dense sampling, and the monolithic MILP / SMT encodings."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from engine_nets import random_box, random_relu, random_snn, sample_box
from srmverify.bounds.snn_batch import Restriction, _potential_bound, batch_time_bounds, concretise, crossing
from srmverify.network import SNN
from srmverify.settings import DEFAULT
from srmverify.simulate import simulate, simulate_exact, spike_times
from srmverify.simulate.exact import encode_exact, run_exact
from srmverify.verify.bab import BoxBounds, maximize
from srmverify.verify.bab_snn import SnnObjective, maximize_snn
from srmverify.verify.queries import output_bounds

seeds = st.integers(0, 2**31 - 1)


def sub_boxes(rng: np.random.Generator, box: np.ndarray, k: int) -> np.ndarray:
    """``k`` random sub-boxes of ``box``, of widths from the whole box down to 1e-4 of it."""
    span = box[:, 1] - box[:, 0]
    w = span * 10.0 ** rng.uniform(-4, 0, (k, 1)) * rng.uniform(0.3, 1, (k, len(span)))
    lo = box[:, 0] + rng.random((k, len(span))) * (span - w)
    return np.stack([lo, lo + w], axis=2)


@settings(max_examples=15, deadline=None)
@given(seeds, st.booleans(), st.booleans())
def test_batch_bounds_contain_exact_times(seed, positive, coder):
    """Every neuron's exact firing time at random points and corners of each sub-box lies in its
    interval and between its linear bounds; a neuron flagged ``never`` never fires there and one
    not flagged ``may_not`` fires."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 4, 3, 2), positive=positive, encoder=coder, decoder=coder)
    boxes = sub_boxes(rng, random_box(rng, 3), 6)
    bb = batch_time_bounds(net, boxes)
    n = net.n_inputs
    for b, box in enumerate(boxes):
        corners = np.array(np.meshgrid(*box, indexing="ij")).reshape(n, -1).T
        for x in np.vstack([corners[rng.choice(len(corners), 3, replace=False)], sample_box(rng, box, 3)]):
            times = run_exact(net, encode_exact(net, x.tolist())).times
            xs = [Fraction(float(v)) for v in x]
            for v in range(net.first_neuron, net.n_total):
                t = times[v]
                if t is None:
                    assert bb.may_not[b, v], (b, v)
                    continue
                assert not bb.never[b, v], (b, v)
                assert Fraction(bb.lo[b, v]) <= t <= Fraction(bb.hi[b, v]), (b, v)
                lin_l = sum(Fraction(float(c)) * xi for c, xi in zip(bb.lin_lo[b, v, :n], xs)) + Fraction(bb.lin_lo[b, v, n])
                lin_u = sum(Fraction(float(c)) * xi for c, xi in zip(bb.lin_hi[b, v, :n], xs)) + Fraction(bb.lin_hi[b, v, n])
                tol = Fraction(1, 10**9) * (1 + abs(t))      # the composition's float rounding
                assert lin_l - tol <= t <= lin_u + tol, (b, v)


def _inside(rest: Restriction, times: list) -> bool:
    """Does an input with these exact times lie in the part of the box ``rest`` keeps?"""
    for v in range(len(times)):
        t = times[v]
        if t is None:
            if rest.fires[v]:
                return False
        elif not float(rest.t_min[v]) <= t <= float(rest.t_max[v]):      # exact float-Fraction comparisons
            return False
    return True


@settings(max_examples=15, deadline=None)
@given(seeds, st.booleans())
def test_restricted_bounds_contain_exact_times_of_their_part(seed, coder):
    """Neuron splits (``Restriction``): a box's bounds are split on a neuron at a random time of
    its interval, then one child again on another neuron; at dense random inputs of the box
    (exact rational times) every input lies in a leaf child (the children cover the parent),
    and in each child it lies in, every neuron's exact time is in the child's interval and
    between its linear bounds, ``never`` / ``may_not`` hold, and the child is not ``empty``."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 4, 3, 1), positive=False, encoder=coder)
    box = sub_boxes(rng, random_box(rng, 3), 1)[0]
    root = batch_time_bounds(net, box[None])
    cand = [v for v in range(net.first_neuron, net.n_total) if np.isfinite(root.hi[0, v]) and root.hi[0, v] > root.lo[0, v]]
    if not cand:
        return
    v = int(rng.choice(cand))
    a, b = Restriction.none(net.n_total).split(v, float(rng.uniform(root.lo[0, v], root.hi[0, v])))
    kid = a if rng.random() < 0.5 else b
    u = int(rng.choice(cand))
    mid = batch_time_bounds(net, box[None], restrict=Restriction(*(x[None] for x in kid)))
    at = float(rng.uniform(mid.lo[0, u], mid.hi[0, u])) if np.isfinite(mid.hi[0, u]) else float(root.lo[0, u])
    leaves = [b if kid is a else a, *kid.split(u, at)]
    bb = batch_time_bounds(net, np.repeat(box[None], 3, axis=0), restrict=Restriction(*(np.array(x) for x in zip(*leaves))))
    n = net.n_inputs
    X = np.vstack([sample_box(rng, box, 60), box[:, 0], box[:, 1]])
    for x in X:
        times = run_exact(net, encode_exact(net, x.tolist())).times
        xs = [Fraction(float(c)) for c in x]
        where = [k for k, r in enumerate(leaves) if _inside(r, times)]
        assert where, "the children do not cover the box"
        for k in where:
            assert not bb.empty[k]
            for w in range(net.first_neuron, net.n_total):
                t = times[w]
                if t is None:
                    assert bb.may_not[k, w], (k, w)
                    continue
                assert not bb.never[k, w], (k, w)
                assert Fraction(bb.lo[k, w]) <= t <= Fraction(bb.hi[k, w]), (k, w)
                lin_l = sum(Fraction(float(c)) * xi for c, xi in zip(bb.lin_lo[k, w, :n], xs)) + Fraction(bb.lin_lo[k, w, n])
                lin_u = sum(Fraction(float(c)) * xi for c, xi in zip(bb.lin_hi[k, w, :n], xs)) + Fraction(bb.lin_hi[k, w, n])
                tol = Fraction(1, 10**9) * (1 + abs(t))
                assert lin_l - tol <= t <= lin_u + tol, (k, w)


def test_restriction_that_excludes_every_time_is_empty():
    """A neuron made to fire before its earliest possible time: the box holds no input."""
    net = SNN.layered([[[1.0, -1.0, 1.0]]], [[0.5]], constants=[0.0])
    box = np.array([[[0.0, 1.0], [0.0, 1.0]]])
    lo = batch_time_bounds(net, box).lo[0, 3]
    early, late = Restriction.none(net.n_total).split(3, lo - 0.25)
    bb = batch_time_bounds(net, np.repeat(box, 2, axis=0), restrict=Restriction(*(np.array(x) for x in zip(early, late))))
    assert bb.empty.tolist() == [True, False]
    assert bb.lo[1, 3] == lo


def test_late_child_of_a_neuron_that_surely_fires_before_it_is_empty():
    """A neuron that surely fires, split above its latest possible time: the late child ("fires
    at or after the split, or not at all") holds no input (``empty``, bound ``-inf``); the early
    child keeps the box's bounds."""
    net = SNN.layered([[[1.0, -1.0, 1.0]]], [[0.5]], constants=[0.0])
    box = np.array([[[0.0, 1.0], [0.0, 1.0]]])
    root = batch_time_bounds(net, box)
    assert not root.may_not[0, 3]
    early, late = Restriction.none(net.n_total).split(3, root.hi[0, 3] + 0.25)
    obj = SnnObjective(net, np.array([1.0]))
    bb = obj.bound(np.repeat(box, 2, axis=0), [early, late])
    assert bb.state.empty.tolist() == [False, True]
    assert bb.ub[1] == -np.inf and bb.ub[0] >= 1.5       # the maximum 1.5 (x = (1, 0)) is in the early child


def test_leaf_of_a_child_that_silences_a_neuron_keeps_it_silent():
    """Neuron v (2 x0 - 2 x1, threshold 0.5) fires at x0 + 0.25 where x1 >= x0 + 0.25, else never;
    the output (bias 1, v 0.5, a relay of x1 -0.5) fires at 1.99 - x1 while v is silent (at 1 where
    x1 > 0.99). Split v above its latest time: in the late child v is silenced (it may not fire,
    and cannot in the child's interval): the child is x1 < x0 + 0.25, where the minimum output
    time is 1.24 (a supremum, x -> (0.5, 0.75)). Its leaf must keep v, with its fire indicator 0:
    dropping v as if it never fired lets x1 = 1 in (output 1.0)."""
    net = SNN.layered([[[2.0, -2.0, 0.0], [0.0, 1.0, 0.0]], [[0.5, -0.5, 1.0]]], [[0.5, 0.01], [1.0]],
                      constants=[0.0])
    box = np.array([[0.0, 0.5], [0.0, 1.0]])
    v = net.first_neuron
    root = batch_time_bounds(net, box[None])
    assert root.may_not[0, v]
    kids = Restriction.none(net.n_total).split(v, root.hi[0, v] + 0.05)
    obj = SnnObjective(net, np.array([-1.0]))                   # minimise the output time
    bb = obj.bound(np.repeat(box[None], 2, axis=0), list(kids))
    assert bb.state.never[1, v] and not bb.state.empty[1]
    tb, raised, silent = bb.state.box(1)
    assert silent.tolist() == [v] and v not in raised and tb.may_not_fire[v] and not tb.never_fires[v]
    pts, bound = obj.leaf(1, box, bb, -1e9, "highs", 10.0, DEFAULT)
    assert -bound == pytest.approx(1.24, abs=1e-4)
    X = sample_box(np.random.default_rng(0), box, 4000)
    silent_part = ~np.isfinite(spike_times(net, net.encode(X))[:, v])
    assert (-obj.values(X[silent_part])).min() >= -bound - 1e-9
    assert run_exact(net, encode_exact(net, pts[0].tolist())).times[v] is None


@settings(max_examples=12, deadline=None)
@given(seeds, st.sampled_from([1.0, -1.0]))
@example(6603, 1.0)           # the MILP point of the early child at a near-tangency: exactly, v never fires
def test_leaf_of_a_neuron_split_child_stays_in_the_child(seed, sign):
    """The leaf MILP of each child of a neuron split: its optimum is at least every sampled
    objective value of the child's part of the box, and its point lies in that part (by exact
    simulation, up to the MILP tolerance): the encoding does not let an input of the other child
    in with a later, not first, threshold crossing of the split neuron."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 4, 1), positive=False)
    box = random_box(rng, 2, 0.6)
    root = batch_time_bounds(net, box[None])
    cand = [v for v in range(net.first_neuron, net.n_total - 1) if np.isfinite(root.hi[0, v]) and root.hi[0, v] > root.lo[0, v]]
    if not cand:
        return
    v = int(rng.choice(cand))
    at = float(rng.uniform(root.lo[0, v], root.hi[0, v]))
    kids = Restriction.none(net.n_total).split(v, at)
    obj = SnnObjective(net, np.array([sign]))
    bb = obj.bound(np.repeat(box[None], 2, axis=0), list(kids))
    X = sample_box(rng, box, 3000)
    T = spike_times(net, net.encode(X))
    y = obj.values(X)
    part = [np.isfinite(T[:, v]) & (T[:, v] <= at), ~np.isfinite(T[:, v]) | (T[:, v] >= at)]
    for k in range(2):
        pts, bound = obj.leaf(k, box, bb, -1e9, "highs", 10.0, DEFAULT)
        seen = y[part[k] & np.isfinite(y)]
        if bound is None or not np.isfinite(bound):
            assert not len(seen), "a child with sampled values has no leaf optimum"
            continue
        if len(seen):
            assert seen.max() <= bound + 1e-9
        if pts is not None:
            run = run_exact(net, encode_exact(net, pts[0].tolist()))
            t = run.times[v]
            # off its side only at a near-tangency: the potential's largest value before ``at``
            # (early child: ever) within the MILP tolerance of the threshold
            gap = abs(_peak_potential(net, run.times, v, None if k == 0 else Fraction(at)) - Fraction(net.threshold(v)))
            if k == 0:
                assert (t is not None and float(t) <= at + 1e-5) or gap <= 1e-6, (t, float(gap))
            else:
                assert t is None or float(t) >= at - 1e-5 or gap <= 1e-6, (t, float(gap))


def _peak_potential(net: SNN, times: list, v: int, until: Fraction | None) -> Fraction:
    """Exactly, the largest potential ``sum_j w_j max(0, s - a_j)`` of neuron ``v`` over the
    times ``s`` up to ``until`` (None: all; the potential is piecewise linear, so its maximum
    is at an arrival, at ``until``, or unbounded when the last slope is positive)."""
    sl = net.incoming(v)
    arr = [(times[u] + Fraction(d), Fraction(w)) for u, w, d in
           zip(net.src[sl].tolist(), net.weight[sl].tolist(), net.delay[sl].tolist()) if times[u] is not None]
    if until is None and sum(w for _, w in arr) > 0:
        return Fraction(10**9)
    points = [a for a, _ in arr if until is None or a <= until] + ([until] if until is not None else [])
    return max((sum(w * max(Fraction(0), s - a) for a, w in arr) for s in points), default=Fraction(0))


def test_leaf_of_the_late_child_has_no_second_crossing():
    """Neuron v: P(t) = t - 3 (t - x)+ + 5 (t - 1)+, threshold 0.5: for x >= 0.5 it fires at 0.5,
    for x < 0.5 late (at 1 + (2.5 - 3x) / 3 >= 4/3); for x in [0.5, 5/6) its potential dips below
    the threshold after 0.5 and crosses it again after 1 (not a spike: only the first crossing
    is). The output fires 0.1 after v. On x in [0, 0.7], the late child of a split of v at 0.75
    has the minimum output time 4/3 + 0.1, at x -> 0.5 (a supremum: x = 0.5 fires early); a leaf
    encoding that took the raised lower bound 0.75 as "no crossing before 0.75" (the inhibitory
    arrival x <= 0.7 then surely precedes v, and its first-crossing row is left out) would let
    x = 0.7 in with the second crossing (output 1.1 + 2/15)."""
    net = SNN.layered([[[-3.0, 1.0, 5.0]], [[1.0, 0.0, 0.0]]], [[0.5], [0.1]],
                      delays=[[[0.0, 0.0, 1.0]], [[0.0, 0.0, 0.0]]], constants=[0.0, 0.0])
    box = np.array([[0.0, 0.7]])
    early, late = Restriction.none(net.n_total).split(3, 0.75)
    obj = SnnObjective(net, np.array([-1.0]))                   # minimise the output time
    bb = obj.bound(np.repeat(box[None], 2, axis=0), [early, late])
    _, bound = obj.leaf(1, box, bb, -1e9, "highs", 10.0, DEFAULT)
    assert -bound == pytest.approx(4 / 3 + 0.1, abs=1e-4)
    _, bound = obj.leaf(0, box, bb, -1e9, "highs", 10.0, DEFAULT)
    assert -bound == pytest.approx(0.6, abs=1e-6)


class _ToyObjective:
    """``-|x - 0.3|`` on a 1-D box: the plain bound is the box's maximum plus its width; a unit
    branch (offered on whole boxes only) gives two domains bounded by the maximum plus ``slack``
    times the width."""

    batch = 8

    def __init__(self, slack: float):
        self.slack = slack

    def values(self, X):
        return -np.abs(np.atleast_2d(X)[:, 0] - 0.3)

    def exact(self, x):
        return float(-abs(Fraction(float(x[0])) - Fraction(3, 10)))

    def bound(self, boxes, domains=None):
        domains = domains or [None] * len(boxes)
        lo, hi = boxes[:, 0, 0], boxes[:, 0, 1]
        top = -np.maximum(0.0, np.maximum(lo - 0.3, 0.3 - hi))
        whole = np.array([d is None for d in domains])
        ub = top + np.where(whole, 1.0, self.slack) * (hi - lo)
        return BoxBounds(ub, np.zeros((len(boxes), 1)), np.zeros(len(boxes), bool), None,
                         np.where(whole, 0, -1), np.zeros(len(boxes)))

    def divide(self, domain, unit, at):
        return "a", "b"

    def candidates(self, boxes, bb):
        return boxes.mean(axis=2)

    def tighten(self, boxes, bb, ub, target):
        return ub

    def leaf(self, f, box, bb, cutoff, engine, limit, settings):
        return None, None


@pytest.mark.parametrize("slack, chosen", [(0.0, 1), (3.0, 0)])
def test_maximize_keeps_the_better_of_the_input_and_the_unit_branch(slack, chosen):
    """Where the objective offers a branch of its own, ``maximize`` bounds its children and the
    input split's and keeps the branch whose children's larger bound is smaller: the unit branch
    when it is exact (slack 0: chosen at the root, the search closes at once), never when its
    bounds are looser than the input halves' (slack 3); either way the maximum 0 at 0.3."""
    r = maximize(_ToyObjective(slack), np.array([[0.0, 1.0]]), atol=1e-6)
    assert r.complete and r.upper >= 0.0 >= r.value >= -1e-6
    assert r.stats["unit_tried"] >= 1 and r.stats["unit_splits"] == chosen


@settings(max_examples=6, deadline=None)
@given(seeds)
def test_maximize_snn_with_neuron_splits_everywhere_contains_samples(seed):
    """With neuron splits on every box that has a candidate (ratio 0, any width) the search still
    returns an exactly attained value, a bracket containing dense samples, and closes."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 4, 1), positive=False)
    box = random_box(rng, 2, 0.6)
    Y = simulate(net, sample_box(rng, box, 4000))[:, 0]
    Y = Y[np.isfinite(Y)]
    eager = DEFAULT.replace(bab_snn_unit_ratio=1e-12, bab_snn_unit_width=1.0, bab_snn_unit_depth=3)
    for sign in (1.0, -1.0):
        r = maximize_snn(net, box, 0, sign, timeout=30, settings=eager)
        assert r.stats["stop"] == "closed"
        if not len(Y):
            continue
        assert sign * float(simulate_exact(net, r.x.tolist())[0]) == pytest.approx(r.value, abs=1e-12)
        assert (sign * Y).max() <= r.upper + 1e-9
        if r.complete:
            assert (sign * Y).max() <= r.value + 1e-6


@settings(max_examples=10, deadline=None)
@given(seeds, st.booleans(), st.booleans())
def test_potential_bounds_contain_exact_potentials(seed, positive, coder):
    """The potential scan's bounds (``_potential_bound``): at random inputs of each sub-box and
    times of each segment, the exact potential ``sum_k w_k max(0, t - a_k)`` of every neuron
    (from the rational times of the sources that fire) is at most the segment's upper bound and,
    at the segment's start, at least the lower bound."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 4, 3), positive=positive, encoder=coder)
    boxes = sub_boxes(rng, random_box(rng, 3), 4)
    bb = batch_time_bounds(net, boxes)
    X = [sample_box(rng, box, 4) for box in boxes]
    times = [[run_exact(net, encode_exact(net, x.tolist())).times for x in Xb] for Xb in X]
    for lv in net.levels:
        s, W, D = lv.sources, lv.W, lv.D
        exc = W > 0
        live = (W != 0)[None] & ~bb.never[:, None, s]
        sure = ~bb.may_not[:, None, s]
        t0 = rng.uniform(0, 3, (len(boxes), len(lv.neurons), 8))
        t1 = t0 + rng.uniform(0, 0.5, t0.shape)
        up = _potential_bound(t0, t1, W, D, bb.lin_lo[:, s], bb.lin_hi[:, s], live & (exc | sure), True, boxes)
        dn = _potential_bound(t0, t0, W, D, bb.lin_lo[:, s], bb.lin_hi[:, s], live & (~exc | sure), False, boxes)
        for b in range(len(boxes)):
            for tm in times[b]:
                a = np.array([np.inf if tm[u] is None else float(tm[u]) for u in s])[None, None, :] + D[:, None, :]
                for t, bound, side in ((t0[b], up[b], 1), (t1[b], up[b], 1), ((t0[b] + t1[b]) / 2, up[b], 1),
                                       (t0[b], dn[b], -1)):
                    P = (W[:, None, :] * np.maximum(0.0, t[..., None] - a)).sum(axis=2)      # (V, segments)
                    assert np.all(side * (bound - P) >= -1e-9 * (1 + np.abs(P))), (b, side)
        # with a stop level: the same bounds up to the first segment that reaches it, inf after
        for full, args in ((up, (t0, t1, live & (exc | sure), True)), (dn, (t0, t0, live & (~exc | sure), False))):
            level = np.quantile(full, rng.uniform(0, 1), axis=2)             # (B, V): some rows stop early
            cut = _potential_bound(args[0], args[1], W, D, bb.lin_lo[:, s], bb.lin_hi[:, s], args[2], args[3], boxes,
                                   stop=level)
            reached = full >= level[..., None]
            first = np.where(reached.any(axis=2), np.argmax(reached, axis=2), full.shape[2])
            g = np.arange(full.shape[2])[None, None]
            assert np.array_equal(np.where(g <= first[..., None], full, np.inf), cut, equal_nan=True)


def test_potential_scan_lifts_a_near_tangent_neuron():
    """Issue 11's 5-10-10-1 net of seed 2 on a small box: neuron 16's potential nearly touches its
    threshold at t ~ 0.51 but fires at >= 0.825 everywhere on the box. The intervals of its
    sources alone allow 0.5003 (and then the output's upper bound is 0.886); the scan gives a lower
    bound above 0.8, and the output's upper bound within 0.005 of its sampled maximum, both still
    containing every exact sampled time."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_snn_bab import random_mixed_snn

    net = random_mixed_snn([5, 10, 10, 1], 2)
    lo = np.array([0.0781, 0.9375, 0.0938, 0.3438, 0.8125])
    box = np.stack([lo, lo + np.array([0.0156, 0.0312, 0.0156, 0.0078, 0.0312])], axis=1)
    bb = batch_time_bounds(net, box[None])
    X = np.vstack([sample_box(np.random.default_rng(0), box, 30), box[:, 0], box[:, 1]])
    t16 = [float(run_exact(net, encode_exact(net, x.tolist())).times[16]) for x in X]
    out = [float(simulate_exact(net, x.tolist())[0]) for x in X]
    o = int(net.outputs[0])
    assert 0.8 < bb.lo[0, 16] <= min(t16)
    assert max(out) <= bb.hi[0, o] < max(out) + 0.005


def test_fixed_causal_sets_give_the_exact_affine_map():
    """On a box small enough that every causal set is fixed, the linear bounds coincide: the
    network is one affine map there, and it is the one exact simulation gives."""
    net = SNN.layered([[[1.0, 3.0, 0.5]], [[2.0, 0.7]]], [[1.0], [1.0]], delays=[[[0.0, 0.5, 0.0]], None],
                      constants=[0.0])
    bb = batch_time_bounds(net, np.array([[[0.0, 0.1], [0.9, 1.0]]]))
    o = int(net.outputs[0])
    assert bb.undecided[0] == 0 and bb.fixed[0, net.first_neuron:].all()
    assert np.allclose(bb.lin_lo[0, o], bb.lin_hi[0, o])
    for x in ([0.0, 0.9], [0.1, 1.0], [0.05, 0.93]):
        t = float(simulate_exact(net, x)[0])
        assert abs(bb.lin_hi[0, o, :2] @ np.array(x) + bb.lin_hi[0, o, 2] - t) < 1e-12


def test_back_substitution_cancels_a_shared_source():
    """``t_o = 1 + 2 t_b - t_c`` with ``t_b = t_a + 1``, ``t_c = t_a + 0.5`` (every causal set after
    ``a`` fixed on the box): ``t_o = t_a + 2.5`` exactly, so the output's linear upper bound may
    be no looser than ``a``'s own (bounding ``t_b`` and ``t_c`` separately would add ``a``'s
    relaxation gap twice more)."""
    net = SNN.layered([[[1.0, 1.0, 0.0]], [[1.0, 0.0], [2.0, 0.0]], [[2.0, -1.0, 0.0]]],
                      [[0.5], [1.0, 1.0], [1.0]], constants=[0.0])
    box = np.array([[0.0, 0.4], [0.0, 0.4]])
    bb = batch_time_bounds(net, box[None])
    a, o = net.first_neuron, int(net.outputs[0])
    corners = np.array(np.meshgrid(*box, indexing="ij")).reshape(2, -1).T
    X = np.vstack([corners, sample_box(np.random.default_rng(0), box, 2000)])
    ta = np.array([float(run_exact(net, encode_exact(net, x.tolist())).times[a]) for x in X[:50]])
    to = np.array([float(simulate_exact(net, x.tolist())[0]) for x in X[:50]])
    assert np.allclose(to, ta + 2.5, atol=1e-12)
    up = concretise(bb.lin_hi[:, [a, o]], box[None], True)[0]
    assert up[1] <= up[0] + 2.5 + 1e-9
    assert spike_times(net, X)[:, o].max() <= up[1]


def test_crossing_bounds_bracket_a_near_tie():
    """Potential maximum exactly at the threshold: the lower bound may not say "never", the
    upper bound may not report an earlier crossing than the exact one."""
    a, w = np.array([[0.0, 1.0]]), np.array([[1.0, -1.0]])          # P rises to 1 at t = 1, then flat
    lo, hi = crossing(a, w, np.array([1.0]), -1), crossing(a, w, np.array([1.0]), +1)
    assert lo[0] <= 1.0 and (hi[0] >= 1.0 or hi[0] == np.inf)


@settings(max_examples=8, deadline=None)
@given(seeds, st.booleans())
@example(18633501, False)     # the output fires on 0.5 % of the box; the leaf MILP's point does not fire
def test_maximize_snn_is_attained_and_contains_samples(seed, positive):
    """The value is the exact output at the returned input; no sampled output exceeds the proven
    upper bound; the bracket closed."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 4, 1), positive=positive)
    box = random_box(rng, 2, 0.6)
    Y = simulate(net, sample_box(rng, box, 4000))[:, 0]
    Y = Y[np.isfinite(Y)]
    for sign in (1.0, -1.0):
        r = maximize_snn(net, box, 0, sign, timeout=30)
        assert r.stats["stop"] == "closed"
        if not len(Y):
            continue
        assert np.isfinite(r.value)
        assert sign * float(simulate_exact(net, r.x.tolist())[0]) == pytest.approx(r.value, abs=1e-12)
        assert np.all(box[:, 0] <= r.x) and np.all(r.x <= box[:, 1])
        assert (sign * Y).max() <= r.upper + 1e-9
        if r.complete:
            assert (sign * Y).max() <= r.value + 1e-6


@settings(max_examples=6, deadline=None)
@given(seeds, st.sampled_from(["snn+", "snn", "relu"]))
def test_milp_smt_and_branch_and_bound_agree(seed, kind):
    """Optimal bounds by branch and bound (HiGHS leaves), by one monolithic MILP (branch and
    bound switched off) and by z3 (exact SMT) agree within the MILP tolerance, and each one's
    attained values (exactly re-simulated) lie inside every other one's proven bounds."""
    rng = np.random.default_rng(seed)
    if kind == "relu":
        net = random_relu(rng, (2, 5, 1))
    else:
        net = random_snn(rng, (2, 3, 1), positive=kind == "snn+")
    box = random_box(rng, 2, 0.5)
    got = {"bab": output_bounds(net, box, engine="highs", timeout=30),
           "milp": output_bounds(net, box, engine="highs", timeout=30, settings=DEFAULT.replace(bab_max_inputs=0)),
           "smt": output_bounds(net, box, engine="z3", timeout=30)}
    for r in got.values():
        assert r.complete
    if got["bab"].lower[0] is None:            # the output fires nowhere: every engine says so
        assert all(r.lower[0] is None and r.upper[0] is None for r in got.values())
        return
    for a in got.values():
        for b in got.values():
            lo_att, hi_att = b.stats["attained"][0]
            assert a.lower[0] <= lo_att + 1e-6 and hi_att <= a.upper[0] + 1e-6
    tol = 1e-4                                  # MILP tolerance tau = 1e-6 on strict rows, its effect on times
    assert abs(got["bab"].upper[0] - got["milp"].upper[0]) < tol
    assert abs(got["bab"].lower[0] - got["milp"].lower[0]) < tol


def test_bounds_optimal_of_a_mixed_snn_is_tight_and_witnessed():
    """A random mixed-sign 3-5-5-1 SNN (the benchmark's generator): both sides proven, attained at
    the witnesses (exactly), and containing dense sampling."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_snn_bab import random_mixed_snn          # the benchmark's generator (one copy)

    net = random_mixed_snn([3, 5, 5, 1], 0)
    box = np.array([[0.0, 1.0]] * 3)
    r = output_bounds(net, box, timeout=60)
    assert r.complete and r.optimal and r.method == "optimal"
    (lo_att, hi_att), (x_lo, x_hi) = r.stats["attained"][0], r.stats["witness"][0]
    assert float(simulate_exact(net, x_lo)[0]) == pytest.approx(lo_att, abs=1e-12)
    assert float(simulate_exact(net, x_hi)[0]) == pytest.approx(hi_att, abs=1e-12)
    assert r.upper[0] - hi_att < 1e-5 and lo_att - r.lower[0] < 1e-5
    Y = simulate(net, np.random.default_rng(1).random((20000, 3)))[:, 0]
    assert r.lower[0] <= Y.min() and Y.max() <= r.upper[0]


@settings(max_examples=4, deadline=None)
@given(seeds)
def test_sides_searched_side_by_side_match_each_side_searched_alone(seed):
    """``output_bounds`` runs every side of every output of an SNN side by side (bab.share_cpu);
    each side's search is the same as alone: the same proven bounds and attained values as
    ``maximize_snn`` of that side, which contain the sampled outputs."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 4, 2))
    box = random_box(rng, 2, 0.6)
    r = output_bounds(net, box, timeout=60)
    interval = output_bounds(net, box, method="interval")       # the bounds the searches' tighten
    assert r.complete
    Y = simulate(net, sample_box(rng, box, 4000))
    for j in range(2):
        lo, hi = (maximize_snn(net, box, j, sign, timeout=30) for sign in (-1.0, 1.0))
        if not np.isfinite(hi.upper):            # output j fires nowhere on the box
            assert r.lower[j] is None and r.upper[j] is None and j in r.stats["fires_nowhere"]
            continue
        i_lo, i_hi = (np.inf * s if v is None else v for v, s in zip((interval.lower[j], interval.upper[j]), (-1, 1)))
        assert r.lower[j] == max(-lo.upper, i_lo) and r.upper[j] == min(hi.upper, i_hi)
        assert r.stats["attained"][j] == [-lo.value, hi.value]
        y = Y[:, j][np.isfinite(Y[:, j])]
        assert np.all(r.lower[j] <= y) and np.all(y <= r.upper[j])


def test_sides_that_run_out_of_time_side_by_side_stay_sound():
    """A 5-20-20-1 net of issue 11 with 3 s for both sides: neither closes, each side has spent
    time (both brackets are tighter than the root box's bounds), and both are sound: they
    contain the sampled outputs and the values attained at the witnesses (exactly re-simulated)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_snn_bab import random_mixed_snn          # the benchmark's generator (one copy)

    net = random_mixed_snn([5, 20, 20, 1], 3)
    box = np.array([[0.0, 1.0]] * 5)
    r = output_bounds(net, box, timeout=3)
    assert not r.complete
    root = SnnObjective(net, np.ones(1)).bound(box[None]).ub[0], -SnnObjective(net, -np.ones(1)).bound(box[None]).ub[0]
    assert root[1] < r.lower[0] and r.upper[0] < root[0]
    for x, v in zip(r.stats["witness"][0], r.stats["attained"][0]):
        assert float(simulate_exact(net, x)[0]) == pytest.approx(v, abs=1e-12)
        assert r.lower[0] <= v <= r.upper[0]
    Y = simulate(net, np.random.default_rng(1).random((20000, 5)))[:, 0]
    assert r.lower[0] <= Y.min() and Y.max() <= r.upper[0]


@settings(max_examples=8, deadline=None)
@given(seeds, st.floats(-0.02, 0.02))
@example(5031, 0.0)          # sampling finds a counterexample where y0 is silent
def test_snn_property_by_branch_and_bound_matches_milp_and_smt(seed, shift):
    """``check_property`` on a mixed-sign SNN with single-atom conjunctions over two outputs goes
    to the branch and bound; its verdict agrees with the monolithic MILP path and with z3, and a
    ``sat`` counterexample satisfies the property exactly."""
    from srmverify.results import Verdict
    from srmverify.verify.queries import check_property

    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2))
    box = random_box(rng, 2, 0.5)
    Y = simulate(net, sample_box(rng, box, 2000))
    fin = np.all(np.isfinite(Y), axis=1)
    if not fin.any():
        return
    d = float(np.max(Y[fin, 0] - Y[fin, 1])) + shift               # "y0 - y1 >= d"? (c = [-1, 1], -d): near the max
    dnf = [[(np.array([-1.0, 1.0]), -d)]]
    got = {"bab": check_property(net, [box], dnf, timeout=30),
           "milp": check_property(net, [box], dnf, timeout=30, settings=DEFAULT.replace(bab_max_inputs=0)),
           "smt": check_property(net, [box], dnf, engine="z3", timeout=30)}
    verdicts = {k: r.verdict for k, r in got.items()}
    assert Verdict.TIMEOUT not in verdicts.values(), verdicts
    assert len(set(verdicts.values())) == 1, verdicts
    r = got["bab"]
    assert "bab_boxes" in r.stats or r.stats.get("found_by") == "sampling"     # the branch and bound ran
    if r.verdict == Verdict.SAT:
        y = simulate_exact(net, r.counterexample.input)      # a silent y0 is +inf: -y0 + y1 <= -d holds
        assert y[0] is None or (y[1] is not None and y[0] - y[1] >= Fraction(d))
