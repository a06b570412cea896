from __future__ import annotations

import random

import numpy as np
import pytest

from hrm.data import sudoku
from hrm.data.sudoku_generate import generate_puzzle, random_grid, remove_random_clues
from hrm.data.sudoku_solver import (
    count_solutions,
    has_unique_solution,
    rate,
    solve,
    solves_by_propagation,
)

# A well-known very hard puzzle (many guesses needed) and an easy one.
HARD = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
EASY_SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


def cells(text: str) -> list[int]:
    return [0 if ch in ".0" else int(ch) for ch in text]


def is_solution(grid: list[int]) -> bool:
    tokens = sudoku.to_tokens(np.array([grid]))
    return bool(sudoku.verify(tokens, tokens)[0])


def test_solves_and_counts_known_puzzles():
    easy = solve(cells(EASY))
    assert easy.count == 1 and easy.solution == cells(EASY_SOLUTION)
    assert easy.guesses == 0 and solves_by_propagation(cells(EASY))
    hard = solve(cells(HARD))
    assert hard.count == 1 and is_solution(hard.solution)
    assert hard.guesses > 10 and hard.backtracks > 0 and not solves_by_propagation(cells(HARD))
    assert rate(cells(HARD)) == hard.guesses


def test_counts_stop_at_the_limit_and_detect_contradictions():
    assert count_solutions([0] * 81, limit=2) == 2
    assert count_solutions([0] * 81, limit=5) == 5
    broken = cells(EASY)
    broken[2] = 5  # a second 5 in the first row
    assert count_solutions(broken) == 0 and not solves_by_propagation(broken)
    # Five blank rows: swapping two of them inside a band gives another solution.
    puzzle = [v if i >= 45 else 0 for i, v in enumerate(cells(EASY_SOLUTION))]
    assert not has_unique_solution(puzzle)


def test_rejects_malformed_input():
    with pytest.raises(ValueError):
        solve([0] * 80)
    with pytest.raises(ValueError):
        solve([10] + [0] * 80)


def test_random_grids_are_valid_and_vary():
    rng = random.Random(1)
    grids = [random_grid(rng) for _ in range(5)]
    assert all(is_solution(g) for g in grids)
    assert len({tuple(g) for g in grids}) == 5


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_generated_puzzles_are_unique_and_in_their_givens_range(difficulty):
    lo, hi = {"easy": (46, 54), "medium": (28, 34)}[difficulty]
    for i in range(8):
        p = generate_puzzle(f"t:{i}", difficulty)
        assert solve(p.cells).count == 1 and solve(p.cells).solution == p.solution
        assert all(c in (0, s) for c, s in zip(p.cells, p.solution, strict=True))
        if difficulty == "easy":
            assert lo <= p.givens <= hi and p.rating == 0 and solves_by_propagation(p.cells)
        else:
            assert p.givens >= lo  # stops at the floor, or earlier at a minimal puzzle


def test_easy_generator_honours_a_custom_givens_range():
    p = generate_puzzle("g", "easy", givens=(36, 36))
    assert p.givens == 36 and solves_by_propagation(p.cells)


def test_hard_puzzles_are_minimal_and_climbing_raises_the_rating():
    p = generate_puzzle("h:0", "hard", climb_steps=30)
    assert has_unique_solution(p.cells)
    for i in range(81):  # minimal: every clue is needed
        if p.cells[i]:
            fewer = p.cells[:]
            fewer[i] = 0
            assert not has_unique_solution(fewer)
    climbed = np.mean([generate_puzzle(f"h:{i}", "hard", climb_steps=60).rating for i in range(6)])
    plain = np.mean([generate_puzzle(f"h:{i}", "hard", climb_steps=0).rating for i in range(6)])
    assert climbed > plain


def test_generation_is_deterministic_per_seed():
    assert generate_puzzle("s:1", "medium").cells == generate_puzzle("s:1", "medium").cells
    assert generate_puzzle("s:1", "medium").cells != generate_puzzle("s:2", "medium").cells


def test_random_clue_removal_baseline():
    p = remove_random_clues("b", 30)
    assert p is not None and p.givens == 30 and has_unique_solution(p.cells)
    # No 17-clue puzzle comes out of random removal: it turns minimal first.
    assert all(remove_random_clues(f"b:{i}", 17) is None for i in range(2))
