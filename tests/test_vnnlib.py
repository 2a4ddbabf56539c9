"""VNN-LIB 1.0 reading (the forms VNN-COMP benchmarks use) and VNN-COMP counterexample files."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from srmverify.errors import InputError
from srmverify.formats import parse_box
from srmverify.formats.vnnlib import (format_counterexample, parse_vnnlib, read_counterexample, read_vnnlib,
                                      write_counterexample)


def declare(n_in: int, n_out: int) -> str:
    return "\n".join([f"(declare-const X_{i} Real)" for i in range(n_in)] +
                     [f"(declare-const Y_{j} Real)" for j in range(n_out)]) + "\n"


def rows(conj):
    return sorted((tuple(c.tolist()), d) for c, d in conj)


ACAS_PROP2 = """; ACAS Xu property 2 (as distributed with VNN-COMP)
; Unsafe if COC is maximal
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const X_2 Real)
(declare-const X_3 Real)
(declare-const X_4 Real)

(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(declare-const Y_3 Real)
(declare-const Y_4 Real)

; Input constraints:
(assert (<= X_0 0.679857769))
(assert (>= X_0 0.6))

(assert (<= X_1 0.5))
(assert (>= X_1 -0.5))

(assert (<= X_2 0.5))
(assert (>= X_2 -0.5))

(assert (<= X_3 0.5))
(assert (>= X_3 0.45))

(assert (<= X_4 -0.45))
(assert (>= X_4 -0.5))

; unsafe if coc is maximal:
(assert (>= Y_0 Y_1))
(assert (>= Y_0 Y_2))
(assert (>= Y_0 Y_3))
(assert (>= Y_0 Y_4))
"""


def test_acas_xu_conjunctive_output():
    p = parse_vnnlib(ACAS_PROP2, "prop_2.vnnlib")
    assert (p.n_inputs, p.n_outputs) == (5, 5)
    assert p.input_box.tolist() == [[0.6, 0.679857769], [-0.5, 0.5], [-0.5, 0.5], [0.45, 0.5], [-0.5, -0.45]]
    (conj,) = p.output_dnf
    # Y_0 >= Y_k  <=>  -Y_0 + Y_k <= 0
    expected = [(tuple(-1.0 if j == 0 else (1.0 if j == k else 0.0) for j in range(5)), 0.0) for k in range(1, 5)]
    assert rows(conj) == sorted(expected)


def test_acas_xu_disjunctive_output():
    text = declare(5, 5) + "".join(f"(assert (<= X_{i} 1))(assert (>= X_{i} -1))" for i in range(5))
    text += "(assert (or\n  (and (<= Y_0 Y_1))\n  (and (<= Y_0 Y_2))\n  (and (<= Y_0 Y_3) (<= Y_0 Y_4))\n))\n"
    p = parse_vnnlib(text)
    assert [len(c) for c in p.output_dnf] == [1, 1, 2]
    assert rows(p.output_dnf[0]) == [((1.0, -1.0, 0.0, 0.0, 0.0), 0.0)]


def test_mnist_robustness_form_and_reader(tmp_path):
    """An MNIST-style local-robustness property: an L-inf box around an image, label 7, the
    property is violated if any other class scores at least as high."""
    rng = np.random.default_rng(0)
    img, eps, label = rng.uniform(0, 1, 49), 0.02, 7
    lo, hi = np.clip(img - eps, 0, 1), np.clip(img + eps, 0, 1)
    text = declare(49, 10) + "".join(f"(assert (>= X_{i} {float(lo[i])!r}))\n(assert (<= X_{i} {float(hi[i])!r}))\n"
                                     for i in range(49))
    text += "(assert (or\n" + "".join(f"    (and (>= Y_{k} Y_{label}))\n" for k in range(10) if k != label) + "))\n"
    path = tmp_path / "mnist_eps0.02.vnnlib"
    path.write_text(text)
    p = read_vnnlib(path)
    assert p.source == str(path)
    np.testing.assert_array_equal(p.input_box, np.stack([lo, hi], axis=1))  # repr floats are exact
    assert len(p.output_dnf) == 9
    for k, conj in zip([k for k in range(10) if k != label], p.output_dnf):
        (c, d), = conj
        assert d == 0.0 and c[label] == 1.0 and c[k] == -1.0 and np.count_nonzero(c) == 2
    # parse_box reads the input box of a .vnnlib file
    np.testing.assert_array_equal(parse_box(str(path), 49), p.input_box)


def test_terms_numbers_comments_and_strict():
    text = declare(2, 3) + """
    (assert (and (>= X_0 -1.5e-1) (<= X_0 2.5E+0)))  ; scientific notation
    (assert (<= -1 X_1 1))                           ; chained comparison
    (assert (< (+ Y_0 (* -2.0 Y_1) (- Y_2) 0.5) (- 3 1)))
    (assert (> (* Y_0 0.5 4) (/ Y_2 -2)))
    (assert (= (- Y_1 Y_2) 0.25))
    """
    p = parse_vnnlib(text)
    assert p.input_box.tolist() == [[-0.15, 2.5], [-1.0, 1.0]]
    (conj,) = p.output_dnf
    assert rows(conj) == sorted([
        ((1.0, -2.0, -1.0), 1.5),          # Y0 - 2 Y1 - Y2 + 0.5 < 2
        ((-2.0, 0.0, -0.5), 0.0),          # 2 Y0 > -Y2/2
        ((0.0, 1.0, -1.0), 0.25),          # Y1 - Y2 = 0.25 (both directions)
        ((0.0, -1.0, 1.0), -0.25),
    ])


def test_input_disjunction_gives_several_boxes():
    text = declare(2, 2) + """
    (assert (or (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1))
                (and (>= X_0 2) (<= X_0 3) (>= X_1 -1) (<= X_1 0))))
    (assert (<= Y_0 Y_1))
    """
    p = parse_vnnlib(text)
    assert [b.tolist() for b in p.input_boxes] == [[[0, 1], [0, 1]], [[2, 3], [-1, 0]]]
    assert len(p.groups) == 1 and len(p.output_dnf) == 1
    with pytest.raises(InputError, match="expected exactly one input box"):
        p.input_box


def test_boxes_with_different_output_conditions_form_groups():
    text = declare(1, 2) + """
    (assert (or (and (>= X_0 0) (<= X_0 1) (<= Y_0 0))
                (and (>= X_0 1) (<= X_0 2) (<= Y_1 0))
                (and (>= X_0 3) (<= X_0 4) (<= Y_0 0))))
    """
    p = parse_vnnlib(text)
    assert len(p.groups) == 2
    (boxes0, dnf0), (boxes1, dnf1) = p.groups
    assert [b.tolist() for b in boxes0] == [[[0, 1]], [[3, 4]]] and rows(dnf0[0]) == [((1.0, 0.0), 0.0)]
    assert [b.tolist() for b in boxes1] == [[[1, 2]]] and rows(dnf1[0]) == [((0.0, 1.0), 0.0)]
    with pytest.raises(InputError):
        p.output_dnf


def test_no_output_constraint_is_one_empty_conjunction():
    p = parse_vnnlib(declare(1, 1) + "(assert (>= X_0 0)) (assert (<= X_0 1))")
    assert p.output_dnf == [[]]


@pytest.mark.parametrize("body, problem", [
    ("(assert (<= X_0 1)", "never closed"),
    ("(assert (<= X_0 1)))", "unbalanced"),
    ("(assert (<= X_0 abc))", "expected a number"),
    ("(assert (<= X_7 1))", "before its declare-const"),
    ("(assert (<= (+ X_0 Y_0) 1))", "mixing inputs X and outputs Y"),
    ("(assert (<= (* Y_0 Y_0) 1))", "nonlinear"),
    ("(assert (<= (+ X_0 X_1) 1))", "one variable"),
    ("(assert (not (<= X_0 1)))", "unsupported connective"),
    ("(assert (<= X_0 1e999))", "finite"),
    ("(define-fun f () Real 1)", "declare-const or assert"),
    ("(declare-const Z_0 Real)", "X_<i>"),
    ("(declare-const X_0 Real)", "declared twice"),
])
def test_malformed_files_name_file_line_and_form(tmp_path, body, problem):
    path = tmp_path / "bad.vnnlib"
    path.write_text(declare(2, 1).replace("\n", " ") + "\n" + body)   # the body is on line 2
    with pytest.raises(InputError) as info:
        read_vnnlib(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: line 2 = ") and problem in msg, msg


def test_unbounded_input_and_missing_declaration():
    with pytest.raises(InputError, match="X_1 = .*lower and an upper bound"):
        parse_vnnlib(declare(2, 1) + "(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1))")
    with pytest.raises(InputError, match="X_0.*not declared"):
        parse_vnnlib("(declare-const X_1 Real) (declare-const Y_0 Real)")
    with pytest.raises(InputError, match="contradictory"):
        parse_vnnlib(declare(1, 1) + "(assert (<= X_0 0)) (assert (>= X_0 1))")
    with pytest.raises(InputError, match="cannot read"):
        read_vnnlib("/nonexistent/prop.vnnlib")


# ----------------------------------------------------------------- independent semantic check
atoms = st.tuples(st.lists(st.integers(-3, 3), min_size=3, max_size=3), st.integers(-4, 4), st.sampled_from(["<=", ">="]))
formulas = st.recursive(atoms.map(lambda a: ("atom", a)),
                        lambda sub: st.tuples(st.sampled_from(["and", "or"]), st.lists(sub, min_size=1, max_size=3)),
                        max_leaves=8)


def render(f) -> str:
    if f[0] == "atom":
        coef, d, op = f[1]
        term = "(+ " + " ".join(f"(* {c} Y_{j})" for j, c in enumerate(coef)) + ")"
        return f"({op} {term} {d})"
    return f"({f[0]} " + " ".join(render(g) for g in f[1]) + ")"


def truth(f, y) -> bool:
    if f[0] == "atom":
        coef, d, op = f[1]
        v = float(np.dot(coef, y))
        return v <= d if op == "<=" else v >= d
    return (all if f[0] == "and" else any)(truth(g, y) for g in f[1])


@settings(max_examples=60, deadline=None)
@given(formulas, st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=8))
def test_output_dnf_agrees_with_the_formula(f, points):
    """The parsed DNF holds at a point iff the original nested formula does (integer data: exact)."""
    text = declare(1, 3) + "(assert (<= 0 X_0 1))\n(assert " + render(f) + ")"
    try:
        dnf = parse_vnnlib(text).output_dnf
    except InputError as exc:  # every disjunct is constant-false
        assert "no assignment can satisfy" in str(exc)
        dnf = []
    for y in points:
        y = np.array(y, dtype=float)
        assert any(all(c @ y <= d for c, d in conj) for conj in dnf) == truth(f, y)


def test_counterexample_round_trip(tmp_path):
    x, y = [0.1, -2.5e-7, 1 / 3], [0.7000000000000001, None, -4.0]
    path = tmp_path / "cex.txt"
    write_counterexample(path, x, y)
    text = path.read_text()
    assert text.startswith("((X_0 0.1)\n (X_1 -2.5e-07)") and "(Y_2 -4.0))" in text and "Y_1: the output neuron never fires" in text
    rx, ry = read_counterexample(path)
    assert rx.tolist() == x and ry[0] == y[0] and ry[1] == np.inf and ry[2] == -4.0
    # the VNN-COMP result file form, with a leading "sat" line, reads too
    path.write_text("sat\n" + format_counterexample(x, [1.0, 2.0, 3.0]))
    assert read_counterexample(path)[1].tolist() == [1.0, 2.0, 3.0]
