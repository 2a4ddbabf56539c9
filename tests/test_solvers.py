"""Solver backends: strict rows (exact in z3, ``<= -tau`` in a MILP), status mapping, time limits
that never become proofs, big-M from bounds only, and a clean stdout."""
import sys

import numpy as np
import pytest

from engine_nets import random_relu  # noqa: E402

from srmverify.encode import Lin, Program, encode_network  # noqa: E402
from srmverify.errors import InputError, SolverError  # noqa: E402
from srmverify.solvers import ENGINES, solve  # noqa: E402
from srmverify.solvers import highs_milp, pulp_milp  # noqa: E402
from srmverify.settings import DEFAULT  # noqa: E402
from srmverify.solvers.bigm import lower  # noqa: E402
from srmverify.solvers.solution import STATUSES  # noqa: E402

TAU = DEFAULT.tau


def one_relu() -> tuple[Program, int]:
    p = Program()
    x = p.var("x", -1, 2)
    y, _ = p.relu(Lin.var(x), -1, 2)
    return p, y


@pytest.mark.parametrize("engine", ENGINES)
def test_optimum_and_strict_rows(engine):
    p, y = one_relu()
    p.maximize(Lin.var(y) - Lin.var(0, 0.5))
    sol = solve(p, engine)
    assert sol.status == "optimal" and abs(sol.objective - 1.0) < 1e-9
    q, y = one_relu()
    q.add(Lin.var(y), ">", 2.0)                           # y > 2 is impossible (y <= 2)
    assert solve(q, engine).status == "infeasible"
    q, y = one_relu()
    q.add(Lin.var(y), ">", 2.0 - 1e-3)                    # but y > 2 - 1e-3 is possible
    assert solve(q, engine).status == "optimal"


def test_strict_is_exact_only_in_z3():
    q, y = one_relu()
    q.add(Lin.var(y), ">", 2.0 - TAU / 10)                # feasible, but within the MILP tolerance
    assert solve(q, "z3").status == "optimal"
    assert solve(q, "highs").status == "infeasible"
    assert solve(q, "z3").tolerance is None and solve(q, "highs").tolerance == TAU


def test_status_maps_only_use_our_vocabulary():
    for table in (highs_milp.STATUS_MAP, pulp_milp.STATUS_MAP):
        assert set(table.values()) <= set(STATUSES)


def test_big_m_needs_finite_bounds():
    p = Program()
    x = p.var("x")                                        # unbounded
    b = p.var("b", binary=True)
    p.implies([(b, 1)], Lin.var(x), "<=", 0.0)
    with pytest.raises(SolverError):
        lower(p)


def test_unknown_engine_is_input_error():
    with pytest.raises(InputError):
        solve(Program(), "gurobi")


@pytest.mark.parametrize("engine", ["highs", "cbc", "highs-pulp"])
def test_time_limit_is_never_a_proof(engine):
    net = random_relu(np.random.default_rng(0), (5, 40, 40, 1))
    p = Program()
    vm = encode_network(p, net, np.array([[-1.0, 1.0]] * 5), relu_method="interval")
    p.maximize(Lin.var(vm.outputs[0]))
    sol = solve(p, engine, timeout=0.05)
    assert sol.status in ("feasible", "timeout")
    assert not sol.proven
    if sol.status == "timeout":
        assert sol.values is None                         # no junk values


def test_highs_keeps_stdout_clean(capfd):
    import subprocess
    code = ("from srmverify.solvers import solve; from srmverify.encode import Program, Lin;"
            "p = Program(); x = p.var('x', 0, 1); p.maximize(Lin.var(x)); print(solve(p, 'highs').status)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "optimal"


def _fake_cbc_infeasible(monkeypatch):
    """Make every PuLP solve report what CBC sometimes reports after a time limit on a feasible
    MILP (issue 10): ``Infeasible`` with ``sol_status`` 0."""
    import pulp

    def fake(self, solver=None, **kw):
        self.status, self.sol_status = pulp.LpStatusInfeasible, pulp.LpSolutionNoSolutionFound
        return self.status
    monkeypatch.setattr(pulp.LpProblem, "solve", fake)


def test_time_limited_cbc_infeasibility_is_confirmed(monkeypatch):
    net = random_relu(np.random.default_rng(1), (2, 4, 1))
    p = Program()
    vm = encode_network(p, net, np.array([[-1.0, 1.0]] * 2), relu_method="interval")
    p.maximize(Lin.var(vm.outputs[0]))
    reference = solve(p, "highs")                          # feasible: a true optimum exists
    assert reference.status == "optimal"
    _fake_cbc_infeasible(monkeypatch)
    sol = solve(p, "cbc", timeout=30.0)
    assert sol.status == "optimal" and sol.engine == "cbc" and sol.stats["confirmed_by"] == "highs"
    assert abs(sol.objective - reference.objective) < 1e-6
    q, y = one_relu()
    q.add(Lin.var(y), ">", 2.0)                            # truly infeasible: HiGHS proves it
    assert solve(q, "cbc", timeout=30.0).status == "infeasible"


def test_unconfirmed_cbc_infeasibility_is_a_timeout(monkeypatch):
    _fake_cbc_infeasible(monkeypatch)
    monkeypatch.setattr(highs_milp, "solve_arrays", lambda m, timeout=None, settings=None, presolve=True:
                        highs_milp.Solution("timeout", "highs"))
    p, y = one_relu()
    p.maximize(Lin.var(y))
    sol = solve(p, "cbc", timeout=30.0)
    assert sol.status == "timeout" and not sol.proven and sol.values is None


def test_region_milp_reads_the_one_status_map(monkeypatch):
    """A HiGHS answer that is neither a proof nor a point (even after the retry with presolve) ends
    the region MILP incomplete with stop reason "solver error" — not a silent timeout, never
    "complete" (regions/enumerate.py reads statuses through solvers/highs.py)."""
    from srmverify.network import SNN
    from srmverify.regions import Domain, enumerate_patterns
    from srmverify.solvers import highs
    net, dom = SNN.layered([[[1.0, 2.0]]], [[1.0]]), Domain.box([[0, 5], [0, 5]])
    assert enumerate_patterns(net, dom, "milp").causal_regions == 3
    monkeypatch.setattr(highs, "status", lambda h: ("unknown", False))
    r = enumerate_patterns(net, dom, "milp")
    assert not r.complete and r.stopped == "solver error" and r.causal_regions == 0


@pytest.mark.parametrize("seed", range(4))
def test_dense_blocks_lower_like_rows_in_every_engine(seed):
    """Rows written as one dense block (Program.add_block, binaries among the columns) give the
    same optimum as the same rows written one Lin at a time, in every engine, and the same
    lowered arrays."""
    rng = np.random.default_rng(seed)
    A = np.round(rng.normal(size=(5, 4)), 3)
    rhs = np.round(np.abs(rng.normal(size=5)) + 0.5, 3)
    cost = np.round(rng.normal(size=4), 3)

    def build(block: bool) -> Program:
        p = Program()
        v = [p.var(f"x{i}", -2, 2) for i in range(3)] + [p.var("b", binary=True)]
        if block:
            p.add_block(v, A, rhs)
        else:
            for a, r in zip(A, rhs):
                p.add(Lin({k: float(c) for k, c in zip(v, a) if c != 0}), "<=", float(r))
        p.maximize(Lin({k: float(c) for k, c in zip(v, cost)}))
        return p

    a, b = lower(build(True)), lower(build(False))
    for f in ("row_hi", "starts", "index", "value"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    opts = {e: solve(build(True), e) for e in ENGINES}
    ref = solve(build(False), "z3")
    for e, sol in opts.items():
        assert sol.status == ref.status == "optimal", e
        assert abs(sol.objective - ref.objective) < 1e-6, e
    with pytest.raises(InputError):
        Program().add_block([0], [[1.0, 2.0]], [1.0])


@pytest.mark.parametrize("seed", range(6))
def test_feasibility_jump_off_gives_the_same_answers(seed):
    """Leaf MILPs (a ReLU network's maximum, above and below a cutoff) solved without presolve and
    feasibility jump, and also without the sub-MIP heuristics: the same status and optimum as the
    default solve and as z3."""
    rng = np.random.default_rng(seed)
    net = random_relu(rng, (2, 5, 5, 1))
    box = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    p = Program()
    vm = encode_network(p, net, box)
    y = vm.outputs[0]
    p.maximize(Lin.var(y))
    ref = solve(p, "z3")
    assert ref.status == "optimal"
    for cutoff in (ref.objective - 0.1, ref.objective + 0.1):
        q = p.copy()
        q.add(Lin.var(y), ">=", cutoff)
        a = highs_milp.solve_arrays(lower(q), presolve=False, feasibility_jump=False)
        b = highs_milp.solve_arrays(lower(q))
        c = highs_milp.solve_arrays(lower(q), presolve=False, feasibility_jump=False, sub_mips=False)
        assert a.status == b.status == c.status == ("optimal" if cutoff < ref.objective else "infeasible")
        if a.status == "optimal":
            assert all(abs(s.objective - ref.objective) < 1e-6 for s in (a, b, c))
