"""Mazes in the reference token layout: verifier, dihedral symmetries, generator.

A maze is a side x side grid (30 x 30 in the reference, seq_len 900) of the characters `# SGo`
stored as ids 1..5 (0 = PAD): `#` wall, ` ` free, `S` start, `G` goal, `o` a cell of the path.
The input shows walls, S and G; the label is the input with one shortest S->G path drawn in `o`.

Generation: a random spanning tree of "rooms" (odd coordinates) carved by a depth-first walk gives
long winding corridors; a fraction of the remaining walls between rooms is then opened so that
there are loops and often several shortest paths. The start is a random free cell (or, when nothing
lies far enough from it, a cell farthest from it) and the goal is drawn among the cells whose
breadth-first distance from the start is at least `min_path`, so the hardness filter costs at most
one more breadth-first search instead of rejected mazes.
"""

from __future__ import annotations

import random
from collections import deque

import numpy as np

from hrm.data.symmetry import PermutationSymmetry, dihedral_index_maps
from hrm.data.tasks import Task

CHARSET = "# SGo"
PAD, WALL, FREE, START, GOAL, PATH = 0, 1, 2, 3, 4, 5
VOCAB_SIZE = 6
SIDE = 30
SEQ_LEN = SIDE * SIDE
_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def to_text(tokens: np.ndarray) -> str:
    """One maze as lines of `# SGo` (for people and tests)."""
    tokens = np.asarray(tokens).reshape(-1)
    side = int(round(len(tokens) ** 0.5))
    chars = np.array(list("?" + CHARSET))[tokens].reshape(side, side)
    return "\n".join("".join(row) for row in chars)


def from_text(text: str) -> np.ndarray:
    """Lines of `# SGo` to a flat token array."""
    return np.array([CHARSET.index(ch) + 1 for ch in text.replace("\n", "")], dtype=np.uint8)


def _side(seq_len: int) -> int:
    side = int(round(seq_len**0.5))
    if side * side != seq_len:
        raise ValueError(f"a maze sequence is a square grid; seq_len {seq_len} is not a square")
    return side


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """Cells 4-adjacent to a True cell, for a batch of (N, H, W) grids."""
    grown = np.zeros_like(mask)
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    grown[:, :, 1:] |= mask[:, :, :-1]
    grown[:, :, :-1] |= mask[:, :, 1:]
    return grown


def bfs_steps(passable: np.ndarray, start: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """(N,) fewest 4-connected moves from a start cell to a goal cell through passable cells, -1 where
    the goal cannot be reached; all grids (N, H, W) advance together, one move per iteration."""
    reached = start & passable
    frontier = reached
    steps = np.where((reached & goal).any(axis=(1, 2)), 0, -1)
    move = 0
    while True:
        active = steps < 0
        if not active.any():
            break
        move += 1
        new = _neighbours(frontier) & passable & ~reached
        new[~active] = False
        if not new.any():
            break
        reached |= new
        frontier = new
        steps[(new & goal).any(axis=(1, 2)) & active] = move
    return steps


def verify(inputs: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: the output keeps every wall, S and G of the input, marks `o` only on free cells,
    and the `o` cells form a 4-connected S->G path of shortest length. Any shortest path counts,
    not only the label's."""
    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    if inputs.ndim != 2 or outputs.shape != inputs.shape:
        raise ValueError(f"expected inputs and outputs of the same (N, seq_len) shape, got {inputs.shape}, {outputs.shape}")
    n, side = len(inputs), _side(inputs.shape[1])
    grid_in, grid_out = inputs.reshape(n, side, side), outputs.reshape(n, side, side)
    start, goal = grid_in == START, grid_in == GOAL
    one_each = (start.sum(axis=(1, 2)) == 1) & (goal.sum(axis=(1, 2)) == 1)
    fixed = np.isin(grid_in, (WALL, START, GOAL))
    free = grid_in == FREE
    layout = (
        ((grid_out == grid_in) | ~fixed).all(axis=(1, 2))
        & (np.isin(grid_out, (FREE, PATH)) | ~free).all(axis=(1, 2))
        & np.isin(grid_in, (WALL, FREE, START, GOAL)).all(axis=(1, 2))
    )
    shortest = bfs_steps(grid_in != WALL, start, goal)
    path = grid_out == PATH
    along_path = bfs_steps(path | start | goal, start, goal)
    right_length = path.sum(axis=(1, 2)) == shortest - 1
    return one_each & layout & (shortest > 0) & (along_path == shortest) & right_length


_MAPS: dict[int, np.ndarray] = {}


def sample_symmetries(rng: np.random.Generator, n: int, side: int = SIDE) -> PermutationSymmetry:
    """n random symmetries of the square (rotations and reflections)."""
    if side not in _MAPS:
        _MAPS[side] = dihedral_index_maps(side).astype(np.int16)
    positions = _MAPS[side][rng.integers(0, 8, size=n)]
    return PermutationSymmetry(positions, np.tile(np.arange(VOCAB_SIZE), (n, 1)))


def canonical_keys(inputs: np.ndarray) -> list[bytes]:
    """Per maze, the least byte string among its 8 rotations/reflections: equal iff equivalent."""
    inputs = np.asarray(inputs, dtype=np.uint8)
    maps = dihedral_index_maps(_side(inputs.shape[1]))
    variants = np.stack([inputs[:, m] for m in maps], axis=1)  # (N, 8, S)
    return [min(bytes(v) for v in row) for row in variants]


def _bfs(open_cells: list[bool], side: int, source: int) -> list[int]:
    dist = [-1] * (side * side)
    dist[source] = 0
    queue = deque([source])
    while queue:
        i = queue.popleft()
        r, c = divmod(i, side)
        for dr, dc in _STEPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < side and 0 <= cc < side:
                j = rr * side + cc
                if open_cells[j] and dist[j] < 0:
                    dist[j] = dist[i] + 1
                    queue.append(j)
    return dist


def generate_maze(seed: int | str, side: int = SIDE, min_path: int = 111, openings: float = 0.1) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(input tokens, label tokens, shortest path length) of one maze from its own seed, or None when
    no cell lies `min_path` moves from the start (the caller draws the next seed)."""
    rng = random.Random(seed)
    rooms = [(r, c) for r in range(1, side, 2) for c in range(1, side, 2)]
    open_cells = [False] * (side * side)
    visited = {rooms[rng.randrange(len(rooms))]}
    stack = [next(iter(visited))]
    open_cells[stack[0][0] * side + stack[0][1]] = True
    while stack:  # depth-first carving: long corridors
        r, c = stack[-1]
        options = [(r + 2 * dr, c + 2 * dc, r + dr, c + dc) for dr, dc in _STEPS
                   if 0 < r + 2 * dr < side and 0 < c + 2 * dc < side and (r + 2 * dr, c + 2 * dc) not in visited]
        if not options:
            stack.pop()
            continue
        nr, nc, wr, wc = options[rng.randrange(len(options))]
        open_cells[wr * side + wc] = open_cells[nr * side + nc] = True
        visited.add((nr, nc))
        stack.append((nr, nc))
    for r, c in rooms:  # open some walls between rooms: loops, several shortest paths
        for wr, wc, nr, nc in ((r, c + 1, r, c + 2), (r + 1, c, r + 2, c)):
            if nr < side and nc < side and not open_cells[wr * side + wc] and rng.random() < openings:
                open_cells[wr * side + wc] = True
    free = [i for i, o in enumerate(open_cells) if o]
    start = free[rng.randrange(len(free))]
    dist = _bfs(open_cells, side, start)
    far = [i for i in free if dist[i] >= min_path]
    if not far:  # a random start in the middle of the maze: restart from a cell farthest from it
        top = max(dist)
        start = rng.choice([i for i in free if dist[i] == top])
        dist = _bfs(open_cells, side, start)
        far = [i for i in free if dist[i] >= min_path]
        if not far:
            return None
    goal = far[rng.randrange(len(far))]
    grid = np.where(np.array(open_cells), FREE, WALL).astype(np.uint8)
    label = grid.copy()
    cell = goal
    for _ in range(dist[goal] - 1):  # walk back along decreasing distance, ties broken at random
        r, c = divmod(cell, side)
        back = [(r + dr) * side + c + dc for dr, dc in _STEPS
                if 0 <= r + dr < side and 0 <= c + dc < side and dist[(r + dr) * side + c + dc] == dist[cell] - 1]
        cell = back[rng.randrange(len(back))]
        label[cell] = PATH
    grid[start], grid[goal] = START, GOAL
    label[start], label[goal] = START, GOAL
    return grid, label, dist[goal]


TASK = Task("maze", (SIDE, SIDE), verify, sample_symmetries)
