"""The encodings are exact: with the input fixed, the only feasible output is the simulated one
(checked exactly with z3 and numerically with HiGHS), causal indicators match the simulator, and
ReLU encodings agree with direct evaluation."""

from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from engine_nets import random_box, random_relu, random_snn, sample_box  # noqa: E402

from srmverify.encode import Lin, Program, encode_network  # noqa: E402
from srmverify.encode.network import input_vars  # noqa: E402
from srmverify.network import SNN  # noqa: E402
from srmverify.simulate import causal_synapses, simulate_exact, spike_times  # noqa: E402
from srmverify.solvers import solve  # noqa: E402

seeds = st.integers(0, 2**32 - 1)


def pinned(net, box, x):
    """Encode ``net`` on ``box`` and pin the inputs to the point ``x``."""
    p = Program()
    xv = input_vars(p, box)
    vm = encode_network(p, net, box, xv)
    for v, xi in zip(xv, x):
        p.add(Lin.var(v), "==", float(xi))
    return p, vm


@settings(max_examples=25, deadline=None)
@given(seeds, st.booleans(), st.booleans())
def test_snn_encoding_has_exactly_the_simulated_output(seed, positive, coders):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), positive=positive, encoder=coders, decoder=coders)
    box = random_box(rng, 2)
    _check_simulated_output(net, box, sample_box(rng, box, 1)[0])


@settings(max_examples=25, deadline=None)
@given(seeds, st.booleans())
def test_static_rows_have_exactly_the_simulated_output(seed, coders):
    """Small boxes: most neurons are static, their rows one array block (exact numbers in the
    exact program); still only the simulated output is feasible."""
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), encoder=coders, decoder=coders)
    c, r = sample_box(rng, random_box(rng, 2), 1)[0], 10.0 ** rng.uniform(-4, -1, 2)
    box = np.stack([c - r, c + r], axis=1)
    _check_simulated_output(net, box, sample_box(rng, box, 1)[0])


def test_static_neurons_are_one_exact_block():
    """Every neuron static on a small box: no binary, no Lin row, one ``==`` block whose
    coefficients are exact (the t_v coefficient is the exact sum of the causal weights)."""
    net = SNN.layered([[[0.1, 0.2, 0.7]], [[0.3, -0.1]]], [[0.25], [0.05]], delays=[[[0.0, 0.5, 0.3]], None],
                      constants=[0.0])
    box = np.array([[0.0, 0.01], [0.0, 0.01]])
    p, vm = pinned(net, box, [0.005, 0.002])
    assert p.n_binaries == 0 and len(p.blocks) == 1 and p.blocks[0].sense == "=="
    blk = p.blocks[0]
    t2 = vm.times[3]
    assert sum(v for v, c, r in zip(blk.val, blk.col, blk.row) if c == t2 and r == 0) == \
        Fraction(0.1) + Fraction(0.2) + Fraction(0.7)      # row 0: the hidden neuron, all three causal
    want = simulate_exact(net, [0.005, 0.002])[0]
    assert _exact_infeasible(p, vm.outputs[0], want, "<") and _exact_infeasible(p, vm.outputs[0], want, ">")


def _check_simulated_output(net, box, x):
    """With the input pinned to ``x``, z3 admits only the simulated outputs and HiGHS' optimum is
    the simulated value."""
    want = simulate_exact(net, x.tolist())
    p, vm = pinned(net, box, x)
    for j, (y, f) in enumerate(zip(vm.outputs, vm.output_fire)):
        if want[j] is None:                  # silent output: "it fires" must be infeasible
            if f is not False:
                q = p.copy()
                q.lo[f] = 1.0
                assert solve(q, "z3").status == "infeasible"
            continue
        assert f is not False
        for sense in ("<", ">"):             # no feasible output other than the simulated one
            q = p.copy()
            if f is not True:
                q.lo[f] = 1.0
            assert _exact_infeasible(q, y, want[j], sense)
        q = p.copy()
        q.maximize(Lin.var(y))
        sol = solve(q, "highs")
        assert sol.status == "optimal" and abs(sol.objective - float(want[j])) < 1e-5


def _exact_infeasible(q, y, value, sense):
    """z3: is ``y <sense> value`` infeasible (value an exact rational)?"""
    import z3

    from srmverify.solvers.z3_smt import _Lowered
    low = _Lowered(q)
    s = z3.Solver()
    s.add(*low.cons)
    yv = low.vars[y]
    s.add(yv < z3.RealVal(value) if sense == "<" else yv > z3.RealVal(value))
    return s.check() == z3.unsat


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_causal_indicators_match_simulation(seed):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), positive=bool(seed % 2))
    box = random_box(rng, 2)
    x = sample_box(rng, box, 1)[0]
    p, vm = pinned(net, box, x)
    sol = solve(p, "z3")
    assert sol.status == "optimal"
    T = spike_times(net, net.encode(x[None]))
    causal = causal_synapses(net, T)[0]
    for v, ks in vm.causal.items():
        if not np.isfinite(T[0, v]):
            continue
        for k, z in ks.items():
            a = T[0, net.src[k]] + net.delay[k]
            if abs(a - T[0, v]) < 1e-9:
                continue                      # a tie: either value is consistent
            val = z if isinstance(z, bool) else bool(sol.exact[z])
            assert val == bool(causal[k]), (v, k)


@settings(max_examples=25, deadline=None)
@given(seeds, st.sampled_from(["interval", "symbolic", "lp"]))
def test_relu_encoding_agrees_with_evaluation(seed, method):
    rng = np.random.default_rng(seed)
    net = random_relu(rng, (3, 5, 5, 2))
    box = random_box(rng, 3)
    x = sample_box(rng, box, 1)[0]
    p = Program()
    xv = input_vars(p, box)
    vm = encode_network(p, net, box, xv, relu_method=method)
    for v, xi in zip(xv, x):
        p.add(Lin.var(v), "==", float(xi))
    sol = solve(p, "z3")
    assert [sol.exact[y] for y in vm.outputs] == simulate_exact(net, x.tolist())
    for j, y in enumerate(vm.outputs):
        q = p.copy()
        q.minimize(Lin.var(y))
        lo = solve(q, "highs").objective
        q.maximize(Lin.var(y))
        hi = solve(q, "highs").objective
        assert abs(lo - hi) < 1e-6 and abs(lo - net.evaluate(x)[0, j]) < 1e-6
