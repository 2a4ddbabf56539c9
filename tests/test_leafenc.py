"""Branch-and-bound leaf programs of mixed-sign SNNs (static rows as one array block, HiGHS
without presolve and without feasibility jump) against exact simulation: the leaf optimum bounds
every sampled exact output from above, agrees with z3's exact optimum of the same encoding, and
a leaf is never infeasible for a cutoff that a sampled point beats."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings, strategies as st

from engine_nets import random_box, random_snn, sample_box
from srmverify.bounds import snn_time_bounds
from srmverify.encode import Lin, Program, encode_snn
from srmverify.encode.network import input_vars
from srmverify.encode.program import float_arithmetic
from srmverify.simulate import simulate_exact
from srmverify.solvers import solve
from srmverify.verify.bab import solve_leaf

seeds = st.integers(0, 2**32 - 1)


def leaf(net, box, cutoff: float | None, exact: bool) -> Program | None:
    """``max y_0`` over ``box`` where output 0 fires, with ``y_0 >= cutoff`` (the leaf of
    :class:`srmverify.verify.bab_snn.SnnObjective`); ``None`` if output 0 never fires there."""
    def build() -> Program | None:
        p = Program()
        x = input_vars(p, box)
        vm = encode_snn(p, net, x, snn_time_bounds(net, box))
        y, f = vm.outputs[0], vm.output_fire[0]
        if y is None:
            return None
        if f is not True:
            p.lo[f] = 1.0
        if cutoff is not None:
            p.add(Lin.var(y), ">=", cutoff)
        p.maximize(Lin.var(y))
        return p
    if exact:
        return build()
    with float_arithmetic():
        return build()


@settings(max_examples=15, deadline=None)
@given(seeds, st.booleans())
# HiGHS 1.16 without presolve called these feasible leaves infeasible at a MIP feasibility
# tolerance of 1e-8 (Settings.mip_feasibility_tol)
@example(3819893, False)
@example(74, True)
@example(214, True)
@example(684, False)
@example(847, True)
def test_leaf_optimum_bounds_exact_simulation(seed, small):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 1), encoder=bool(seed % 2), decoder=bool(seed % 3 == 0))
    box = random_box(rng, 2)
    if small:                                   # most neurons static: the array rows
        c, r = sample_box(rng, box, 1)[0], 10.0 ** rng.uniform(-3, -1, 2)
        box = np.stack([c - r, c + r], axis=1)
    ys = [simulate_exact(net, x.tolist())[0] for x in sample_box(rng, box, 40)]
    ys = [y for y in ys if y is not None]
    p = leaf(net, box, None, False)
    if p is None:
        assert not ys
        return
    sol, ref = solve_leaf(p, "highs", None, sub_mips=False), solve(leaf(net, box, None, True), "z3")
    if not ys:
        return
    assert sol.status == ref.status == "optimal"
    best = float(max(ys))
    assert sol.bound >= best - 1e-6 and ref.bound >= best - 1e-9
    assert abs(sol.bound - ref.bound) <= 1e-5 * (1 + abs(ref.bound))
    beaten = best - 1e-4 * (1 + abs(best))       # a sampled point beats it: never infeasible
    assert solve_leaf(leaf(net, box, beaten, False), "highs", None, sub_mips=False).status != "infeasible"
    above = ref.bound + 1e-4 * (1 + abs(ref.bound))  # above the exact optimum: infeasible, no sample beats it
    assert solve_leaf(leaf(net, box, above, False), "highs", None, sub_mips=False).status == "infeasible"
    assert all(y < Fraction(above) for y in ys)


@settings(max_examples=30, deadline=None)
@given(st.floats(-4, -1e-3), st.floats(1e-3, 4), st.floats(0, 1), st.booleans())
@example(-3.0, 1.2009371030336733, 1.0, False)      # lo + 1.0 (hi - lo) > hi in floats
def test_relu_relaxation_is_the_triangle(lo, hi, frac, gated):
    """With its binary relaxed, the largest ``y`` of ``y = max(0, x)`` at a fixed ``x`` in
    ``[lo, hi]`` is the triangle's upper side ``hi (x - lo) / (hi - lo)`` (the implications with a
    big-M over ``y``'s bounds allowed more); with the binary, ``y = max(0, x)`` exactly (HiGHS and
    z3). ``gated``: the same term behind a fire indicator fixed to 1 (``encode.snn._gated_relu``)."""
    from srmverify.encode.snn import _gated_relu
    x0 = min(hi, lo + frac * (hi - lo))          # (rounding may step past hi)
    for relaxed in (True, False):
        for engine in (("highs",) if relaxed else ("highs", "z3")):
            p = Program()
            x = p.var("x", lo, hi)
            if gated:
                f = p.var("f", 1.0, 1.0, binary=True)
                y = _gated_relu(p, Lin.var(x), lo, hi, f, "y")[0]
            else:
                y = Lin.var(p.relu(Lin.var(x), lo, hi)[0])
            p.add(Lin.var(x), "==", x0)
            if relaxed:
                p.binary = [False] * p.n_vars
            p.maximize(y)
            sol = solve(p, engine)
            want = hi * (x0 - lo) / (hi - lo) if relaxed else max(0.0, x0)
            assert sol.status == "optimal" and abs(sol.objective - want) <= 1e-6 * (1 + abs(want)), (relaxed, engine)


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_wider_leaf_agrees_with_z3_and_samples(seed):
    """Wider mixed networks (more general neurons and breakpoint pairs per leaf): the HiGHS leaf
    optimum equals z3's exact optimum of the same encoding and bounds every sampled exact output."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 4, 1), encoder=bool(seed % 2))
    box = random_box(rng, 2)
    p = leaf(net, box, None, False)
    ys = [y for y in (simulate_exact(net, x.tolist())[0] for x in sample_box(rng, box, 40)) if y is not None]
    if p is None:
        assert not ys
        return
    sol, ref = solve_leaf(p, "highs", None, sub_mips=False), solve(leaf(net, box, None, True), "z3")
    if ref.status == "infeasible":
        assert sol.status == "infeasible" and not ys
        return
    assert sol.status == ref.status == "optimal"
    assert abs(sol.bound - ref.bound) <= 1e-5 * (1 + abs(ref.bound))
    if ys:
        assert sol.bound >= float(max(ys)) - 1e-6
