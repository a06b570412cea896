"""Attempts on real Sudoku: the task's verifier, its symmetries mapped back, alternative solutions."""

from __future__ import annotations

import random

import numpy as np

from hrm.data.sudoku_solver import has_unique_solution, random_grid, solve
from hrm.data.tasks import get_task
from hrm.eval.sampling import EvalSet, run_attempts

TASK = get_task("sudoku")


def _set(blanks: int, n: int = 6, seed: int = 0) -> EvalSet:
    rng = random.Random(seed)
    inputs, labels = [], []
    for _ in range(n):
        grid = random_grid(rng)
        puzzle = list(grid)
        for cell in rng.sample(range(81), blanks):
            puzzle[cell] = 0
        inputs.append([v + 1 for v in puzzle])
        labels.append([v + 1 for v in grid])
    return EvalSet(np.array(inputs), np.array(labels), np.zeros(n, dtype=int), np.arange(n), ignore_label_id=0)


def solver(shuffle_seed: int | None = None):
    """A perfect 'model': solves whatever puzzle it is shown (randomly among solutions if asked)."""

    def predict(inputs, pids, temperature, seed):
        out = []
        for row in inputs:
            rng = random.Random(seed + shuffle_seed) if shuffle_seed is not None else None
            out.append([v + 1 for v in solve([int(t) - 1 for t in row], limit=1, rng=rng).solution])
        return np.array(out), np.ones(len(inputs))

    return predict


def test_a_solver_shown_augmented_puzzles_is_right_after_mapping_back():
    data = _set(blanks=30)
    assert all(has_unique_solution([int(t) - 1 for t in row]) for row in data.inputs)
    res = run_attempts(solver(), TASK, data, n_samples=3, augment=True, temperature=0.0, seed=1)
    assert (res.correct == 3).all() and (res.label_exact == 3).all() and res.first_correct.all()


def test_alternative_solutions_are_verified_correct_but_not_label_exact():
    data = _set(blanks=64, n=4, seed=2)  # so few givens that solutions are many
    res = run_attempts(solver(shuffle_seed=7), TASK, data, n_samples=4, augment=False, temperature=0.0, seed=3)
    assert (res.correct == 4).all()
    assert res.label_exact.sum() < res.correct.sum()


def test_copying_the_puzzle_or_breaking_a_given_is_rejected():
    data = _set(blanks=30)  # unique solutions: the solver's answer is the label

    def copy(inputs, pids, temperature, seed):
        return inputs.copy(), np.ones(len(inputs))

    def solved_but_given_changed(inputs, pids, temperature, seed):
        answers, steps = solver()(inputs, pids, temperature, seed)
        given = np.argmax(inputs >= 2, axis=1)
        rows = np.arange(len(inputs))
        answers[rows, given] = answers[rows, given] % 9 + 2  # another digit in the first given cell
        return answers, steps

    for predict in (copy, solved_but_given_changed):
        res = run_attempts(predict, TASK, data, n_samples=2, augment=True, temperature=0.0)
        assert res.correct.sum() == 0 and not res.first_correct.any()
    # cell accuracy counts only the cells to fill: copying the givens scores 0, not 51/81
    assert run_attempts(copy, TASK, data, n_samples=1, augment=False, temperature=0.0).first_cell_accuracy == 0.0
    changed_given = run_attempts(solved_but_given_changed, TASK, data, n_samples=1, augment=False, temperature=0.0)
    assert changed_given.first_cell_accuracy == 1.0
