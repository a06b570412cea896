"""Generate Sudoku puzzles with exactly one solution, from easy to hard.

- easy: many givens (46..54 by default) and solvable by singles alone, so every blank is forced;
  a small model can learn these on a CPU in minutes (the demo dataset).
- medium: clues removed in random order while the solution stays unique, down to 28..34 givens.
- hard: a minimal puzzle (no clue can go without losing uniqueness), raised by hill climbing on
  the difficulty rating: swap one clue for another cell of the same solution, keep the swap when
  the puzzle stays unique and the rating does not drop, then make it minimal again.

Every puzzle comes from its own seeded `random.Random`, so a dataset is the same for a seed
whatever order or batch the puzzles are made in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from hrm.data.sudoku_solver import solve, solves_by_propagation

Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
DEFAULT_GIVENS: dict[str, tuple[int, int]] = {"easy": (46, 54), "medium": (28, 34), "hard": (17, 81)}
HARD_CLIMB_STEPS = 200


@dataclass
class Puzzle:
    cells: list[int]  # 81 values, 0 = blank
    solution: list[int]
    rating: int  # guesses to solve and prove uniqueness (0 = singles alone)

    @property
    def givens(self) -> int:
        return sum(1 for v in self.cells if v)


def random_grid(rng: random.Random) -> list[int]:
    """A random complete grid: a shuffled first row and first box, completed by a shuffled search.

    Any first row and any completion of the first box extend to a full grid, so seeding them only
    saves search time."""
    cells = [0] * 81
    row = list(range(1, 10))
    rng.shuffle(row)
    cells[:9] = row
    rest = [d for d in range(1, 10) if d not in row[:3]]
    rng.shuffle(rest)
    for k, i in enumerate((9, 10, 11, 18, 19, 20)):
        cells[i] = rest[k]
    result = solve(cells, limit=1, rng=rng)
    assert result.solution is not None
    return result.solution


def _easy(grid: list[int], rng: random.Random, givens: int) -> list[int]:
    """Blank random cells while singles still solve the puzzle, down to `givens` clues."""
    order = list(range(81))
    for _ in range(4):  # one-shot removal works for most grids at these clue counts
        rng.shuffle(order)
        cells = grid[:]
        for i in order[: 81 - givens]:
            cells[i] = 0
        if solves_by_propagation(cells):
            return cells
    cells = grid[:]
    blanks = 0
    for i in order:
        if blanks == 81 - givens:
            break
        cells[i] = 0
        if solves_by_propagation(cells):
            blanks += 1
        else:
            cells[i] = grid[i]
    return cells


def _remove_while_unique(cells: list[int], rng: random.Random, floor: int) -> list[int]:
    """Blank clues in random order while the solution stays unique, keeping at least `floor`."""
    cells = cells[:]
    givens = [i for i in range(81) if cells[i]]
    rng.shuffle(givens)
    count = len(givens)
    for i in givens:
        if count <= floor:
            break
        value, cells[i] = cells[i], 0
        if solve(cells, 2).count == 1:
            count -= 1
        else:
            cells[i] = value
    return cells


def _climb(cells: list[int], grid: list[int], rng: random.Random, steps: int) -> tuple[list[int], int]:
    """Hill climbing on the rating: swap a clue for a blank of the same solution; keep the swap when
    the puzzle stays unique and the rating does not drop."""
    best, best_rating = cells, solve(cells, 2).guesses
    for _ in range(steps):
        givens = [i for i in range(81) if best[i]]
        blanks = [i for i in range(81) if not best[i]]
        cand = best[:]
        cand[rng.choice(givens)] = 0
        j = rng.choice(blanks)
        cand[j] = grid[j]
        result = solve(cand, 2)
        if result.count == 1 and result.guesses >= best_rating:
            best, best_rating = cand, result.guesses
    return best, best_rating


def generate_puzzle(
    seed: int | str,
    difficulty: Difficulty = "easy",
    givens: tuple[int, int] | None = None,
    climb_steps: int = HARD_CLIMB_STEPS,
) -> Puzzle:
    """One puzzle with a unique solution, drawn from its own seed."""
    rng = random.Random(seed)
    lo, hi = givens or DEFAULT_GIVENS[difficulty]
    grid = random_grid(rng)
    if difficulty == "easy":
        cells = _easy(grid, rng, rng.randint(lo, hi))
    elif difficulty == "medium":
        cells = _remove_while_unique(grid, rng, floor=rng.randint(lo, hi))
    else:
        cells = _remove_while_unique(grid, rng, floor=lo)
        cells, _ = _climb(cells, grid, rng, climb_steps)
        cells = _remove_while_unique(cells, rng, floor=lo)
    result = solve(cells, 2)
    assert result.count == 1 and result.solution == grid
    return Puzzle(cells, grid, result.guesses)


def remove_random_clues(seed: int | str, givens: int) -> Puzzle | None:
    """The baseline the hard generator is measured against: a random grid whose clues are blanked in
    random order while the solution stays unique, down to `givens` clues (the hard generator without
    hill climbing). None when the puzzle turns minimal before reaching `givens`."""
    rng = random.Random(seed)
    grid = random_grid(rng)
    cells = _remove_while_unique(grid, rng, floor=givens)
    if sum(1 for v in cells if v) != givens:
        return None
    return Puzzle(cells, grid, solve(cells, 2).guesses)
