"""`hrm build-data maze`: 30x30 mazes with a long shortest path (Maze-Hard: longer than 110 moves),
train and test without equivalent mazes, optional dihedral augmentation of train (as the reference's
`aug` flag: all 8 rotations/reflections)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data import maze
from hrm.data.build import metadata, one_example_per_puzzle, run_build
from hrm.data.format import write_identifiers, write_index_arrays, write_metadata
from hrm.data.progress import Reporter
from hrm.data.symmetry import dihedral_index_maps
from hrm.errors import UserError

MAX_PATH = maze.SEQ_LEN // 2  # about the longest shortest path a 30x30 grid of corridors allows


@dataclass
class MazeOptions:
    out: Path = Path("data/maze-30x30-hard")
    num_train: int = 1000
    num_test: int = 1000
    min_path: int = 111  # moves; the paper's Maze-Hard keeps paths longer than 110
    openings: float = 0.1  # share of walls between rooms opened after carving (loops)
    aug: bool = False
    seed: int = 0
    force: bool = False

    def check(self) -> None:
        if self.num_train < 1 or self.num_test < 1:
            raise UserError("--num-train and --num-test must be at least 1")
        if not 1 <= self.min_path <= MAX_PATH:
            raise UserError(f"--min-path {self.min_path}: choose 1..{MAX_PATH} moves")
        if not 0.0 <= self.openings <= 1.0:
            raise UserError(f"--openings {self.openings}: a share between 0 and 1")

    def record(self) -> dict[str, Any]:
        args = asdict(self)
        args.pop("force")
        args["out"] = str(self.out)
        return args


def _generate_split(tag: str, needed: int, opts: MazeOptions, reporter: Reporter, exclude: set[bytes]):
    """`needed` mazes from seeds "<seed>:<tag>:<i>" in index order, none equivalent to another or
    to one in `exclude`."""
    reporter.stage(f"generate {tag}", needed)
    inputs, labels, lengths = [], [], []
    seen = set(exclude)
    tries, limit = 0, 50 * needed + 200
    while len(inputs) < needed:
        if tries >= limit:
            raise UserError(
                f"only {len(inputs)} of {needed} {tag} mazes reach --min-path {opts.min_path} in {limit} tries; "
                "lower --min-path or --openings"
            )
        made = maze.generate_maze(f"{opts.seed}:{tag}:{tries}", maze.SIDE, opts.min_path, opts.openings)
        tries += 1
        if made is None:
            continue
        key = maze.canonical_keys(made[0][None])[0]
        if key in seen:
            continue
        seen.add(key)
        inputs.append(made[0])
        labels.append(made[1])
        lengths.append(made[2])
        reporter.advance(1)
    return np.stack(inputs), np.stack(labels), np.array(lengths), seen, tries


def _write(root: Path, split: str, inputs: np.ndarray, labels: np.ndarray, aug: bool) -> None:
    per = 8 if aug else 1
    if aug:  # each maze followed by its 7 other rotations/reflections, as one group
        maps = dihedral_index_maps(maze.SIDE)
        inputs = inputs[:, maps].reshape(-1, maze.SEQ_LEN)
        labels = labels[:, maps].reshape(-1, maze.SEQ_LEN)
    split_dir = root / split
    split_dir.mkdir(parents=True)
    np.save(split_dir / "all__inputs.npy", inputs.astype(np.uint8), allow_pickle=False)
    np.save(split_dir / "all__labels.npy", labels.astype(np.uint8), allow_pickle=False)
    write_index_arrays(split_dir, "all", **one_example_per_puzzle(len(inputs) // per, per))
    write_metadata(split_dir, metadata(maze.SEQ_LEN, maze.VOCAB_SIZE, total_groups=len(inputs) // per))


def _length_stats(lengths: np.ndarray) -> dict[str, Any]:
    return {"min": int(lengths.min()), "max": int(lengths.max()), "mean": round(float(lengths.mean()), 1),
            "median": float(np.median(lengths))}


def build_maze(opts: MazeOptions, reporter: Reporter) -> dict[str, Any]:
    opts.check()

    def body(root: Path):
        test_in, test_lab, test_len, seen, test_tries = _generate_split("test", opts.num_test, opts, reporter, set())
        train_in, train_lab, train_len, _, train_tries = _generate_split("train", opts.num_train, opts, reporter, seen)
        reporter.stage("write", 2)
        _write(root, "train", train_in, train_lab, opts.aug)
        reporter.advance(1)
        _write(root, "test", test_in, test_lab, False)
        reporter.advance(1)
        write_identifiers(root, ["<blank>"])
        if set(maze.canonical_keys(train_in)) & set(maze.canonical_keys(test_in)):
            raise RuntimeError("a train maze is equivalent to a test maze after deduplication")
        stats = {"path_length": {"train": _length_stats(train_len), "test": _length_stats(test_len)},
                 "tries": {"train": train_tries, "test": test_tries}}
        rows = [("augmentation", "8 dihedral per train maze" if opts.aug else "none")]
        for split, s in stats["path_length"].items():
            rows.append((f"{split} path length", f"min {s['min']}, median {s['median']:.0f}, mean {s['mean']}, max {s['max']}"))
        rows.append(("mazes drawn", f"train {train_tries}, test {test_tries} (kept those with a path >= {opts.min_path})"))
        return stats, rows

    return run_build(task="maze", out=opts.out, force=opts.force, args=opts.record(), seed=opts.seed,
                     reporter=reporter, body=body)
