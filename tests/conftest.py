"""Shared fixtures. Every test starts from the same seeds, so a failure reproduces."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _deterministic_seeds():
    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:  # seed torch only where a test already uses it: the dashboard's tests stay torch-free
        sys.modules["torch"].manual_seed(0)
    yield
