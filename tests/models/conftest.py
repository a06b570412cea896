"""Model tests run tiny models: one intra-op thread is faster for them than two (OpenMP threads
that wait on each other cost more than the small matmuls they split), and far faster when
other processes share the cores."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
