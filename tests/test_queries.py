"""Queries: MILP (HiGHS, CBC) and SMT (z3) never contradict each other or the exact simulator;
every sat counterexample reproduces exactly; unsat agrees with dense sampling; optimal bounds
contain every sampled output; timeouts give ``timeout``."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from engine_nets import random_box, random_relu, random_snn, sample_box  # noqa: E402

from srmverify.encode import Lin, Program, encode_network  # noqa: E402
from srmverify.network import ReLUNet  # noqa: E402
from srmverify.solvers import solve  # noqa: E402
from srmverify.results import Verdict  # noqa: E402
from srmverify.simulate import simulate, simulate_exact  # noqa: E402
from srmverify.verify.bab import maximize_relu  # noqa: E402
from srmverify.verify.pipeline import Atom, dnf_holds_exact, find_violation  # noqa: E402
from srmverify.verify.queries import check_property, equivalence, output_bounds, robustness  # noqa: E402

seeds = st.integers(0, 2**32 - 1)
ENGINES = ("highs", "cbc", "z3")


def violation_dnf(rng, m):
    """A random output property: ``y_0 - y_1 <= d`` or ``y_1 >= d'`` (or "output 0 silent")."""
    c = np.zeros(m)
    c[0], c[1] = 1.0, -1.0
    return [[Atom(c, float(rng.uniform(-0.3, 0.3)))], [Atom(-np.eye(m)[1], -float(rng.uniform(0.5, 2.0)))],
            [Atom(silent=0)]]


@settings(max_examples=25, deadline=None)
@given(seeds, st.booleans(), st.booleans())
def test_engines_agree_with_each_other_and_the_simulator(seed, positive, delays):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), positive=positive, delays=delays, decoder=bool(seed % 2))
    box = random_box(rng, 2, 0.6)
    dnf = violation_dnf(rng, 2)
    res = {e: find_violation([net], box, dnf, query="t", engine=e, timeout=30, falsify=False) for e in ENGINES}
    verdicts = {r.verdict for r in res.values()}
    assert Verdict.ERROR not in verdicts, {e: r.message for e, r in res.items()}
    assert not {Verdict.SAT, Verdict.UNSAT} <= verdicts, {e: r.verdict for e, r in res.items()}
    for r in res.values():
        if r.verdict == Verdict.SAT:                     # reproduces exactly, inside the box
            x = [Fraction(v) for v in r.counterexample.exact_input]
            assert all(Fraction(lo) <= v <= Fraction(hi) for v, (lo, hi) in zip(x, box))
            assert dnf_holds_exact(dnf, simulate_exact(net, x))
    if res["z3"].verdict == Verdict.UNSAT:               # dense sampling finds nothing either
        X = sample_box(rng, box, 4000)
        Y = simulate(net, X)
        for x in X[np.argsort(Y[:, 0] - Y[:, 1])[:5]]:
            assert not dnf_holds_exact(dnf, simulate_exact(net, x.tolist()))


@settings(max_examples=15, deadline=None)
@given(seeds, st.sampled_from(["ttfs", "argmax", "range"]))
def test_robustness_modes(seed, mode):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 3), positive=True)
    x0 = rng.uniform(0, 1, 2)
    y0 = np.array([float(v) for v in simulate_exact(net, x0.tolist())])
    kw = dict(out_lo=y0 - 0.2, out_hi=y0 + 0.2) if mode == "range" else {}
    got = {e: robustness(net, x0, 0.15, mode=mode, engine=e, timeout=30, **kw) for e in ENGINES}
    vs = {r.verdict for r in got.values()}
    assert len(vs) == 1 and vs <= {Verdict.SAT, Verdict.UNSAT}, {e: (r.verdict, r.message) for e, r in got.items()}
    X = x0 + rng.uniform(-0.15, 0.15, (3000, 2))
    Y = simulate(net, X)
    if mode == "range":
        bad = ((Y < y0 - 0.2) | (Y > y0 + 0.2)).any(axis=1)
    else:
        lab = got["z3"].details["label"]
        others = np.delete(Y, lab, axis=1)
        bad = (others <= Y[:, [lab]]).any(axis=1) if mode == "ttfs" else (others >= Y[:, [lab]]).any(axis=1)
    if bad.any():
        assert vs == {Verdict.SAT}
    if vs == {Verdict.SAT}:
        assert got["highs"].counterexample is not None


def test_l1_robustness_and_domain():
    net = ReLUNet([([[1.0, 1.0], [-1.0, 0.0]], [0.0, 0.5])])    # classes: x0 + x1 vs 0.5 - x0
    x0 = np.array([0.3, 0.3])                                      # 0.6 vs 0.2
    assert robustness(net, x0, 0.1, norm="l1", mode="argmax").verdict == Verdict.UNSAT
    r = robustness(net, x0, 0.3, norm="l1", mode="argmax")        # x0 -> 0.1, x1 -> 0.2: 0.3 vs 0.4
    assert r.verdict == Verdict.SAT and sum(abs(np.array(r.counterexample.input) - x0)) <= 0.3 + 1e-12
    dom = np.array([[0.25, 1.0], [0.25, 1.0]])                     # the domain forbids it
    assert robustness(net, x0, 0.3, norm="l1", mode="argmax", domain=dom).verdict == Verdict.UNSAT


@settings(max_examples=4, deadline=None)
@given(seeds)
@example(458306)            # CBC's cuts cut off the optimum of a leaf (0.2060 vs 0.2761): CBC runs without cuts
def test_optimal_bounds_relu_contain_samples_and_match_milp(seed):
    rng = np.random.default_rng(seed)
    net = random_relu(rng, (3, 6, 6, 2))
    box = random_box(rng, 3)
    r = output_bounds(net, box, engine="highs")
    z = output_bounds(net, box, engine="cbc")
    Y = net.evaluate(sample_box(rng, box, 5000))
    assert r.optimal and r.complete
    for j in range(2):
        assert r.lower[j] - 1e-6 <= Y[:, j].min() and Y[:, j].max() <= r.upper[j] + 1e-6
        assert abs(r.lower[j] - z.lower[j]) < 1e-5 and abs(r.upper[j] - z.upper[j]) < 1e-5
        lo_att, hi_att = r.stats["attained"][j]
        assert r.upper[j] - hi_att < 1e-5 and lo_att - r.lower[j] < 1e-5


@settings(max_examples=6, deadline=None)
@given(seeds)
@example(346)    # z3's optimum is a supremum (a strict row): the model's value is not the bound
@example(1088)   # the output fires nowhere on the box: every engine proves it, no range is reported
def test_optimal_bounds_snn_engines_agree(seed):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 1), positive=bool(seed % 3 == 0))
    box = random_box(rng, 2, 0.5)
    got = {e: output_bounds(net, box, engine=e, timeout=30) for e in ENGINES}
    Y = simulate(net, sample_box(rng, box, 4000))[:, 0]
    Y = Y[np.isfinite(Y)]
    for e, r in got.items():
        assert r.complete, e
        if r.stats["fires_nowhere"]:          # proven silent: no sample may fire, no bound is given
            assert len(Y) == 0 and r.lower == r.upper == [None], e
        elif len(Y):
            assert r.lower[0] - 1e-6 <= Y.min() and Y.max() <= r.upper[0] + 1e-6, e
    assert len({bool(r.stats["fires_nowhere"]) for r in got.values()}) == 1     # the engines agree
    if all(r.lower[0] is not None for r in got.values()):
        # every engine's proven bound contains every engine's attained (exactly simulated) value;
        # where z3's optimum is attained by its model the two exact optima agree
        (hl, hu), (zl, zu) = got["highs"].stats["attained"][0], got["z3"].stats["attained"][0]
        for r in got.values():
            assert r.lower[0] <= min(hl, zl) + 1e-6 and r.upper[0] >= max(hu, zu) - 1e-6
        if abs(got["z3"].upper[0] - zu) < 1e-12:
            assert abs(got["highs"].upper[0] - got["z3"].upper[0]) < 1e-5
        if abs(got["z3"].lower[0] - zl) < 1e-12:
            assert abs(got["highs"].lower[0] - got["z3"].lower[0]) < 1e-5


def test_branch_and_bound_matches_milp():
    net = random_relu(np.random.default_rng(3), (4, 8, 8, 1))
    box = np.array([[-1.0, 1.0]] * 4)
    r = maximize_relu(net, box)
    p = Program()
    vm = encode_network(p, net, box)
    p.maximize(Lin.var(vm.outputs[0]))
    m = solve(p, "highs")
    assert r.complete and m.status == "optimal" and abs(r.value - m.objective) < 1e-6
    assert r.value >= net.evaluate(sample_box(np.random.default_rng(0), box, 5000)).max()
    assert abs(float(simulate_exact(net, r.x.tolist())[0]) - r.value) < 1e-12    # the value is attained


def test_equivalence_exact_with_z3_and_violations_reproduce():
    rng = np.random.default_rng(0)
    a = random_relu(rng, (2, 4, 2))
    perm = rng.permutation(4)
    (W1, b1), (W2, b2) = a.layers
    b = ReLUNet([(W1[perm] * 2.0, b1[perm] * 2.0), (W2[:, perm] / 2.0, b2)])     # same function, reordered/rescaled
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    assert equivalence(a, b, box, engine="z3").verdict == Verdict.UNSAT
    assert equivalence(a, b, box, top1=True, engine="highs").verdict == Verdict.UNSAT
    c = ReLUNet([(W1, b1), (W2, b2 + np.array([0.0, 0.01]))])
    for eng in ("highs", "z3"):
        r = equivalence(a, c, box, eps=0.005, engine=eng)
        assert r.verdict == Verdict.SAT
        ya, yc = r.counterexample.outputs
        assert max(abs(u - v) for u, v in zip(ya, yc)) > 0.005
    r = equivalence(a, c, box, eps=0.02, engine="highs")
    assert r.verdict == Verdict.UNSAT and abs(r.details["max_difference_bound"] - 0.01) < 1e-6


def test_equivalence_snn_vs_relu():
    relu = ReLUNet([([[1.0]], [0.0])])                     # y = x
    snn = random_snn(np.random.default_rng(0), (1, 1), positive=True, delays=False, constants=0)
    from srmverify.network import SNN
    ident = SNN.layered([[[1.0]]], [[1e-9]])                 # fires right at its input: t = x + 1e-9
    r = equivalence(ident, relu, [[0.0, 1.0]], eps=1e-6, engine="z3")
    assert r.verdict == Verdict.UNSAT
    r = equivalence(ident, relu, [[0.0, 1.0]], eps=0.0, engine="z3")
    assert r.verdict == Verdict.SAT
    del snn


def test_check_property_vnnlib_semantics():
    net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])      # |x|
    holds = [[(np.array([-1.0]), -1.5)]]                                       # |x| >= 1.5 ?
    assert check_property(net, [[[-1, 1]]], holds).verdict == Verdict.UNSAT
    r = check_property(net, [[[-1, 1]], [[1, 2]]], holds)                      # second box reaches it
    assert r.verdict == Verdict.SAT and r.counterexample.input[0] >= 1.5
    both = [[(np.array([1.0]), 0.5), (np.array([-1.0]), -0.25)]]              # 0.25 <= |x| <= 0.5
    r = check_property(net, [[[-1, 1]]], both, engine="z3")
    assert r.verdict == Verdict.SAT and 0.25 <= abs(r.counterexample.input[0]) <= 0.5


@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_timeouts_give_timeout(engine):
    net = random_relu(np.random.default_rng(1), (5, 30, 30, 1))
    box = np.array([[-1.0, 1.0]] * 5)
    m = maximize_relu(net, box).value
    r = check_property(net, [box], [[(np.array([-1.0]), -(m + 1e-4))]], engine=engine, timeout=0.05)
    assert r.verdict in (Verdict.TIMEOUT, Verdict.UNSAT)
    b = output_bounds(net, box, engine=engine, timeout=0.05)
    if not b.complete:
        assert b.verdict == Verdict.TIMEOUT
    assert b.upper[0] >= m - 1e-9                    # still sound


def _argmax_violation_exact(ya, yb) -> bool:
    """Exactly: some argmax of ``a`` is not an argmax of ``b`` (the top-1 violation)."""
    return any(all(ya[j] >= v for v in ya) and any(yb[j] < v for v in yb) for j in range(len(ya)))


@settings(max_examples=8, deadline=None)
@given(seeds, st.sampled_from([0.0, 0.02, 0.3]))
def test_top1_equivalence_by_branch_and_bound_agrees_with_z3_and_a_grid(seed, noise):
    rng = np.random.default_rng(seed)
    a = random_relu(rng, (2, 4, 3))
    b = ReLUNet([(W + rng.normal(0, noise, W.shape), v + rng.normal(0, noise, v.shape)) for W, v in a.layers])
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    r = equivalence(a, b, box, top1=True, timeout=30)
    assert r.stats.get("found_by") in ("sampling", "branch and bound", "identity") or r.engine == "identity"
    exact = equivalence(a, b, box, top1=True, engine="z3", timeout=60)      # the exact MILP-free route
    assert r.verdict == exact.verdict
    X = sample_box(rng, box, 400)
    ya, yb = simulate(a, X), simulate(b, X)
    grid = np.any(ya.argmax(axis=1) != yb.argmax(axis=1)) and \
        np.any((np.sort(ya, axis=1)[:, -1] - np.sort(ya, axis=1)[:, -2] > 1e-9) &
               (np.sort(yb, axis=1)[:, -1] - np.sort(yb, axis=1)[:, -2] > 1e-9) & (ya.argmax(axis=1) != yb.argmax(axis=1)))
    if grid:
        assert r.verdict == Verdict.SAT
    if r.verdict == Verdict.SAT:
        x = [Fraction(v) for v in r.counterexample.exact_input]
        assert _argmax_violation_exact(simulate_exact(a, x), simulate_exact(b, x))


@settings(max_examples=4, deadline=None)
@given(seeds)
def test_top1_equivalence_of_an_snn_is_decided_on_its_lift_like_its_relu_original(seed):
    from srmverify.convert import convert_relu_to_snn
    rng = np.random.default_rng(seed)
    a = random_relu(rng, (2, 4, 3))
    b = ReLUNet([(W + rng.normal(0, 0.1, W.shape), v) for W, v in a.layers])
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    snn, _ = convert_relu_to_snn(b, box)
    relu_pair = equivalence(a, b, box, top1=True, timeout=30)
    lifted = equivalence(a, snn, box, top1=True, timeout=30, certificate=False)
    assert lifted.details.get("route") == "relu lift"
    assert lifted.verdict == relu_pair.verdict
    if lifted.verdict == Verdict.SAT:
        x = [Fraction(v) for v in lifted.counterexample.exact_input]
        assert _argmax_violation_exact(simulate_exact(a, x), simulate_exact(snn, x))


def test_lift_honours_the_deadline_and_equiv_top1_through_the_cli(tmp_path, capsys):
    import json
    from srmverify.convert import convert_relu_to_snn
    from srmverify.formats import save_network
    from srmverify.verify.lift import check_lifted
    from srmverify_cli.main import run
    rng = np.random.default_rng(5)
    a = random_relu(rng, (2, 6, 6, 3))
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    snn, _ = convert_relu_to_snn(a, box)
    late = check_lifted(snn, [box], [[Atom(np.array([1.0, -1.0, 0.0]), 0.0)]], deadline=0.0)   # already passed
    assert late is not None and late.verdict == Verdict.TIMEOUT and late.details["boxes_closed"] == 0
    save_network(a, tmp_path / "a.json")
    save_network(snn, tmp_path / "s.json")
    code = run(["equiv", str(tmp_path / "s.json"), str(tmp_path / "a.json"), "--box", "-1:1", "--top1",
                "--no-certificate", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["verdict"] == "unsat" and d["details"]["route"] == "relu lift"
