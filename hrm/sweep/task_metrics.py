"""Evaluate a trained run's checkpoint on one split and report the task's figures, verifier-checked.

    figures = evaluate_checkpoint("logs/sweep-x-s0", split="test_len20")
    figures.values   {"kendall_tau": 0.93, "perfect_sort_rate": 0.41, "accuracy": 0.88, ...}
    figures.reasons  {"routing_entropy": "the model does not route"}   # why a figure is missing

Per task:
- sort: kendall_tau (how sorted the keys come out, mean over sequences), perfect_sort_rate (the
  verifier accepts the permutation), accuracy (output positions equal to the label);
- sudoku, maze, arc: exact_accuracy (the verifier accepts the answer), cell_accuracy (cells to
  fill that equal the label; givens do not count, as in `hrm eval`).
Every model also reports, where it has them, the routing figures and H updates of its `predict`
diagnostics over the same puzzles: routing_entropy, head_concentration, n_H_updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SORT_COLUMNS = ("kendall_tau", "perfect_sort_rate", "accuracy")
GRID_COLUMNS = ("exact_accuracy", "cell_accuracy")
DIAG_COLUMNS = ("routing_entropy", "head_concentration", "n_H_updates")
_DIAG_KEYS = {"routing_entropy": "routing_entropy", "head_concentration": "head_concentration",
              "n_H_updates": "h_updates"}


def task_columns(task: str) -> tuple[str, ...]:
    return SORT_COLUMNS if task == "sort" else GRID_COLUMNS


@dataclass
class Figures:
    """Named figures; a figure that could not be measured is None with its reason."""

    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def missing(self, names: tuple[str, ...] | list[str], reason: str) -> None:
        for name in names:
            self.values.setdefault(name, None)
            if self.values[name] is None:
                self.reasons.setdefault(name, reason)

    def update(self, other: Figures) -> None:
        self.values.update(other.values)
        self.reasons.update(other.reasons)


def kendall_tau(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Per row, Kendall's tau-b between output slot order and the key each slot points at.

    Sort tokens: keys are k + 1, PAD 0; an output token p + 1 points at input position p. The keys
    read in output order are compared with slot order over the row's length: 1 when they never
    decrease, -1 when they come out reversed. A pointer outside the row reads as a key below every
    real key (it scores against the answer). NaN for rows shorter than 2 or whose keys are all equal.
    """
    inputs = np.asarray(inputs, dtype=np.int64)
    outputs = np.asarray(outputs, dtype=np.int64)
    n, seq_len = inputs.shape
    length = (inputs != 0).sum(axis=1)
    used = np.arange(seq_len)[None, :] < length[:, None]
    pointer = outputs - 1
    valid = used & (pointer >= 0) & (pointer < length[:, None])
    keys = np.take_along_axis(inputs, np.clip(pointer, 0, seq_len - 1), axis=1)
    keys = np.where(valid, keys, 0)
    upper = np.triu(np.ones((seq_len, seq_len), dtype=bool), k=1)[None]
    pairs = upper & used[:, :, None] & used[:, None, :]
    sign = np.sign(keys[:, None, :] - keys[:, :, None])  # + when the later slot holds the larger key
    concordant_minus_discordant = (sign * pairs).sum(axis=(1, 2))
    n0 = pairs.sum(axis=(1, 2))
    untied = ((sign != 0) & pairs).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = concordant_minus_discordant / np.sqrt(n0 * untied)
    return np.where((n0 > 0) & (untied > 0), tau, np.nan)


def score(task_name: str, inputs: np.ndarray, labels: np.ndarray, tokens: np.ndarray,
          label_mask: np.ndarray) -> dict[str, float]:
    """The task's figures for answers `tokens` (N, S) to `inputs` with `labels`."""
    from hrm.data.tasks import get_task

    ok = get_task(task_name).verify(inputs, tokens, labels)
    equal = tokens == labels
    if task_name == "sort":
        tau = kendall_tau(inputs, tokens)
        return {
            "kendall_tau": float(np.nanmean(tau)) if np.isfinite(tau).any() else float("nan"),
            "perfect_sort_rate": float(ok.mean()),
            "accuracy": float(equal[label_mask].mean()) if label_mask.any() else float("nan"),
        }
    to_fill = label_mask & (labels != inputs)
    return {"exact_accuracy": float(ok.mean()),
            "cell_accuracy": float(equal[to_fill].mean()) if to_fill.any() else float("nan")}


def evaluate_checkpoint(source: str | Path, split: str = "", data_path: str | Path | None = None,
                        max_examples: int = 0, batch_size: int = 256, device: str = "cpu") -> Figures:
    """Load a run (newest valid checkpoint) or one checkpoint file and score it on `split` of its
    dataset (or of `data_path`, a dataset with the same tokens); also train_time_s and step."""
    from hrm.eval.evaluate import load_run

    run = load_run(source, device=device)
    return evaluate_loaded(run, data_path, split, max_examples, batch_size)


def evaluate_loaded(run: Any, data_path: str | Path | None = None, split: str = "", max_examples: int = 0,
                    batch_size: int = 256) -> Figures:
    """Score an already loaded run (hrm.eval.evaluate.LoadedRun) on one split."""
    import torch

    from hrm.eval.sampling import load_eval_set

    device = run.device
    task = run.config.data.task
    root = Path(data_path) if data_path is not None else Path(run.config.data.path)
    split = split or run.config.data.eval_split
    data = load_eval_set(root, split, max_examples)
    figures = Figures()
    figures.values["train_time_s"] = run.train_seconds
    if run.train_seconds is None:
        figures.reasons["train_time_s"] = "the checkpoint does not record its training seconds"
    figures.values["step"] = float(run.step)

    tokens = np.empty_like(data.inputs)
    diag_sums: dict[str, float] = {}
    diag_rows: dict[str, int] = {}
    with torch.no_grad():
        for start in range(0, data.n_puzzles, batch_size):
            stop = min(start + batch_size, data.n_puzzles)
            batch = {
                "inputs": torch.from_numpy(data.inputs[start:stop]).to(device),
                "labels": torch.full((stop - start, data.inputs.shape[1]), -100, dtype=torch.int64, device=device),
                "puzzle_identifiers": torch.from_numpy(data.puzzle_identifiers[start:stop]).to(device),
            }
            pred = run.model.predict(batch)
            tokens[start:stop] = pred.tokens.cpu().numpy()
            for column, key in _DIAG_KEYS.items():
                value = pred.diag.get(key)
                if isinstance(value, (int, float)):
                    diag_sums[column] = diag_sums.get(column, 0.0) + float(value) * (stop - start)
                    diag_rows[column] = diag_rows.get(column, 0) + (stop - start)
    figures.values.update(score(task, data.inputs, data.labels, tokens, data.label_mask()))
    for column in DIAG_COLUMNS:
        if column in diag_sums:
            figures.values[column] = diag_sums[column] / diag_rows[column]
        else:
            figures.values[column] = None
            figures.reasons[column] = (f"{run.arch} does not route its heads" if column != "n_H_updates"
                                       else f"{run.arch} reports no H updates")
    figures.values["examples"] = float(data.n_puzzles)
    return figures
