"""Constructed per-puzzle outcomes: known counts, so every reported figure can be checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hrm.eval.outcomes import ModelOutcomes, RunOutcomes


def make_model(name: str, arch: str, p_correct: float, seeds=(0, 1, 2), n_puzzles: int = 40, n: int = 4,
               rng_seed: int = 0, vote: bool = True) -> ModelOutcomes:
    rng = np.random.default_rng(rng_seed)
    runs = []
    for s in seeds:
        correct = rng.binomial(n, p_correct, size=n_puzzles)
        runs.append(RunOutcomes(
            run=f"logs/{name}-{s}", seed=s, n=np.full(n_puzzles, n), correct=correct,
            label_exact=correct, first_correct=correct > n // 2, first_label_exact=correct > n // 2 + 1,
            first_cell_accuracy=0.5 + p_correct / 2,
            params=1000 if arch == "gpt2" else 2000, forward_passes_per_answer=81.0 if arch == "gpt2" else 4.0,
            train_wall_time_s=300.0, eval_wall_time_s=12.0,
            vote_rank=np.where(correct > 0, 1, 0) if vote else None))
    return ModelOutcomes(name, arch, runs)


@pytest.fixture(autouse=True)
def _one_thread():
    """The models here are tiny: with two threads on a busy 2-core machine each op waits for the other
    thread to be scheduled (about 16 ms per op measured); one thread is several times faster."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def hrm_better():
    return [make_model("hrm", "hrm_act", 0.7, rng_seed=1), make_model("gpt2", "gpt2", 0.2, rng_seed=2)]


@pytest.fixture
def hrm_worse():
    return [make_model("hrm", "hrm_act", 0.1, rng_seed=3), make_model("gpt2", "gpt2", 0.6, rng_seed=4)]
