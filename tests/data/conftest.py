"""Small datasets built once per test session (each build takes well under a second)."""

from __future__ import annotations

import pytest

from hrm.data.progress import QuietReporter


@pytest.fixture(scope="session")
def sudoku_options():
    from hrm.data.sudoku_build import SudokuOptions

    def make(out, **kw):
        base = dict(out=out, num_train=40, num_test=15, num_aug=3, workers=1, seed=7)
        base.update(kw)
        return SudokuOptions(**base)

    return make


@pytest.fixture(scope="session")
def sudoku_dataset(tmp_path_factory, sudoku_options):
    from hrm.data.sudoku_build import build_sudoku

    out = tmp_path_factory.mktemp("sudoku") / "ds"
    summary = build_sudoku(sudoku_options(out), QuietReporter())
    return out, summary


@pytest.fixture(scope="session")
def maze_dataset(tmp_path_factory):
    from hrm.data.maze_build import MazeOptions, build_maze

    out = tmp_path_factory.mktemp("maze") / "ds"
    summary = build_maze(MazeOptions(out=out, num_train=6, num_test=4, min_path=40, aug=True, seed=3), QuietReporter())
    return out, summary


@pytest.fixture(scope="session")
def arc_dataset(tmp_path_factory):
    from hrm.data.arc_build import ArcOptions, build_arc

    out = tmp_path_factory.mktemp("arc") / "ds"
    summary = build_arc(ArcOptions(out=out, num_aug=4, max_puzzles=3, seed=1), QuietReporter())
    return out, summary


@pytest.fixture(scope="session")
def sort_dataset(tmp_path_factory):
    from hrm.data.sort_build import SortOptions, build_sort

    out = tmp_path_factory.mktemp("sort") / "ds"
    opts = SortOptions(out=out, length=(4, 8), test_lengths=[10, 3], num_train=300, num_test=50, key_range=6, seed=2)
    return out, build_sort(opts, QuietReporter())


@pytest.fixture(scope="session")
def examples():
    """examples(root, split) -> (inputs, labels) of the split's only set, as plain arrays."""
    import numpy as np

    from hrm.data.format import load_split

    def read(root, split):
        s = load_split(root, split).sets["all"]
        return np.asarray(s.inputs), np.asarray(s.labels)

    return read
