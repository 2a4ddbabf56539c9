"""One deadline end to end (bounds, encoding, lowering, solving) and cheap falsification before
any branch and bound or solver.

The SNN here is a random mixed-sign time-to-first-spike 400-40-3 network: building even its
relaxed program (see srmverify.verify.refine) takes over a second, so a 0.05 s query that answers
in time proves the deadline is checked during the encoding. Counterexamples are re-checked with
the exact (Fraction) simulator, independently of the library's own re-check.
"""
import time
from fractions import Fraction

import numpy as np
import pytest

from srmverify.network import ReLUNet, SNN, Affine
from srmverify.results import Verdict
from srmverify.simulate import simulate, simulate_exact
from srmverify.verify.queries import check_property, equivalence, output_bounds, robustness

TINY = 0.05
#: Allowed overrun beyond the timeout (the unbounded relaxed query on the test net takes ~1.5 s).
SLACK = 1.5


def ttfs_net(n: int = 400, hidden: int = 40, outputs: int = 3, seed: int = 0) -> SNN:
    """Pixel x in [0, 1] spikes at 1 - x; one constant at 0; weights of both signs."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.3, 1.0, (hidden, n + 1)) * (4.0 / n)
    W1[:, -1] = 1.0
    W2 = rng.normal(0.5, 1.0, (outputs, hidden + 1))
    W2[:, -1] = 0.5
    return SNN.layered([W1, W2], [np.ones(hidden), np.ones(outputs)], constants=[0.0],
                       encoder=Affine(np.ones(n), -np.ones(n)))


@pytest.fixture(scope="module")
def net():
    return ttfs_net()


def timed(fn, *args, **kw):
    t = time.perf_counter()
    r = fn(*args, **kw)
    return r, time.perf_counter() - t


def test_test_net_is_mixed_sign_and_fires(net):
    assert not net.all_weights_positive
    Y = simulate(net, np.random.default_rng(1).random((20, net.n_inputs)))
    assert np.isfinite(Y).all()


@pytest.mark.parametrize("engine", ["highs", "cbc", "z3"])
def test_property_times_out_during_encoding(net, engine):
    box = np.tile([0.0, 1.0], (net.n_inputs, 1))
    # y_0 <= -1e9: never true, so sampling cannot answer and the program must be built
    r, wall = timed(check_property, net, [box], [[(np.eye(3)[0], -1e9)]], engine=engine, timeout=TINY)
    assert r.verdict == Verdict.TIMEOUT, r.message
    assert wall < TINY + SLACK


def test_robustness_times_out_during_encoding(net):
    x0 = np.random.default_rng(2).random(net.n_inputs)
    r, wall = timed(robustness, net, x0, 0.5, mode="range", out_lo=-1e9, domain=np.tile([0.0, 1.0], (net.n_inputs, 1)),
                    timeout=TINY)
    assert r.verdict == Verdict.TIMEOUT, r.message
    assert wall < TINY + SLACK


def test_output_bounds_timeout_is_incomplete_but_sound(net):
    box = np.tile([0.0, 1.0], (net.n_inputs, 1))
    b, wall = timed(output_bounds, net, box, timeout=TINY)
    assert wall < TINY + SLACK
    assert not b.complete and not b.optimal
    Y = simulate(net, np.random.default_rng(3).random((200, net.n_inputs)))
    for j in range(net.n_outputs):
        fired = Y[:, j][np.isfinite(Y[:, j])]
        assert b.lower[j] is not None and b.upper[j] is not None
        assert b.lower[j] <= fired.min() and fired.max() <= b.upper[j]


def deep_relu(seed: int, n: int = 5, width: int = 40, m: int = 2) -> ReLUNet:
    rng = np.random.default_rng(seed)
    sizes = [n, width, width, m]
    return ReLUNet([(rng.normal(size=(b, a)) / np.sqrt(a), rng.normal(size=b) * 0.1) for a, b in zip(sizes, sizes[1:])])


def test_equivalence_of_identical_nets_respects_the_deadline():
    a = deep_relu(0)
    b = ReLUNet([(W.copy(), c.copy()) for W, c in a.layers])
    box = np.tile([-1.0, 1.0], (5, 1))
    r, wall = timed(equivalence, a, b, box, engine="highs", timeout=0.2)
    assert r.verdict in (Verdict.TIMEOUT, Verdict.UNSAT)          # never sat: they are equal
    assert wall < 0.2 + SLACK


@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_equivalence_finds_an_obvious_violation_before_branch_and_bound(engine):
    """b = a + 0.5 on output 0: branch and bound on a_0 - b_0 (first in order) cannot close its
    loose bound quickly, but the very first sample is a counterexample."""
    a = deep_relu(1)
    (W, c) = a.layers[-1]
    b = ReLUNet(list(a.layers[:-1]) + [(W, c + np.array([0.5, 0.0]))])
    box = np.tile([-1.0, 1.0], (5, 1))
    r, wall = timed(equivalence, a, b, box, eps=0.1, engine=engine, timeout=60)
    assert r.verdict == Verdict.SAT and r.stats["found_by"] == "sampling"
    assert wall < 1.0
    x = [Fraction(v) for v in r.counterexample.exact_input]
    ya, yb = simulate_exact(a, x), simulate_exact(b, x)
    assert abs(ya[0] - yb[0]) > Fraction(1, 10)
    assert r.details["max_difference"] >= 0.5 - 1e-9


def test_every_property_box_is_sampled_before_any_solver():
    """The violation is in the second box only; the first box is never sent to a solver."""
    net = deep_relu(2, n=2, width=8, m=1)
    Y = simulate(net, np.random.default_rng(0).uniform(-1, 1, (2000, 2)))
    target = float(np.median(Y))
    big = np.tile([-1.0, 1.0], (2, 1))
    tiny = np.tile([5.0, 5.0 + 1e-9], (2, 1))
    y_tiny = float(simulate(net, np.array([[5.0, 5.0]]))[0, 0])
    atom = (np.array([1.0]), target) if y_tiny > target else (np.array([-1.0]), -target)   # false at the tiny box
    r = check_property(net, [tiny, big], [[atom]], engine="highs")
    assert r.verdict == Verdict.SAT and r.stats["found_by"] == "sampling"
    assert r.details["box_verdicts"] == ["unknown", "sat"]
    x = [Fraction(v) for v in r.counterexample.exact_input]
    assert x[0] >= -1 and x[0] <= 1
    y = simulate_exact(net, x)[0]
    assert y * Fraction(atom[0][0]) <= Fraction(atom[1])
