"""Dataset-builder benchmarks: `python -m bench.data_build` (run it under `flock /tmp/hrm-bench.lock`).

1. Sudoku puzzles generated per second, per difficulty (one process).
2. Mean difficulty rating of the hard generator (minimal puzzles raised by hill climbing) against
   puzzles whose clues were removed at random (keeping the solution unique) down to the same
   number of givens.
3. Seconds to augment and write a 1k-puzzle x 1000-augmentation Sudoku set with the vectorised
   augmentation, against a per-puzzle Python loop in the style of the reference builder (written
   here for the comparison), and the whole `build-data sudoku` run with the same sizes.

Prints a table and writes bench/results/data_build.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from hrm.data import sudoku
from hrm.data.progress import QuietReporter
from hrm.data.sudoku_build import SudokuOptions, build_sudoku
from hrm.data.sudoku_generate import generate_puzzle, remove_random_clues

RESULTS = Path(__file__).resolve().parent / "results" / "data_build.json"


def per_puzzle_loop(cells: np.ndarray, solutions: np.ndarray, num_aug: int, rng: np.random.Generator):
    """The reference's way: for each puzzle, for each augmentation, draw a symmetry and build an
    81-entry index list in Python, then stack everything at the end."""
    out_in, out_lab = [], []
    for board, solution in zip(cells.reshape(-1, 9, 9), solutions.reshape(-1, 9, 9), strict=True):
        out_in.append(board)
        out_lab.append(solution)
        for _ in range(num_aug):
            digits = np.concatenate([[0], rng.permutation(9) + 1])
            transpose = rng.random() < 0.5
            rows = np.concatenate([band * 3 + rng.permutation(3) for band in rng.permutation(3)])
            cols = np.concatenate([stack * 3 + rng.permutation(3) for stack in rng.permutation(3)])
            index = np.array([rows[i // 9] * 9 + cols[i % 9] for i in range(81)])

            def move(grid, transpose=transpose, index=index, digits=digits):
                grid = grid.T if transpose else grid
                return digits[grid.ravel()[index]].reshape(9, 9)

            out_in.append(move(board))
            out_lab.append(move(solution))
    inputs = (np.stack(out_in).reshape(len(out_in), 81) + 1).astype(np.uint8)
    labels = (np.stack(out_lab).reshape(len(out_lab), 81) + 1).astype(np.uint8)
    return inputs, labels


def bench_generation(counts: dict[str, int]) -> list[dict]:
    rows = []
    for difficulty, n in counts.items():
        start = time.perf_counter()
        puzzles = [generate_puzzle(f"bench:{difficulty}:{i}", difficulty) for i in range(n)]  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        rows.append({
            "difficulty": difficulty, "puzzles": n, "seconds": round(seconds, 2),
            "puzzles_per_s": round(n / seconds, 2),
            "mean_givens": round(float(np.mean([p.givens for p in puzzles])), 2),
            "mean_rating": round(float(np.mean([p.rating for p in puzzles])), 2),
        })
    return rows


def bench_hardness(n: int) -> dict:
    hard = [generate_puzzle(f"bench:hardness:{i}", "hard") for i in range(n)]
    baseline, tries = [], 0
    for i, p in enumerate(hard):
        for k in range(200):  # random removal often turns minimal above the target; draw again
            tries += 1
            b = remove_random_clues(f"bench:baseline:{i}:{k}", p.givens)
            if b is not None:
                baseline.append(b)
                break
    return {
        "puzzles": n,
        "hard_mean_givens": round(float(np.mean([p.givens for p in hard])), 2),
        "hard_mean_rating": round(float(np.mean([p.rating for p in hard])), 2),
        "hard_median_rating": float(np.median([p.rating for p in hard])),
        "baseline_puzzles": len(baseline),
        "baseline_draws": tries,
        "baseline_mean_givens": round(float(np.mean([p.givens for p in baseline])), 2),
        "baseline_mean_rating": round(float(np.mean([p.rating for p in baseline])), 2),
        "baseline_median_rating": float(np.median([p.rating for p in baseline])),
    }


def bench_augmentation(puzzles: int, augs: int) -> dict:
    made = [generate_puzzle(f"bench:aug:{i}", "easy") for i in range(puzzles)]
    cells = np.array([p.cells for p in made], dtype=np.int8)
    solutions = np.array([p.solution for p in made], dtype=np.int8)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        n = puzzles * (1 + augs)
        inputs = np.lib.format.open_memmap(tmp / "vec_inputs.npy", mode="w+", dtype=np.uint8, shape=(n, 81))
        labels = np.lib.format.open_memmap(tmp / "vec_labels.npy", mode="w+", dtype=np.uint8, shape=(n, 81))
        sudoku.augment_into(sudoku.to_tokens(cells), sudoku.to_tokens(solutions), augs, np.random.default_rng(0),
                            inputs, labels)
        inputs.flush()
        labels.flush()
        vectorised = time.perf_counter() - start
        assert sudoku.verify(inputs[: 100 * (1 + augs)], labels[: 100 * (1 + augs)]).all()
        del inputs, labels

        start = time.perf_counter()
        loop_in, loop_lab = per_puzzle_loop(cells, solutions, augs, np.random.default_rng(0))
        np.save(tmp / "loop_inputs.npy", loop_in)
        np.save(tmp / "loop_labels.npy", loop_lab)
        loop = time.perf_counter() - start
        assert sudoku.verify(loop_in[:1000], loop_lab[:1000]).all()
        del loop_in, loop_lab

        start = time.perf_counter()
        build_sudoku(SudokuOptions(out=tmp / "built", num_train=puzzles, num_test=100, num_aug=augs, workers=1),
                     QuietReporter())
        whole = time.perf_counter() - start
    return {
        "puzzles": puzzles, "augmentations": augs, "examples": n,
        "vectorised_s": round(vectorised, 2), "per_puzzle_loop_s": round(loop, 2),
        "speedup": round(loop / vectorised, 1),
        "whole_build_s": round(whole, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puzzles", type=int, default=1000, help="puzzles in the augmentation benchmark")
    parser.add_argument("--augs", type=int, default=1000, help="augmentations per puzzle")
    parser.add_argument("--easy", type=int, default=1000, help="easy puzzles in the generation benchmark")
    parser.add_argument("--medium", type=int, default=200, help="medium puzzles in the generation benchmark")
    parser.add_argument("--hard", type=int, default=20, help="hard puzzles in the generation and rating benchmarks")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    generation = bench_generation({"easy": args.easy, "medium": args.medium, "hard": args.hard})
    hardness = bench_hardness(args.hard)
    augmentation = bench_augmentation(args.puzzles, args.augs)

    console = Console()
    table = Table(title="Sudoku generation (one process)", title_justify="left")
    for col in ("difficulty", "puzzles", "seconds", "puzzles/s", "mean givens", "mean rating"):
        table.add_column(col, justify="right")
    for r in generation:
        table.add_row(r["difficulty"], str(r["puzzles"]), f"{r['seconds']:.2f}", f"{r['puzzles_per_s']:.1f}",
                      f"{r['mean_givens']:.1f}", f"{r['mean_rating']:.1f}")
    console.print(table)
    table = Table(title="Difficulty rating (guesses to solve and prove uniqueness), same givens", title_justify="left")
    for col in ("puzzles", "mean givens", "mean rating", "median rating"):
        table.add_column(col, justify="right")
    table.add_column("", justify="left")
    table.add_row(str(hardness["puzzles"]), f"{hardness['hard_mean_givens']:.1f}", f"{hardness['hard_mean_rating']:.1f}",
                  f"{hardness['hard_median_rating']:.0f}", "hard (hill-climbed)")
    table.add_row(str(hardness["baseline_puzzles"]), f"{hardness['baseline_mean_givens']:.1f}",
                  f"{hardness['baseline_mean_rating']:.1f}", f"{hardness['baseline_median_rating']:.0f}",
                  "random removal")
    console.print(table)
    a = augmentation
    table = Table(title=f"Sudoku {a['puzzles']} puzzles x {a['augmentations']} augmentations "
                        f"({a['examples']:,} examples) to .npy", title_justify="left")
    table.add_column("method")
    table.add_column("seconds", justify="right")
    table.add_row("vectorised augmentation (hrm)", f"{a['vectorised_s']:.2f}")
    table.add_row("per-puzzle Python loop (reference style)", f"{a['per_puzzle_loop_s']:.2f}")
    table.add_row("speed-up", f"{a['speedup']:.1f}x")
    table.add_row("whole `build-data sudoku` (generate, augment, validate)", f"{a['whole_build_s']:.2f}")
    console.print(table)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "generation": generation, "hardness": hardness, "augmentation": augmentation,
    }, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
