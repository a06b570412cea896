"""Per-puzzle outcomes of evaluating one run: the raw counts every reported number is computed from.

`hrm eval` produces one `RunOutcomes` per run (one seed); `hrm compare` groups them by model and
saves them beside results.json as `outcomes.json`, so each figure in the report can be recomputed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

OUTCOMES_FILE = "outcomes.json"


@dataclass
class RunOutcomes:
    """What one run (one seed) did on each puzzle of the evaluation set.

    n: attempts per puzzle; correct: attempts the task's verifier accepted; label_exact: attempts
    equal to the stored label. first_*: the canonical attempt (no augmentation, greedy) alone:
    verified correct, equal to the label, and its per-cell accuracy over labelled cells.
    vote_rank: per puzzle, the 1-based vote rank of the first verified-correct answer among the
    distinct answers ranked by votes (0 when none is correct, absent when voting was off).
    """

    run: str
    seed: int
    n: np.ndarray
    correct: np.ndarray
    label_exact: np.ndarray
    first_correct: np.ndarray
    first_label_exact: np.ndarray
    first_cell_accuracy: float
    params: int
    forward_passes_per_answer: float
    train_wall_time_s: float | None = None
    eval_wall_time_s: float = 0.0
    vote_rank: np.ndarray | None = None
    flops_per_answer: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n = np.asarray(self.n, dtype=int)
        self.correct = np.asarray(self.correct, dtype=int)
        self.label_exact = np.asarray(self.label_exact, dtype=int)
        self.first_correct = np.asarray(self.first_correct, dtype=bool)
        self.first_label_exact = np.asarray(self.first_label_exact, dtype=bool)
        if self.vote_rank is not None:
            self.vote_rank = np.asarray(self.vote_rank, dtype=int)
        shapes = {a.shape for a in (self.n, self.correct, self.label_exact, self.first_correct,
                                    self.first_label_exact)}
        if len(shapes) != 1:
            raise ValueError(f"run {self.run}: per-puzzle arrays differ in shape: {sorted(shapes)}")
        if np.any(self.correct > self.n) or np.any(self.label_exact > self.n):
            raise ValueError(f"run {self.run}: more correct attempts than attempts on some puzzle")

    @property
    def n_puzzles(self) -> int:
        return int(self.n.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run, "seed": self.seed, "n": self.n.tolist(), "correct": self.correct.tolist(),
            "label_exact": self.label_exact.tolist(), "first_correct": self.first_correct.astype(int).tolist(),
            "first_label_exact": self.first_label_exact.astype(int).tolist(),
            "first_cell_accuracy": self.first_cell_accuracy, "params": self.params,
            "forward_passes_per_answer": self.forward_passes_per_answer,
            "train_wall_time_s": self.train_wall_time_s, "eval_wall_time_s": self.eval_wall_time_s,
            "vote_rank": None if self.vote_rank is None else self.vote_rank.tolist(),
            "flops_per_answer": self.flops_per_answer, "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunOutcomes:
        return cls(**{**d, "vote_rank": d.get("vote_rank")})


@dataclass
class ModelOutcomes:
    """All runs (seeds) of one model, evaluated on the same puzzles."""

    name: str
    arch: str
    runs: list[RunOutcomes]

    def __post_init__(self) -> None:
        if not self.runs:
            raise ValueError(f"model {self.name}: no runs")
        if len({r.n_puzzles for r in self.runs}) != 1:
            raise ValueError(f"model {self.name}: runs were evaluated on different numbers of puzzles")

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arch": self.arch, "runs": [r.to_dict() for r in self.runs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelOutcomes:
        return cls(d["name"], d["arch"], [RunOutcomes.from_dict(r) for r in d["runs"]])


def save_outcomes(path: Path, models: list[ModelOutcomes], puzzle_ids: list[int], meta: dict[str, Any]) -> None:
    from hrm.rundir import atomic_write_text

    payload = {"puzzle_ids": list(map(int, puzzle_ids)), **meta, "models": [m.to_dict() for m in models]}
    atomic_write_text(Path(path), json.dumps(payload) + "\n")


def load_outcomes(path: Path) -> tuple[list[ModelOutcomes], list[int], dict[str, Any]]:
    payload = json.loads(Path(path).read_text())
    models = [ModelOutcomes.from_dict(m) for m in payload.pop("models")]
    puzzle_ids = payload.pop("puzzle_ids")
    return models, puzzle_ids, payload
