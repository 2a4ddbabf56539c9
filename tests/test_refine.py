"""The relaxed first-crossing encoding and its counterexample-guided refinement
(srmverify.encode.snn, srmverify.verify.refine).

* The relaxed program over-approximates the network: with the input pinned to a point, every
  relaxed optimum brackets the exactly simulated output (hypothesis, mixed signs, delays).
* A relaxed spike time that is a later crossing makes a spurious point; the refinement finds the
  neuron, and the query ends with the true verdict (every engine), checked against the exact
  first crossing computed by hand.
* Verdicts with relaxation + refinement equal the verdicts of the exact encoding.
* A MILP point inside the solver tolerance of a tie is settled by exact pattern checks (z3).
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine_nets import random_snn, sample_box  # noqa: E402

from srmverify.encode import Lin  # noqa: E402
from srmverify.network import SNN  # noqa: E402
from srmverify.results import Verdict  # noqa: E402
from srmverify.simulate import simulate_exact  # noqa: E402
from srmverify.solvers import solve  # noqa: E402
from srmverify.verify import pipeline  # noqa: E402
from srmverify.settings import DEFAULT  # noqa: E402
from srmverify.verify.pipeline import Atom, encode_nets, find_violation  # noqa: E402
from srmverify.verify.queries import output_bounds  # noqa: E402
from srmverify.verify.refine import violated_rows  # noqa: E402


def three_roots() -> SNN:
    """One neuron, theta = 1: +2 at x0, -3 at x1 + 0.6, +5 at x2 + 1. At x = 0 the potential
    2t rises to 1 at t = 0.5 (the first crossing), falls back through 1 at t = 0.8, and rises
    through 1 again at t = 1.05: three roots, only the first is the spike."""
    return SNN.layered([[[2.0, -3.0, 5.0]]], [[1.0]], delays=[[[0.0, 0.6, 1.0]]])


def test_three_roots_by_hand():
    assert simulate_exact(three_roots(), [0, 0, 0]) == [Fraction(1, 2)]


#: Inputs in [0, 0.2]: a real spike is the first root (t = 0.5 + x0 <= 0.7) or, when x1's
#: inhibition comes first, a late one (t >= 1); the relaxation also admits the falling root near 0.8.
BOX = np.array([[0.0, 0.2]] * 3)
WINDOW = [[Atom(np.array([-1.0]), -0.75), Atom(np.array([1.0]), 0.85)]]     # 0.75 <= t <= 0.85


def test_no_real_spike_in_the_window():
    X = sample_box(np.random.default_rng(0), BOX, 20000)
    from srmverify.simulate import simulate
    t = simulate(three_roots(), X)[:, 0]
    assert not np.any((t >= 0.75) & (t <= 0.85)) and t.min() >= 0.5


@pytest.mark.parametrize("engine", ["highs", "cbc", "z3"])
def test_a_later_crossing_is_refined_away(engine):
    net = three_roots()
    p, x, maps = encode_nets([net], BOX, first_crossing=[{}])
    assert maps[0].relaxed == {3}
    pipeline.add_dnf(p, maps, WINDOW)
    sol = solve(p, "highs")
    assert sol.status == "optimal"                                # the relaxation admits the window
    assert set(violated_rows(net, maps[0], sol.values)) == {3}
    r = find_violation([net], BOX, WINDOW, query="test", engine=engine, falsify=False)
    assert r.verdict == Verdict.UNSAT and r.stats["refinements"] >= 1
    # a window with real spikes is found with a reproducing point
    r = find_violation([net], BOX, [[Atom(np.array([-1.0]), -0.6), Atom(np.array([1.0]), 0.65)]],
                       query="test", engine=engine, falsify=False)
    assert r.verdict == Verdict.SAT and 0.6 <= r.counterexample.output[0] <= 0.65


def test_bounds_match_the_exact_encoding():
    r = output_bounds(three_roots(), BOX)
    assert r.complete and abs(r.lower[0] - 0.5) < 1e-6 and abs(r.upper[0] - 1.4) < 1e-6


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_relaxed_program_contains_every_real_run(seed, decoder):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 4, 2), positive=False, delays=True, decoder=decoder)
    box = np.array([[0.0, 1.0]] * 3)
    pt = sample_box(rng, box, 1)[0]
    Y = simulate_exact(net, pt.tolist())
    pinned = np.stack([pt, pt], axis=1)
    for j, y in enumerate(Y):
        p, x, maps = encode_nets([net], pinned, first_crossing=[{}], exact=False)
        out, f = maps[0].outputs[j], maps[0].output_fire[j]
        if y is None:                                             # silent: "does not fire" is feasible
            assert f is not True
            if f is not False:
                p.hi[f] = 0.0
                assert solve(p, "highs").status == "optimal"
            continue
        assert f is not False and out is not None
        if f is not True:
            p.lo[f] = 1.0
        for sign in (1.0, -1.0):
            q = p.copy()
            q.maximize(Lin.var(out, sign))
            sol = solve(q, "highs")
            assert sol.status == "optimal"
            assert sign * float(y) <= sol.objective + 1e-6 * (1 + abs(float(y)))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_relaxed_and_exact_encodings_give_the_same_verdict(seed):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), positive=False, delays=True)
    box = np.array([[0.0, 1.0]] * 2)
    c = np.array([1.0, -1.0])
    dnf = [[Atom(c, float(rng.uniform(-0.3, 0.3)))]]
    milp = DEFAULT.replace(bab_max_inputs=0)           # the encodings under test, not the SNN branch and bound
    relaxed = find_violation([net], box, dnf, query="t", engine="highs", falsify=False, settings=milp)
    exact = find_violation([net], box, dnf, query="t", engine="highs", falsify=False,
                           settings=milp.replace(max_refinements=-1))      # exact encoding from the start
    assert exact.stats["relaxed_neurons"] == 0
    assert relaxed.verdict == exact.verdict, (relaxed.message, exact.message)


@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_a_violation_within_the_milp_tolerance_is_settled_exactly(engine):
    """|x| + 3/4 <= 3/4 - 5e-9 never holds, but a MILP (feasibility tolerance 1e-8) accepts x = 0.
    Each binary pattern it offers is solved exactly by z3, found empty and cut off: ``unsat``
    (before: ``error``). Raising the right-hand side by 1e-8 makes x = 0 a real violation."""
    from srmverify.network import ReLUNet
    n = DEFAULT.bab_max_inputs + 1                       # inputs 1.. are unused: too many for branch and bound
    W1 = np.zeros((2, n))
    W1[:, 0] = [1.0, -1.0]
    net = ReLUNet([(W1, [0.0, 0.0]), ([[1.0, 1.0]], [0.75])])
    box = np.array([[-1.0, 1.0]] * n)
    r = find_violation([net], box, [[Atom(np.array([1.0]), 0.75 - 5e-9)]], query="t", engine=engine, falsify=False)
    assert r.verdict == Verdict.UNSAT and r.stats["exact_pattern_checks"] >= 1
    r = find_violation([net], box, [[Atom(np.array([1.0]), 0.75)]], query="t", engine=engine, falsify=False)
    assert r.verdict == Verdict.SAT and r.counterexample.exact_input[0] == "0"
