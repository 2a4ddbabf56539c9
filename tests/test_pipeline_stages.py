"""The stages of verify.pipeline.find_violation, one at a time, against hand-computed answers."""
import numpy as np

from srmverify.network import ReLUNet
from srmverify.results import QueryResult, Verdict, no_progress
from srmverify.settings import DEFAULT
from srmverify.solvers.solution import Solution
from srmverify.verify.pipeline import (Atom, Round, Search, find_violation, run_round, stage_encode, stage_falsify,
                                       verdict_without_point)

ABS = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])          # |x|
BOX = np.array([[-1.0, 2.0]])


def search(dnf, engine="highs", **kw) -> Search:
    return Search([ABS], BOX, dnf, engine, kw.pop("settings", DEFAULT), None, no_progress, None, None,
                  QueryResult(Verdict.UNKNOWN, "t", engine, tolerance=None if engine == "z3" else DEFAULT.tau),
                  first_crossing=[{}], **kw)


def test_falsify_finds_an_exact_violation_and_nothing_else():
    hit = stage_falsify(search([[Atom(np.array([-1.0]), -1.5)]]))          # |x| >= 1.5: x = 2 is a corner
    assert hit.verdict == Verdict.SAT and hit.stats["found_by"] == "sampling"
    assert abs(abs(hit.counterexample.input[0]) - 2.0) <= 0.5 + 1e-12
    assert stage_falsify(search([[Atom(np.array([-1.0]), -2.5)]])) is None   # |x| >= 2.5 never


def test_encode_decides_by_bounds_or_gives_a_round():
    s = search([[Atom(silent=0)]])                  # "the output never fires": a ReLU output always exists
    out = stage_encode(s)
    assert isinstance(out, QueryResult) and out.verdict == Verdict.UNSAT and out.stats["found_by"] == "bounds"
    r = stage_encode(search([[Atom(np.array([-1.0]), -1.5)]]))
    assert isinstance(r, Round) and r.with_dnf.n_vars >= r.base.n_vars and len(r.x) == 1


def test_solver_statuses_that_decide_alone():
    s = search([[Atom(np.array([-1.0]), -1.5)]])
    assert verdict_without_point(s, Solution("infeasible", "highs")).verdict == Verdict.UNSAT
    assert verdict_without_point(search([]), Solution("timeout", "highs")).verdict == Verdict.TIMEOUT
    assert verdict_without_point(search([]), Solution("error", "highs", message="x")).verdict == Verdict.ERROR
    assert verdict_without_point(search([]), Solution("feasible", "highs", values=np.zeros(3))) is None


def test_a_round_solves_and_rechecks_exactly():
    s = search([[Atom(np.array([-1.0]), -1.5)]])
    out = run_round(s)
    assert out.verdict == Verdict.SAT and abs(out.counterexample.input[0]) >= 1.5 - 1e-12
    full = find_violation([ABS], BOX, [[Atom(np.array([-1.0]), -2.5)]], query="t", falsify=False)
    assert full.verdict == Verdict.UNSAT
