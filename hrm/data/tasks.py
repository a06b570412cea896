"""The task registry: how to verify answers and augment puzzles, per task, in TOKEN encoding.

    task = get_task("sudoku")
    ok = task.verify(inputs, outputs)              # (N,) bool, numpy, batched
    sym = task.sample_symmetries(rng, len(inputs))  # one random symmetry per row
    answers = sym.invert(model(sym.apply(inputs)))  # augment, predict, map back

Evaluation and the dataset builders use the same verifiers, so a dataset's labels are checked by
exactly the rule that later scores a model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hrm.data.format import TASKS, DatasetError
from hrm.data.symmetry import Symmetry

_MODULES = {"sudoku": "hrm.data.sudoku", "maze": "hrm.data.maze", "arc": "hrm.data.arc", "sort": "hrm.data.sort"}


@dataclass(frozen=True)
class Task:
    """What evaluation needs to know about a task; tokens as stored in its dataset."""

    name: str
    grid_shape: tuple[int, int] | None  # None where the sequence is not a grid (sort)
    _verify: Callable[..., np.ndarray]
    _sample_symmetries: Callable[[np.random.Generator, int], Symmetry]

    def verify(self, inputs: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """(N,) bool: whether each output is a correct answer to its input (labels where needed)."""
        return self._verify(inputs, outputs, labels)

    def sample_symmetries(self, rng: np.random.Generator, n: int) -> Symmetry:
        """n random symmetries of the task (one per row of a batch)."""
        return self._sample_symmetries(rng, n)


def get_task(name: str) -> Task:
    """The task called `name`: sudoku, maze, arc or sort."""
    if name not in _MODULES:
        raise DatasetError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    module = importlib.import_module(_MODULES[name])
    return module.TASK
