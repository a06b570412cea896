"""Attempts at each puzzle, checked by the task's verifier: the raw material of Pass@k.

Per puzzle the evaluator makes one *canonical* attempt (the puzzle as stored, greedy) for the
single-answer figures, and n further independent attempts for Pass@k:
  - models that predict all cells at once (HRM, the direct transformer) see a random symmetry
    of the puzzle (the task's augmentations) and their answer is mapped back; optionally their
    output is also sampled with a temperature;
  - autoregressive models (GPT-2) sample with a temperature; augmenting them is optional.
The canonical attempt is kept out of the n so the n attempts are identically distributed, which
the unbiased Pass@k estimator assumes.

Each answer is checked by `task.verify` (any valid solution counts) and compared with the label
(label-exact, reported too). Voting ranks the distinct answers of the n attempts by how many
attempts gave them (ties: first seen first), as ARC scoring does with two guesses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# predict(inputs (B, S), puzzle_identifiers (B,), temperature, seed) -> (answers (B, S), steps (B,))
Predictor = Callable[[np.ndarray, np.ndarray, float, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class EvalSet:
    """The puzzles to evaluate: the first example of each puzzle of a split, in stored tokens."""

    inputs: np.ndarray
    labels: np.ndarray
    puzzle_identifiers: np.ndarray
    puzzle_ids: np.ndarray  # index of each puzzle in the split (sets in order), for pairing models
    ignore_label_id: int | None

    @property
    def n_puzzles(self) -> int:
        return int(self.inputs.shape[0])

    def label_mask(self) -> np.ndarray:
        """Positions that carry a label (cell accuracy is measured there)."""
        if self.ignore_label_id is None:
            return np.ones(self.labels.shape, dtype=bool)
        return self.labels != self.ignore_label_id


def load_eval_set(root: Path, split: str = "test", max_puzzles: int = 0) -> EvalSet:
    """The first example of every puzzle of `<root>/<split>` (all sets, in order); the first
    `max_puzzles` of them when > 0, so every model sees the same puzzles."""
    from hrm.data.format import load_split

    data = load_split(Path(root), split)
    inputs, labels, ids = [], [], []
    for s in data.sets.values():
        first = np.asarray(s.puzzle_indices[:-1], dtype=np.int64)
        inputs.append(np.asarray(s.inputs[first]))
        labels.append(np.asarray(s.labels[first]))
        ids.append(np.asarray(s.puzzle_identifiers))
    inputs_a, labels_a, ids_a = np.concatenate(inputs), np.concatenate(labels), np.concatenate(ids)
    keep = slice(None) if max_puzzles <= 0 else slice(0, max_puzzles)
    return EvalSet(inputs_a[keep].astype(np.int64), labels_a[keep].astype(np.int64), ids_a[keep].astype(np.int64),
                   np.arange(len(inputs_a))[keep], data.metadata.ignore_label_id)


@dataclass
class Attempts:
    """What the attempts at each puzzle gave (arrays over puzzles)."""

    n: np.ndarray
    correct: np.ndarray
    label_exact: np.ndarray
    first_correct: np.ndarray
    first_label_exact: np.ndarray
    first_cell_accuracy: float
    forward_passes_per_answer: float
    vote_rank: np.ndarray | None
    seconds: float


def vote_ranks(answers: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """answers (P, n, S), ok (P, n) -> per puzzle, the 1-based rank (by votes) of the best-ranked
    distinct answer that is correct, 0 when none is."""
    ranks = np.zeros(answers.shape[0], dtype=int)
    for p in range(answers.shape[0]):
        _, first, inverse, counts = np.unique(answers[p], axis=0, return_index=True, return_inverse=True,
                                              return_counts=True)
        order = sorted(range(len(counts)), key=lambda u: (-counts[u], first[u]))
        correct_unique = {int(u) for u, good in zip(inverse.ravel(), ok[p], strict=True) if good}
        for rank, u in enumerate(order, start=1):
            if u in correct_unique:
                ranks[p] = rank
                break
    return ranks


def run_attempts(
    predict: Predictor,
    task,
    data: EvalSet,
    n_samples: int,
    augment: bool,
    temperature: float,
    seed: int = 0,
    batch_size: int = 256,
    vote: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Attempts:
    """The canonical attempt plus n_samples attempts per puzzle, verified (see module docstring)."""
    if n_samples < 1:
        raise ValueError("n_samples must be >= 1")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    p, s = data.inputs.shape
    total_rows = p * (1 + n_samples)
    done = 0

    def run_rows(inputs: np.ndarray, puzzle_ids: np.ndarray, temp: float, sym) -> tuple[np.ndarray, np.ndarray]:
        nonlocal done
        answers, steps = np.empty_like(inputs), np.empty(len(inputs), dtype=float)
        shown = inputs if sym is None else sym.apply(inputs)
        for lo in range(0, len(inputs), batch_size):
            hi = min(lo + batch_size, len(inputs))
            out, st = predict(shown[lo:hi], puzzle_ids[lo:hi], temp, int(rng.integers(2**31)))
            answers[lo:hi], steps[lo:hi] = out, st
            done += hi - lo
            if progress is not None:
                progress(done, total_rows)
        return (answers if sym is None else sym.invert(answers)), steps

    # The canonical attempt: as stored, greedy.
    first, _ = run_rows(data.inputs, data.puzzle_identifiers, 0.0, None)
    first_ok = task.verify(data.inputs, first, data.labels)
    mask = data.label_mask()
    # Cell accuracy over the cells the answer has to change (Sudoku: the blanks), so copied givens
    # do not inflate it.
    to_fill = mask & (data.labels != data.inputs)
    cell_acc = float(((first == data.labels) & to_fill).sum() / max(int(to_fill.sum()), 1))
    first_exact = ((first == data.labels) | ~mask).all(axis=1)

    # n attempts per puzzle, rows grouped by puzzle: (P * n, S).
    inputs = np.repeat(data.inputs, n_samples, axis=0)
    labels = np.repeat(data.labels, n_samples, axis=0)
    pids = np.repeat(data.puzzle_identifiers, n_samples, axis=0)
    sym = task.sample_symmetries(rng, len(inputs)) if augment else None
    answers, steps = run_rows(inputs, pids, temperature, sym)
    ok = np.asarray(task.verify(inputs, answers, labels), dtype=bool)
    exact = ((answers == labels) | ~np.repeat(mask, n_samples, axis=0)).all(axis=1)
    ok_pn, exact_pn = ok.reshape(p, n_samples), exact.reshape(p, n_samples)
    ranks = vote_ranks(answers.reshape(p, n_samples, s), ok_pn) if vote else None
    return Attempts(
        n=np.full(p, n_samples), correct=ok_pn.sum(axis=1), label_exact=exact_pn.sum(axis=1),
        first_correct=np.asarray(first_ok, dtype=bool), first_label_exact=first_exact, first_cell_accuracy=cell_acc,
        forward_passes_per_answer=float(steps.mean()), vote_rank=ranks, seconds=time.perf_counter() - start,
    )
