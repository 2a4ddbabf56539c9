"""Shared test setup.

* ``tests/`` is put on ``sys.path`` once here, so every test module imports the shared helpers
  directly: ``from engine_nets import random_relu, random_snn, random_box, sample_box`` (one copy
  of each random-network generator for the whole suite);
* fixture ``rng``: a fresh seeded generator per test;
* hypothesis profile ``ci`` (chosen when ``CI`` is set, as ``.ci/run`` runs): derandomized, so a
  CI run is repeatable and a submission is judged on the examples it was tested with. Local runs
  keep hypothesis' random exploration (and its example database) to find new failures, which
  then become ``@example`` regressions.
"""
from __future__ import annotations

import sys
from pathlib import Path

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
