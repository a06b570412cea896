"""Tiny datasets and configs for the sweep / OOD tests with the real trainer (each run: seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrm.data.progress import QuietReporter


@pytest.fixture(scope="session")
def sort_data(tmp_path_factory) -> Path:
    """Sort at length 6, with test splits at 8 and 10 (so the model is sized for 10)."""
    from hrm.data.sort_build import SortOptions, build_sort

    out = tmp_path_factory.mktemp("sortdata") / "sort-6"
    build_sort(SortOptions(out=out, length=(6, 6), test_lengths=[8, 10], num_train=300, num_test=48, key_range=16),
               QuietReporter())
    return out


@pytest.fixture(scope="session")
def sudoku_data(tmp_path_factory) -> Path:
    from hrm.data.sudoku_build import SudokuOptions, build_sudoku

    out = tmp_path_factory.mktemp("sudokudata") / "sudoku"
    build_sudoku(SudokuOptions(out=out, num_train=64, num_test=16, workers=1, seed=3), QuietReporter())
    return out
