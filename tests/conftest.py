"""Shared test setup.

* ``tests/`` is put on ``sys.path`` once here, so every test module imports the shared helpers
  directly: ``from engine_nets import random_relu, random_snn, random_box, sample_box`` (one copy
  of each random-network generator for the whole suite);
* fixture ``rng``: a fresh seeded generator per test.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
