"""The one settings object: documented defaults, validated names and values, and passed down
(a changed setting reaches the stage that uses it)."""
import dataclasses

import numpy as np
import pytest

from srmverify.errors import InputError
from srmverify.network import ReLUNet
from srmverify.settings import DEFAULT, Settings
from srmverify.solvers.registry import BACKENDS, ENGINES, EXACT_ENGINES
from srmverify.verify.queries import output_bounds, robustness


def test_defaults_are_the_documented_values():
    assert (DEFAULT.tau, DEFAULT.bound_margin, DEFAULT.min_time_slice, DEFAULT.max_refinements) == (1e-6, 1e-9, 0.01, 30)
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.tau = 1.0                                     # type: ignore[misc]


@pytest.mark.parametrize("change", [dict(tua=1e-7), dict(tau=0.0), dict(tau=float("nan")), dict(n_samples=2.5),
                                    dict(max_cuts=-1), dict(max_refinements=-2), dict(tau="1e-6"), dict(bab_batch=True)])
def test_bad_settings_are_input_errors_naming_the_field(change):
    (name, value), = change.items()
    with pytest.raises(InputError) as e:
        DEFAULT.replace(**change)
    assert e.value.field == name and e.value.exit_code == 3


def test_settings_reach_the_query():
    net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])      # |x|
    box = np.array([[-1.0, 2.0]])
    assert output_bounds(net, box, settings=DEFAULT.replace(tau=1e-5)).tolerance == 1e-5
    r = robustness(net, [0.5], 0.1, mode="range", out_lo=[0.0], out_hi=[1.0], settings=Settings(tau=2e-6))
    assert r.verdict.value == "unsat" and r.tolerance == 2e-6


def test_registry_is_one_table():
    assert ENGINES == tuple(BACKENDS) and EXACT_ENGINES == ("z3",)
    assert all(b.solve_arrays is not None for name, b in BACKENDS.items() if name not in EXACT_ENGINES)
