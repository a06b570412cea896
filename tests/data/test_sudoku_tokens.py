from __future__ import annotations

import numpy as np
import pytest

from hrm.data import sudoku
from hrm.data.sudoku_generate import generate_puzzle
from hrm.data.tasks import get_task


@pytest.fixture(scope="module")
def puzzles():
    ps = [generate_puzzle(f"tok:{i}", "medium" if i % 2 else "easy") for i in range(24)]
    return np.array([p.cells for p in ps]), np.array([p.solution for p in ps])


def test_token_encoding_round_trips(puzzles):
    cells, _ = puzzles
    tokens = sudoku.to_tokens(cells)
    assert tokens.dtype == np.uint8 and tokens.min() >= 1 and tokens.max() <= 10
    assert (sudoku.to_cells(tokens) == cells).all()


def test_verifier_accepts_solutions_and_rejects_each_kind_of_mistake(puzzles):
    cells, solutions = puzzles
    inputs, labels = sudoku.to_tokens(cells), sudoku.to_tokens(solutions)
    assert sudoku.verify(inputs, labels).all()

    swapped = labels.copy()  # two cells of a row exchanged: columns break
    swapped[:, [0, 1]] = swapped[:, [1, 0]]
    assert not sudoku.verify(inputs, swapped).any()

    # a valid grid (digits 1 and 2 exchanged), but a different digit in a given cell
    relabelled = np.where(labels == 2, 3, np.where(labels == 3, 2, labels)).astype(labels.dtype)
    gives_two_or_three = ((inputs == 2) | (inputs == 3)).any(axis=1)
    assert not sudoku.verify(inputs, relabelled)[gives_two_or_three].any()
    assert sudoku.verify(sudoku.to_tokens(np.zeros_like(cells)), relabelled).all()  # no givens: any grid

    blank_left = labels.copy()
    blank_left[:, 40] = 1
    assert not sudoku.verify(inputs, blank_left).any()
    padded = inputs.copy()
    padded[:, 0] = 0
    assert not sudoku.verify(padded, labels).any()
    with pytest.raises(ValueError):
        sudoku.verify(inputs[:, :80], labels[:, :80])


def test_symmetries_invert_exactly_and_keep_validity(puzzles):
    cells, solutions = puzzles
    inputs, labels = sudoku.to_tokens(cells), sudoku.to_tokens(solutions)
    task = get_task("sudoku")
    assert task.name == "sudoku" and task.grid_shape == (9, 9)
    sym = task.sample_symmetries(np.random.default_rng(0), len(inputs))
    aug_in, aug_lab = sym.apply(inputs), sym.apply(labels)
    assert not (aug_in == inputs).all(axis=1).any()
    assert task.verify(aug_in, aug_lab).all()
    assert (sym.invert(aug_in) == inputs).all() and (sym.invert(aug_lab) == labels).all()
    # A wrong answer to the augmented puzzle stays wrong after mapping back.
    wrong = aug_lab.copy()
    wrong[:, [0, 1]] = wrong[:, [1, 0]]
    assert not task.verify(inputs, sym.invert(wrong)).any()
    # Blanks and PAD are never relabelled.
    assert (sym.apply(np.zeros_like(inputs)) == 0).all() and (sym.apply(np.ones_like(inputs)) == 1).all()


def test_symmetries_cover_transpose_and_band_moves():
    sym = sudoku.sample_symmetries(np.random.default_rng(3), 400)
    grid = np.arange(81).reshape(9, 9)
    sources = sym.positions.astype(int)
    transposed = (sources[:, 1] % 9 == sources[:, 0] % 9)  # cells 0 and 1 come from one column
    assert 0.3 < transposed.mean() < 0.7
    first_row_band = grid.ravel()[sources[:, 0]] // 27
    assert set(first_row_band.tolist()) == {0, 1, 2}


def test_equivalence_keys_are_invariant_and_discriminating(puzzles):
    cells, solutions = puzzles
    keys = sudoku.equivalence_keys(cells)
    assert len(np.unique(keys)) == len(cells)
    for seed in range(3):
        sym = sudoku.sample_symmetries(np.random.default_rng(seed), len(cells))
        moved = sudoku.to_cells(sym.apply(sudoku.to_tokens(cells)))
        assert (sudoku.equivalence_keys(moved) == keys).all()
    # One extra clue makes a different puzzle; a solution grid is not its puzzle.
    more = cells.copy()
    blank = np.argmax(more[0] == 0)
    more[0, blank] = solutions[0, blank]
    assert sudoku.equivalence_keys(more)[0] != keys[0]
    assert sudoku.equivalence_keys(solutions)[0] != keys[0]
    keep = sudoku.first_of_each_class(np.concatenate([keys, keys[:3]]), exclude=keys[5:6])
    assert keep.sum() == len(cells) - 1 and not keep[5] and not keep[len(cells):].any()


def test_augment_into_writes_groups(puzzles):
    cells, solutions = puzzles
    inputs, labels = sudoku.to_tokens(cells), sudoku.to_tokens(solutions)
    out_in = np.zeros((len(inputs) * 4, 81), np.uint8)
    out_lab = np.zeros_like(out_in)
    chunks = []
    sudoku.augment_into(inputs, labels, 3, np.random.default_rng(0), out_in, out_lab, chunk_examples=40,
                         on_chunk=chunks.append)
    assert chunks == [10, 10, 4]
    assert (out_in[::4] == inputs).all() and (out_lab[::4] == labels).all()
    assert sudoku.verify(out_in, out_lab).all()
    group_keys = sudoku.equivalence_keys(sudoku.to_cells(out_in)).reshape(len(inputs), 4)
    assert (group_keys == group_keys[:, :1]).all()
    again_in = np.zeros_like(out_in)
    sudoku.augment_into(inputs, labels, 3, np.random.default_rng(0), again_in, np.zeros_like(out_lab),
                         chunk_examples=40)
    assert (again_in == out_in).all()
