"""Attempts, verification, label-exact and voting, with a toy task whose answers are easy to forge."""

from __future__ import annotations

import numpy as np
import pytest

from hrm.eval.sampling import EvalSet, run_attempts, vote_ranks


class ShuffleSymmetry:
    """Position permutations per row (what the real tasks' symmetries are, minus relabelling)."""

    def __init__(self, perms: np.ndarray):
        self.perms = perms

    def apply(self, x):
        return np.take_along_axis(x, self.perms, axis=1)

    def invert(self, x):
        return np.take_along_axis(x, np.argsort(self.perms, axis=1), axis=1)


class PlusOneTask:
    """Answer each cell with input + 1; the verifier also accepts input + 2 (an 'alternative solution')."""

    def verify(self, inputs, outputs, labels=None):
        d = outputs - inputs
        return ((d == 1) | (d == 2)).all(axis=1)

    def sample_symmetries(self, rng, n):
        return ShuffleSymmetry(np.argsort(rng.random((n, 6)), axis=1))


def toy_set(p=12) -> EvalSet:
    rng = np.random.default_rng(0)
    inputs = rng.integers(1, 5, size=(p, 6))
    labels = inputs + 1
    labels[:, -1] = 0  # one position without a label (ignore id 0)
    return EvalSet(inputs, labels, np.zeros(p, dtype=int), np.arange(p), ignore_label_id=0)


def oracle(inputs, pids, temperature, seed):
    return inputs + 1, np.full(len(inputs), 3.0)


def test_oracle_solves_everything_and_augmentations_are_mapped_back():
    data = toy_set()
    seen = []

    def position_sensitive(inputs, pids, temperature, seed):
        seen.append(inputs.copy())
        # right only if it answers position by position; a permuted view mapped back stays right
        return inputs + 1, np.full(len(inputs), 2.0)

    res = run_attempts(position_sensitive, PlusOneTask(), data, n_samples=4, augment=True, temperature=0.0)
    assert (res.correct == 4).all() and (res.label_exact == 4).all() and res.first_correct.all()
    assert res.first_label_exact.all()  # the unlabelled last position does not count
    assert res.first_cell_accuracy == 1.0 and res.forward_passes_per_answer == 2.0
    # the first call is the canonical attempt (stored order), later ones see shuffled puzzles
    np.testing.assert_array_equal(seen[0], data.inputs)
    assert not np.array_equal(seen[1], np.repeat(data.inputs, 4, axis=0))


def test_alternative_solutions_count_for_pass_but_not_for_label_exact():
    def plus_two(inputs, pids, temperature, seed):
        return inputs + 2, np.ones(len(inputs))

    res = run_attempts(plus_two, PlusOneTask(), toy_set(), n_samples=3, augment=False, temperature=0.0)
    assert (res.correct == 3).all() and (res.label_exact == 0).all()
    assert res.first_correct.all() and not res.first_label_exact.any()
    assert res.first_cell_accuracy == 0.0


def test_wrong_answers_are_rejected_and_sampling_is_seeded():
    def coin(inputs, pids, temperature, seed):
        rng = np.random.default_rng(seed)
        good = rng.random(len(inputs)) < (0.5 if temperature > 0 else 1.0)
        return np.where(good[:, None], inputs + 1, inputs), np.ones(len(inputs))

    data = toy_set(200)
    a = run_attempts(coin, PlusOneTask(), data, n_samples=8, augment=False, temperature=1.0, seed=3, batch_size=64)
    b = run_attempts(coin, PlusOneTask(), data, n_samples=8, augment=False, temperature=1.0, seed=3, batch_size=64)
    np.testing.assert_array_equal(a.correct, b.correct)
    assert a.first_correct.all()  # the canonical attempt is greedy (temperature 0)
    assert 0.4 < a.correct.sum() / (200 * 8) < 0.6
    assert (a.label_exact == a.correct).all()


def test_progress_reports_every_row():
    calls = []
    run_attempts(oracle, PlusOneTask(), toy_set(5), n_samples=2, augment=False, temperature=0.0, batch_size=4,
                 progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (15, 15) and all(t == 15 for _, t in calls)
    with pytest.raises(ValueError):
        run_attempts(oracle, PlusOneTask(), toy_set(5), n_samples=0, augment=False, temperature=0.0)


def test_vote_ranks():
    a = np.array([[1, 1], [2, 2], [3, 3]])
    answers = np.stack([
        np.stack([a[0], a[0], a[1], a[2]]),   # a0 has 2 votes (wrong); a1 correct, rank 2
        np.stack([a[1], a[1], a[1], a[0]]),   # a1 majority and correct: rank 1
        np.stack([a[0], a[1], a[2], a[2]]),   # a2 has 2 votes, then a0 (seen first), then a1: rank 3
        np.stack([a[0], a[2], a[2], a[0]]),   # nothing correct
    ])
    ok = np.all(answers == 2, axis=2)
    np.testing.assert_array_equal(vote_ranks(answers, ok), [2, 1, 3, 0])


def test_voting_in_run_attempts():
    def half_right(inputs, pids, temperature, seed):
        out = inputs + 1
        out[::2] = inputs[::2]  # every other attempt wrong, in the same way
        return out, np.ones(len(inputs))

    res = run_attempts(half_right, PlusOneTask(), toy_set(6), n_samples=4, augment=False, temperature=0.0, vote=True)
    # two distinct answers with 2 votes each: the wrong one was seen first, so the right one is rank 2
    assert (res.vote_rank == 2).all() and (res.correct == 2).all()
