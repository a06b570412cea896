"""A small, fast Sudoku solver: counts solutions up to a limit and rates difficulty.

Cells are a flat list of 81 ints (0 = blank, 1..9 = digit). Candidates are 9-bit masks (bit d-1 set
when digit d is still possible). Each search node propagates naked singles (a cell with one
candidate) and hidden singles (a digit with one place in a row, column or box) to a fixpoint, then
branches on the cell with the fewest candidates.

The difficulty rating is the number of guesses the search makes while proving that the solution
is unique (the whole search tree, so the figure does not depend on the luck of the first branch):
0 means propagation alone solves the puzzle. It is in the spirit of the tdoku backtrack count that
Sudoku-Extreme ships as its `rating` column, not numerically the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALL = 0x1FF
ROW_OF = [i // 9 for i in range(81)]
COL_OF = [i % 9 for i in range(81)]
BOX_OF = [(i // 27) * 3 + (i % 9) // 3 for i in range(81)]
UNITS = (
    [[r * 9 + c for c in range(9)] for r in range(9)]
    + [[r * 9 + c for r in range(9)] for c in range(9)]
    + [[(b // 3) * 27 + (b % 3) * 3 + (k // 3) * 9 + k % 3 for k in range(9)] for b in range(9)]
)
POPCOUNT = [bin(m).count("1") for m in range(512)]
# For a single-bit mask, the digit it stands for; 0 elsewhere.
DIGIT_OF_BIT = [0] * 512
for _d in range(9):
    DIGIT_OF_BIT[1 << _d] = _d + 1
BITS_OF = [[1 << d for d in range(9) if m >> d & 1] for m in range(512)]


@dataclass
class SolveResult:
    count: int  # solutions found, capped at the limit
    solution: list[int] | None  # the first solution found
    guesses: int  # branch assignments tried (the difficulty rating)
    backtracks: int  # dead ends met


class _Search:
    __slots__ = ("limit", "count", "solution", "guesses", "backtracks", "rng")

    def __init__(self, limit: int, rng: random.Random | None):
        self.limit = limit
        self.count = 0
        self.solution: list[int] | None = None
        self.guesses = 0
        self.backtracks = 0
        self.rng = rng


def _propagate(cells: list[int], used: list[int]) -> int:
    """Fill forced cells in place. `used` holds 27 masks (rows, cols, boxes). Returns -1 on a
    contradiction, 81 when solved, else the index of the blank cell with the fewest candidates."""
    while True:
        progress = False
        best, best_n = 81, 10
        for i in range(81):
            if cells[i]:
                continue
            r, c, b = ROW_OF[i], COL_OF[i], BOX_OF[i]
            m = ALL & ~(used[r] | used[9 + c] | used[18 + b])
            if not m:
                return -1
            if not m & (m - 1):
                cells[i] = DIGIT_OF_BIT[m]
                used[r] |= m
                used[9 + c] |= m
                used[18 + b] |= m
                progress = True
            elif not progress:
                n = POPCOUNT[m]
                if n < best_n:
                    best, best_n = i, n
        if progress:
            continue
        if best == 81:
            return 81
        # Hidden singles: a digit that fits in only one cell of a unit.
        for u, unit in enumerate(UNITS):
            once = twice = 0
            for i in unit:
                if not cells[i]:
                    m = ALL & ~(used[ROW_OF[i]] | used[9 + COL_OF[i]] | used[18 + BOX_OF[i]])
                    twice |= once & m
                    once |= m
            placed = used[u]
            if (once | placed) != ALL:
                return -1  # some digit has no place left in this unit
            hidden = once & ~twice & ~placed
            while hidden:
                bit = hidden & -hidden
                hidden ^= bit
                for i in unit:
                    if not cells[i]:
                        r, c, b = ROW_OF[i], COL_OF[i], BOX_OF[i]
                        if bit & ~(used[r] | used[9 + c] | used[18 + b]):
                            cells[i] = DIGIT_OF_BIT[bit]
                            used[r] |= bit
                            used[9 + c] |= bit
                            used[18 + b] |= bit
                            progress = True
                            break
        if not progress:
            return best


def _search(cells: list[int], used: list[int], s: _Search) -> None:
    i = _propagate(cells, used)
    if i < 0:
        s.backtracks += 1
        return
    if i == 81:
        s.count += 1
        if s.solution is None:
            s.solution = cells
        return
    r, c, b = ROW_OF[i], COL_OF[i], BOX_OF[i]
    options = BITS_OF[ALL & ~(used[r] | used[9 + c] | used[18 + b])]
    if s.rng is not None:
        options = options[:]
        s.rng.shuffle(options)
    for bit in options:
        s.guesses += 1
        child, child_used = cells[:], used[:]
        child[i] = DIGIT_OF_BIT[bit]
        child_used[r] |= bit
        child_used[9 + c] |= bit
        child_used[18 + b] |= bit
        _search(child, child_used, s)
        if s.count >= s.limit:
            return


def _initial_used(cells: list[int]) -> list[int] | None:
    used = [0] * 27
    for i, v in enumerate(cells):
        if v:
            bit = 1 << (v - 1)
            r, c, b = ROW_OF[i], COL_OF[i], 18 + BOX_OF[i]
            if used[r] & bit or used[9 + c] & bit or used[b] & bit:
                return None  # a given repeats in a unit
            used[r] |= bit
            used[9 + c] |= bit
            used[b] |= bit
    return used


def solve(cells: list[int] | tuple[int, ...], limit: int = 2, rng: random.Random | None = None) -> SolveResult:
    """Search for up to `limit` solutions of an 81-cell puzzle (0 = blank).

    With `rng` the branch order is shuffled (used to draw random complete grids)."""
    cells = list(cells)
    if len(cells) != 81 or any(not 0 <= v <= 9 for v in cells):
        raise ValueError("a puzzle is 81 cells with values 0..9")
    used = _initial_used(cells)
    s = _Search(limit, rng)
    if used is None:
        return SolveResult(0, None, 0, 0)
    _search(cells, used, s)
    return SolveResult(s.count, s.solution, s.guesses, s.backtracks)


def count_solutions(cells, limit: int = 2) -> int:
    return solve(cells, limit).count


def has_unique_solution(cells) -> bool:
    return solve(cells, 2).count == 1


def rate(cells) -> int:
    """Guesses needed to find the solution and prove it unique (0 = propagation alone)."""
    return solve(cells, 2).guesses


def random_grid(rng: random.Random) -> list[int]:
    """A uniformly shuffled search from the empty grid: a random complete Sudoku grid."""
    result = solve([0] * 81, limit=1, rng=rng)
    assert result.solution is not None
    return result.solution


def solves_by_propagation(cells) -> bool:
    """True when singles alone fill the grid (such a puzzle has exactly one solution)."""
    cells = list(cells)
    used = _initial_used(cells)
    return used is not None and _propagate(cells, used) == 81
