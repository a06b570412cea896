"""What every dataset builder shares: a staged output folder, the index arrays, self-validation
with the task's verifier, `hrm.json`, and the summary shown at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data.format import (
    DatasetError,
    DatasetMetadata,
    PuzzleSplit,
    list_splits,
    load_split,
    staged_output,
    write_build_info,
)
from hrm.data.progress import Reporter
from hrm.data.tasks import get_task

VERIFY_CHUNK = 32768
Rows = list[tuple[str, str]]


def one_example_per_puzzle(num_groups: int, per_group: int) -> dict[str, np.ndarray]:
    """Index arrays for tasks where each example is its own puzzle and a group is an original puzzle
    followed by its `per_group - 1` augmentations (Sudoku, Maze, sort); one blank identifier."""
    n = num_groups * per_group
    return {
        "puzzle_identifiers": np.zeros(n, dtype=np.int32),
        "puzzle_indices": np.arange(n + 1, dtype=np.int32),
        "group_indices": np.arange(0, n + 1, per_group, dtype=np.int32),
    }


def metadata(
    seq_len: int, vocab_size: int, total_groups: int, num_puzzle_identifiers: int = 1, mean_puzzle_examples: float = 1.0
) -> DatasetMetadata:
    """dataset.json as the reference writes it: PAD 0, labels 0 ignored, identifier 0 blank, one set."""
    return DatasetMetadata(
        pad_id=0,
        ignore_label_id=0,
        blank_identifier_id=0,
        vocab_size=vocab_size,
        seq_len=seq_len,
        num_puzzle_identifiers=num_puzzle_identifiers,
        total_groups=total_groups,
        mean_puzzle_examples=mean_puzzle_examples,
        sets=["all"],
    )


def verify_split(loaded: PuzzleSplit, task_name: str, reporter: Reporter) -> dict[str, int]:
    """Check every label of a loaded split (the loader already checked shapes, ranges and indices)
    with the task's verifier. Raises DatasetError naming the file when a label is not a correct answer."""
    task = get_task(task_name)
    counts = {"examples": 0, "puzzles": 0, "groups": 0}
    for name, s in loaded.sets.items():
        for start in range(0, s.num_examples, VERIFY_CHUNK):
            inputs = np.asarray(s.inputs[start : start + VERIFY_CHUNK])
            labels = np.asarray(s.labels[start : start + VERIFY_CHUNK])
            ok = task.verify(inputs, labels, labels)
            if not ok.all():
                row = start + int(np.argmin(ok))
                raise DatasetError(
                    f"{loaded.root / loaded.split / f'{name}__labels.npy'}: {int((~ok).sum())} labels fail the "
                    f"{task_name} verifier (first at row {row}); the builder wrote a wrong answer"
                )
            reporter.advance(len(inputs))
        counts["examples"] += s.num_examples
        counts["puzzles"] += s.num_puzzles
        counts["groups"] += s.num_groups
    return counts


def run_build(
    *,
    task: str,
    out: Path,
    force: bool,
    args: dict[str, Any],
    seed: int,
    reporter: Reporter,
    body: Callable[[Path], tuple[dict[str, Any], Rows]],
) -> dict[str, Any]:
    """Run `body(folder)` in a staged folder beside `out`, validate what it wrote, add hrm.json, and
    only then move it into place. Returns the summary (also shown by the reporter)."""
    started = time.perf_counter()
    out = Path(out)
    with staged_output(out, force=force) as tmp:
        stats, rows = body(tmp)
        loaded = {split: load_split(tmp, split) for split in list_splits(tmp)}
        splits = list(loaded)
        first = loaded[splits[0]].metadata
        for split, data in loaded.items():
            if (data.metadata.seq_len, data.metadata.vocab_size) != (first.seq_len, first.vocab_size):
                raise DatasetError(f"{tmp / split / 'dataset.json'}: seq_len/vocab_size differ from {splits[0]}")
        reporter.stage("validate", sum(data.num_examples for data in loaded.values()))
        counts = {split: verify_split(data, task, reporter) for split, data in loaded.items()}
        seconds = time.perf_counter() - started
        write_build_info(tmp, task, args, seed, counts, seconds, stats=stats, splits=splits,
                         seq_len=first.seq_len, vocab_size=first.vocab_size)
    summary = {"task": task, "out": str(out), "counts": counts, "seconds": round(seconds, 3), "stats": stats}
    table: Rows = [("output", str(out))]
    for split, c in counts.items():
        table.append((split, f"{c['examples']:,} examples, {c['puzzles']:,} puzzles, {c['groups']:,} groups"))
    table += rows
    table.append(("seconds", f"{seconds:.1f}"))
    reporter.summary(summary, table)
    return summary


def histogram(values: np.ndarray, edges: list[int]) -> dict[str, int]:
    """Counts of `values` in the bins [edges[i], edges[i+1]) with readable labels (the last bin is open)."""
    values = np.asarray(values)
    bins: dict[str, int] = {}
    for lo, hi in zip(edges, edges[1:] + [None], strict=True):
        mask = values >= lo if hi is None else (values >= lo) & (values < hi)
        label = f"{lo}+" if hi is None else (str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}")
        bins[label] = int(mask.sum())
    return bins


def format_histogram(bins: dict[str, int]) -> str:
    return "  ".join(f"{k}: {v}" for k, v in bins.items() if v)
