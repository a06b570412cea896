"""Test sets for the OOD suites, built with the data builders into a cache folder and reused.

- sort at another length L: `build_sort` with the test split at length L, padded to the model's
  sequence length (passed as an extra test length), so the model sees the tokens it was built for;
- Sudoku at another clue density: `build_sudoku` with `givens` set, same difficulty as trained;
- low data: the training split of the run's dataset cut to N groups (random, seeded); the other
  splits are linked, so every size is scored on exactly the same test puzzles.
A cache folder is named for everything that decides its content, and built atomically (staged
by the builders, renamed at the end), so a crash never leaves half a dataset to be reused.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data.format import (
    BUILD_INFO,
    DatasetMetadata,
    list_splits,
    load_split,
    read_build_info,
    staged_output,
    write_split,
)
from hrm.data.progress import QuietReporter

CACHE_DIR = Path("data/cache/ood")


def sort_length_set(cache: Path, length: int, seq_len: int, key_range: int, num_test: int, seed: int) -> Path:
    """A sort dataset whose `test` split holds `num_test` sequences of exactly `length` keys, padded
    to `seq_len` (the model's). Returns the dataset root."""
    from hrm.data.sort_build import SortOptions, build_sort

    out = Path(cache) / f"sort-len{length}-seq{seq_len}-keys{key_range}-n{num_test}-seed{seed}"
    if not (out / BUILD_INFO).is_file():
        extra = [seq_len] if seq_len > length else []
        build_sort(SortOptions(out=out, length=(length, length), test_lengths=extra, num_train=1, num_test=num_test,
                               key_range=key_range, seed=seed, force=out.exists()), QuietReporter())
    return out


def sudoku_density_set(cache: Path, givens: tuple[int, int], difficulty: str, num_test: int, seed: int) -> Path:
    """A Sudoku dataset whose `test` split holds `num_test` puzzles with givens in the range."""
    from hrm.data.sudoku_build import SudokuOptions, build_sudoku

    lo, hi = givens
    out = Path(cache) / f"sudoku-givens{lo}-{hi}-{difficulty}-n{num_test}-seed{seed}"
    if not (out / BUILD_INFO).is_file():
        build_sudoku(SudokuOptions(out=out, num_train=1, num_test=num_test, difficulty=difficulty, givens=(lo, hi),
                                   workers=1, seed=seed, force=out.exists()), QuietReporter())
    return out


def givens_of(root: Path, split: str = "test") -> dict[str, float]:
    """min / mean / max givens of a Sudoku split as its build recorded them (hrm.json stats)."""
    info = read_build_info(root) or {}
    stats = (info.get("stats") or {}).get(split) or {}
    g = stats.get("givens") or {}
    return {k: float(g[k]) for k in ("min", "mean", "max") if isinstance(g.get(k), (int, float))}


def subsample_train(source: Path, cache: Path, groups: int, seed: int) -> tuple[Path, int]:
    """`source` with its train split cut to `groups` groups drawn at random (all of them when it has
    fewer). Returns the new root and the number of groups kept."""
    source = Path(source).resolve()
    train = load_split(source, "train", mmap=True)
    available = sum(s.num_groups for s in train.sets.values())
    keep = min(groups, available)
    out = Path(cache) / f"{source.name}-train{keep}-seed{seed}"
    if (out / BUILD_INFO).is_file():
        return out, keep
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(available, size=keep, replace=False))
    with staged_output(out, force=out.exists()) as tmp:
        sets, offset = {}, 0
        for name, s in train.sets.items():
            mine = chosen[(chosen >= offset) & (chosen < offset + s.num_groups)] - offset
            offset += s.num_groups
            if len(mine):
                sets[name] = _take_groups(s, mine)
        meta = train.metadata.model_dump()
        examples = sum(len(v["inputs"]) for v in sets.values())
        puzzles = sum(len(v["puzzle_identifiers"]) for v in sets.values())
        meta.update(sets=list(sets), total_groups=keep, mean_puzzle_examples=examples / puzzles)
        write_split(tmp / "train", DatasetMetadata.model_validate(meta), sets)
        for split in list_splits(source):
            if split != "train":
                os.symlink(source / split, tmp / split, target_is_directory=True)
        if (source / "identifiers.json").is_file():
            shutil.copy(source / "identifiers.json", tmp / "identifiers.json")
        info: dict[str, Any] = dict(read_build_info(source) or {"task": "sudoku"})
        info["subsample"] = {"source": str(source), "groups": keep, "of": available, "seed": seed}
        (tmp / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return out, keep


def _take_groups(s: Any, groups: np.ndarray) -> dict[str, np.ndarray]:
    """The examples, puzzles and index arrays of `groups` (sorted indices) of one set, renumbered."""
    gi, pi = np.asarray(s.group_indices), np.asarray(s.puzzle_indices)
    puzzles = np.concatenate([np.arange(gi[g], gi[g + 1]) for g in groups])
    examples = np.concatenate([np.arange(pi[p], pi[p + 1]) for p in puzzles])
    puzzle_sizes = pi[puzzles + 1] - pi[puzzles]
    group_sizes = gi[groups + 1] - gi[groups]
    return {
        "inputs": np.asarray(s.inputs[examples]),
        "labels": np.asarray(s.labels[examples]),
        "puzzle_identifiers": np.asarray(s.puzzle_identifiers)[puzzles].astype(np.int32),
        "puzzle_indices": np.concatenate([[0], np.cumsum(puzzle_sizes)]).astype(np.int32),
        "group_indices": np.concatenate([[0], np.cumsum(group_sizes)]).astype(np.int32),
    }
