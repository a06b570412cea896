"""`hrm build-data sudoku`: puzzles from the generator, a CSV or the hub, deduplicated so that no test
puzzle is equivalent to a train puzzle, augmented (train only) and written in the reference format."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data import sudoku
from hrm.data.build import format_histogram, histogram, metadata, one_example_per_puzzle, run_build
from hrm.data.format import create_example_arrays, write_identifiers, write_index_arrays, write_metadata
from hrm.data.progress import Reporter
from hrm.data.sudoku_generate import DEFAULT_GIVENS, DIFFICULTIES, HARD_CLIMB_STEPS, generate_puzzle
from hrm.data.sudoku_sources import PuzzleTable, SourceError, csv_splits, hub_splits, parse_source
from hrm.errors import UserError

DEMO_DIR = Path("data/sudoku-demo")
GENERATE_CHUNK = 32  # puzzles per task handed to a worker process
GIVENS_EDGES = [17, 22, 26, 30, 34, 38, 42, 46, 50, 54, 58]
RATING_EDGES = [0, 1, 3, 10, 30, 100, 300, 1000]


@dataclass
class SudokuOptions:
    out: Path | None = None  # None: data/sudoku-demo (easy), data/sudoku-<difficulty>, data/sudoku-extreme (csv, hub)
    source: str = "generate"
    num_train: int = 4000
    num_test: int = 500
    difficulty: str = "easy"
    givens: tuple[int, int] | None = None  # default per difficulty (easy 46-54, medium 28-34, hard minimal)
    num_aug: int = 0
    subsample_size: int | None = None
    min_difficulty: int | None = None
    climb_steps: int = HARD_CLIMB_STEPS
    seed: int = 0
    workers: int = 0  # 0 = one per CPU core
    force: bool = False

    def output_dir(self) -> Path:
        if self.out is not None:
            return Path(self.out)
        kind, _ = parse_source(self.source)
        if kind != "generate":
            return Path("data/sudoku-extreme")
        return DEMO_DIR if self.difficulty == "easy" else Path(f"data/sudoku-{self.difficulty}")

    def check(self) -> None:
        parse_source(self.source)
        if self.difficulty not in DIFFICULTIES:
            raise UserError(f"--difficulty {self.difficulty!r}: choose one of {', '.join(DIFFICULTIES)}")
        if self.num_train < 1 or self.num_test < 1:
            raise UserError("--num-train and --num-test must be at least 1")
        if self.num_aug < 0:
            raise UserError("--num-aug must be 0 or more")
        if self.subsample_size is not None and self.subsample_size < 1:
            raise UserError("--subsample-size must be at least 1")
        if self.givens is not None:
            lo, hi = self.givens
            if not 17 <= lo <= hi <= 80:
                raise UserError(f"--givens {lo}-{hi}: need 17 <= low <= high <= 80 (no 16-clue Sudoku has a unique solution)")

    def record(self) -> dict[str, Any]:
        """The options as written into hrm.json (what determines the data; not --force)."""
        args = asdict(self)
        args.pop("force")
        args["out"] = str(self.output_dir())
        args["givens"] = list(self.givens or DEFAULT_GIVENS[self.difficulty])
        return args


def _generate_chunk(job: tuple[list[str], str, tuple[int, int] | None, int]) -> list[tuple[list[int], list[int], int]]:
    seeds, difficulty, givens, climb_steps = job
    out = []
    for s in seeds:
        p = generate_puzzle(s, difficulty, givens, climb_steps)  # type: ignore[arg-type]
        out.append((p.cells, p.solution, p.rating))
    return out


def _worker_count(opts: SudokuOptions, total: int) -> int:
    """--workers when given; else one per core, unless the job is too small to pay for a pool."""
    if opts.workers:
        return opts.workers
    per_puzzle_ms = {"easy": 2, "medium": 6, "hard": 200}[opts.difficulty]
    # A pool costs about half a second to start; below that much work one process is faster.
    return 1 if total * per_puzzle_ms < 2000 else max(1, os.cpu_count() or 1)


def _generate_split(
    tag: str, needed: int, opts: SudokuOptions, reporter: Reporter, exclude: np.ndarray, pool: ProcessPoolExecutor | None
) -> tuple[PuzzleTable, int]:
    """`needed` puzzles with distinct equivalence classes, none in `exclude`, rated at least
    --min-difficulty. Puzzle i comes from seed "<seed>:<tag>:<i>" and puzzles are accepted in index
    order, so the result depends only on the options."""
    reporter.stage(f"generate {tag}", needed)
    seen = set(exclude.tolist())
    cells, solutions, ratings = [], [], []
    duplicates = 0
    next_index = 0
    limit = 10 * needed + 200
    while len(cells) < needed:
        if next_index >= limit:
            raise UserError(
                f"only {len(cells)} of {needed} {tag} puzzles found in {limit} tries at --difficulty {opts.difficulty}"
                + (f" with --min-difficulty {opts.min_difficulty}" if opts.min_difficulty else "")
                + "; lower --min-difficulty or choose a harder --difficulty"
            )
        batch = range(next_index, next_index + needed - len(cells))
        next_index = batch.stop
        jobs = [
            ([f"{opts.seed}:{tag}:{i}" for i in batch[k : k + GENERATE_CHUNK]], opts.difficulty, opts.givens, opts.climb_steps)
            for k in range(0, len(batch), GENERATE_CHUNK)
        ]
        results = pool.map(_generate_chunk, jobs) if pool else map(_generate_chunk, jobs)
        for chunk in results:
            keys = sudoku.equivalence_keys(np.array([c for c, _, _ in chunk]))
            accepted = 0
            for (c, s, r), key in zip(chunk, keys.tolist(), strict=True):
                if len(cells) >= needed or (opts.min_difficulty is not None and r < opts.min_difficulty):
                    continue
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                cells.append(c)
                solutions.append(s)
                ratings.append(r)
                accepted += 1
            reporter.advance(accepted)
    table = PuzzleTable(np.array(cells, dtype=np.int8), np.array(solutions, dtype=np.int8), np.array(ratings, dtype=np.int32))
    return table, duplicates


def _dedupe(train: PuzzleTable, test: PuzzleTable) -> tuple[PuzzleTable, PuzzleTable, dict[str, int]]:
    """Drop repeats inside each split and train puzzles equivalent to a test puzzle."""
    test_keys = sudoku.equivalence_keys(test.cells)
    test = test.take(sudoku.first_of_each_class(test_keys))
    test_keys = sudoku.equivalence_keys(test.cells)
    keep = sudoku.first_of_each_class(sudoku.equivalence_keys(train.cells), exclude=test_keys)
    dropped = {"train_dropped_equivalent": int((~keep).sum())}
    return train.take(keep), test, dropped


def _write(root: Path, split: str, table: PuzzleTable, num_aug: int, rng: np.random.Generator, reporter: Reporter) -> None:
    per = 1 + num_aug
    split_dir = root / split
    reporter.stage(f"write {split}", len(table))
    inputs, labels = create_example_arrays(split_dir, "all", len(table) * per, sudoku.SEQ_LEN)
    sudoku.augment_into(
        sudoku.to_tokens(table.cells), sudoku.to_tokens(table.solutions), num_aug, rng, inputs, labels,
        on_chunk=reporter.advance,
    )
    inputs.flush()
    labels.flush()
    del inputs, labels
    write_index_arrays(split_dir, "all", **one_example_per_puzzle(len(table), per))
    write_metadata(split_dir, metadata(sudoku.SEQ_LEN, sudoku.VOCAB_SIZE, total_groups=len(table)))


def _stats(table: PuzzleTable) -> dict[str, Any]:
    givens = (table.cells > 0).sum(axis=1)
    rated = table.ratings[table.ratings >= 0]
    stats: dict[str, Any] = {
        "puzzles": len(table),
        "givens": {"min": int(givens.min()), "max": int(givens.max()), "mean": round(float(givens.mean()), 2),
                   "histogram": histogram(givens, GIVENS_EDGES)},
    }
    if len(rated):
        stats["rating"] = {"mean": round(float(rated.mean()), 2), "max": int(rated.max()),
                           "histogram": histogram(rated, RATING_EDGES)}
    return stats


def build_sudoku(opts: SudokuOptions, reporter: Reporter) -> dict[str, Any]:
    """Build the dataset described by `opts`; returns the summary."""
    opts.check()
    kind, path = parse_source(opts.source)
    rng = np.random.default_rng(opts.seed)

    def body(root: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        duplicates = {}
        if kind == "generate":
            workers = _worker_count(opts, opts.num_train + opts.num_test)
            ctx = multiprocessing.get_context("spawn")  # no fork under Rich's refresh thread
            with ProcessPoolExecutor(workers, mp_context=ctx) if workers > 1 else nullcontext() as pool:
                test, dup_test = _generate_split("test", opts.num_test, opts, reporter, np.array([], np.uint64), pool)
                test_keys = sudoku.equivalence_keys(test.cells)
                train, dup_train = _generate_split("train", opts.num_train, opts, reporter, test_keys, pool)
            duplicates = {"test_equivalent_redrawn": dup_test, "train_equivalent_redrawn": dup_train}
        else:
            reporter.stage("read", 1)
            if kind == "hub":
                train, test = hub_splits(opts.min_difficulty)
            else:
                train, test = csv_splits(path, opts.num_test, rng, opts.min_difficulty)  # type: ignore[arg-type]
            reporter.advance(1)
            train, test, duplicates = _dedupe(train, test)
            if not len(train) or not len(test):
                raise SourceError(f"{opts.source}: no puzzles left in {'train' if not len(train) else 'test'} after filtering")
        if opts.subsample_size is not None and opts.subsample_size < len(train):
            train = train.take(np.sort(rng.choice(len(train), size=opts.subsample_size, replace=False)))
        _write(root, "train", train, opts.num_aug, rng, reporter)
        _write(root, "test", test, 0, rng, reporter)
        write_identifiers(root, ["<blank>"])
        # Self-check of the inequivalence promise, on what was written.
        if np.isin(sudoku.equivalence_keys(train.cells), sudoku.equivalence_keys(test.cells)).any():
            raise RuntimeError("a train puzzle is equivalent to a test puzzle after deduplication")
        stats = {"train": _stats(train), "test": _stats(test), **duplicates}
        rows = [
            ("source", f"{opts.source}" + (f" ({opts.difficulty})" if kind == "generate" else "")),
            ("augmentations", f"{opts.num_aug} per train puzzle"),
        ]
        for split, s in (("train", stats["train"]), ("test", stats["test"])):
            g = s["givens"]
            rows.append((f"{split} givens", f"{g['min']}-{g['max']}, mean {g['mean']}   {format_histogram(g['histogram'])}"))
            if "rating" in s:
                r = s["rating"]
                rows.append((f"{split} rating", f"mean {r['mean']}, max {r['max']}   {format_histogram(r['histogram'])}"))
        rows.append(("equivalent dropped", ", ".join(f"{k}: {v}" for k, v in duplicates.items())))
        return stats, rows

    return run_build(task="sudoku", out=opts.output_dir(), force=opts.force, args=opts.record(), seed=opts.seed,
                     reporter=reporter, body=body)

