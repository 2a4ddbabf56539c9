"""Hand-computed firing times of the README's layered example (model.md §1)."""
from fractions import Fraction

from srmverify.formats import network_from_dict
from srmverify.simulate import run_exact, spike_times

EXAMPLE = {"kind": "snn", "constants": [0.0],
           "layers": [{"weights": [[1.0, 3.0, 0.5]], "thresholds": [1.0], "delays": [[0.0, 0.5, 0.0]]}]}


def test_layered_example_hand_computed():
    net = network_from_dict(EXAMPLE)
    # inputs (0, 0): arrivals x0@0 (w 1), c0@0 (w 0.5), x1@0.5 (w 3).
    # segment [0, 0.5]: P = 1.5 t, crosses 1 at 2/3 > 0.5 -> not here;
    # segment [0.5, inf): P = 4.5 t - 1.5 -> t = 2.5/4.5 = 5/9.
    assert run_exact(net, [0, 0]).outputs == [Fraction(5, 9)]
    # inputs (0, 1): x1 arrives at 1.5; 1.5 t = 1 at t = 2/3 <= 1.5 -> fires at 2/3 with causal set {x0, c0}.
    r = run_exact(net, [0, 1])
    assert r.outputs == [Fraction(2, 3)] and r.causal[3] == {0, 2}
    assert abs(spike_times(net, [[0, 1]])[0, 3] - 2 / 3) < 1e-15
