"""ARC-AGI in the reference token layout: grid crop, verifier, dihedral + colour symmetries.

Each grid (up to 30 x 30, colours 0..9) is written into a 30 x 30 canvas as colour + 2, with an
end-of-grid marker (1) on the row just below and the column just right of it, PAD (0) elsewhere;
seq_len 900, vocab 12. Test grids sit at the top-left corner; the reference shifts train grids by
a random offset (translation augmentation).

Augmented puzzles are named like the reference's: `<task id>_t<transform>_<colour map>`, e.g.
`007bbfb7_t3_0513276498` = dihedral transform 3 after mapping colour c to digit c of the map.
`symmetry_from_identifiers` turns those names back into symmetries, so an answer to an augmented
test example can be mapped to the original task's frame.
"""

from __future__ import annotations

import re

import numpy as np

from hrm.data.symmetry import DIHEDRAL_INVERSE, Symmetry, dihedral
from hrm.data.tasks import Task

PAD, EOS, COLOUR_OFFSET = 0, 1, 2
SIDE = 30
SEQ_LEN = SIDE * SIDE
VOCAB_SIZE = 12
_NAME = re.compile(r"^(?P<base>.+)_t(?P<tid>[0-7])_(?P<map>[0-9]{10})$")
IDENTITY_COLOURS = np.arange(10)


def pad_grid(grid: np.ndarray, row: int = 0, col: int = 0) -> np.ndarray:
    """A colour grid placed at (row, col) of the 30 x 30 canvas, with its end markers; (900,) uint8."""
    grid = np.asarray(grid)
    h, w = grid.shape
    if not (0 < h and 0 < w and row + h <= SIDE and col + w <= SIDE):
        raise ValueError(f"a {h}x{w} grid at ({row}, {col}) does not fit the {SIDE}x{SIDE} canvas")
    canvas = np.zeros((SIDE, SIDE), dtype=np.uint8)
    canvas[row : row + h, col : col + w] = grid + COLOUR_OFFSET
    if row + h < SIDE:
        canvas[row + h, col : col + w] = EOS
    if col + w < SIDE:
        canvas[row : row + h, col + w] = EOS
    return canvas.reshape(-1)


def _shifted(tokens: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(N, 30, 30) canvases moved so that (rows[k], cols[k]) is the new top-left; PAD beyond the edge."""
    n = len(tokens)
    grid = tokens.reshape(n, SIDE, SIDE)
    if not rows.any() and not cols.any():  # top-left grids (test split, symmetry outputs): nothing to move
        return grid
    r = rows[:, None] + np.arange(SIDE)[None, :]
    c = cols[:, None] + np.arange(SIDE)[None, :]
    inside = (r[:, :, None] < SIDE) & (c[:, None, :] < SIDE)
    moved = grid[np.arange(n)[:, None, None], np.minimum(r, SIDE - 1)[:, :, None], np.minimum(c, SIDE - 1)[:, None, :]]
    return np.where(inside, moved, PAD)


def grid_anchors(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-left (row, col) of the colour cells of each canvas (0, 0 where there are none)."""
    colour = (tokens >= COLOUR_OFFSET) & (tokens < VOCAB_SIZE)
    grid = colour.reshape(len(tokens), SIDE, SIDE)
    return grid.any(axis=2).argmax(axis=1), grid.any(axis=1).argmax(axis=1)


def crop_bounds(tokens: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid read from each canvas starting at (rows, cols), by the reference's rule: the largest
    rectangle of colour cells anchored there. Returns (moved canvases, heights, widths)."""
    moved = _shifted(np.asarray(tokens), rows, cols)
    colour = (moved >= COLOUR_OFFSET) & (moved < VOCAB_SIZE)
    row_width = np.logical_and.accumulate(colour, axis=2).sum(axis=2)  # colour run from the left edge, per row
    width = np.minimum.accumulate(row_width, axis=1)  # a rectangle of k rows is as wide as its narrowest
    area = width * np.arange(1, SIDE + 1)[None, :]
    best = area.argmax(axis=1)
    has = area.max(axis=1) > 0
    heights = np.where(has, best + 1, 0)
    widths = np.where(has, width[np.arange(len(width)), best], 0)
    return moved, heights, widths


def crop(tokens: np.ndarray) -> np.ndarray:
    """The colour grid (values 0..9) in one canvas; shape (0, 0) when there is none."""
    tokens = np.asarray(tokens).reshape(1, -1)
    rows, cols = grid_anchors(tokens)
    moved, h, w = crop_bounds(tokens, rows, cols)
    return moved[0, : h[0], : w[0]].astype(np.int64) - COLOUR_OFFSET


def verify(inputs: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: the output holds exactly the label's grid (same size, same colours), read from
    where the label's grid starts. ARC has no checker besides the answer, so `labels` is required."""
    if labels is None:
        raise ValueError("ARC answers are checked against the label grid: pass labels")
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if outputs.ndim != 2 or outputs.shape[1] != SEQ_LEN or labels.shape != outputs.shape:
        raise ValueError(f"expected outputs and labels of shape (N, {SEQ_LEN}), got {outputs.shape} and {labels.shape}")
    rows, cols = grid_anchors(labels)
    out_moved, out_h, out_w = crop_bounds(outputs, rows, cols)
    lab_moved, lab_h, lab_w = crop_bounds(labels, rows, cols)
    inside = (np.arange(SIDE)[None, :, None] < lab_h[:, None, None]) & (np.arange(SIDE)[None, None, :] < lab_w[:, None, None])
    same = ((out_moved == lab_moved) | ~inside).all(axis=(1, 2))
    return same & (out_h == lab_h) & (out_w == lab_w) & (lab_h > 0)


class ArcSymmetry(Symmetry):
    """Per row: map colours by `colour_maps[k]` (black stays black) and transform the grid by
    dihedral `tids[k]`, re-drawn at the top-left. `invert(apply(x)) == x` for top-left grids (the
    test split); a shifted train grid comes back at the top-left."""

    def __init__(self, tids: np.ndarray, colour_maps: np.ndarray):
        self.tids = np.asarray(tids, dtype=np.int64)
        self.colour_maps = np.asarray(colour_maps, dtype=np.int64)
        if self.colour_maps.shape != (len(self.tids), 10):
            raise ValueError("colour_maps must have shape (n, 10)")

    def __len__(self) -> int:
        return len(self.tids)

    @staticmethod
    def _transform(tokens: np.ndarray, tids: np.ndarray, maps: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape != (len(tids), SEQ_LEN):
            raise ValueError(f"expected tokens of shape ({len(tids)}, {SEQ_LEN}), got {tokens.shape}")
        rows, cols = grid_anchors(tokens)
        moved, heights, widths = crop_bounds(tokens, rows, cols)
        out = np.zeros_like(tokens)
        for k in range(len(tokens)):
            if heights[k] == 0:  # nothing readable: leave the row as it is
                out[k] = tokens[k]
                continue
            grid = moved[k, : heights[k], : widths[k]].astype(np.int64) - COLOUR_OFFSET
            out[k] = pad_grid(dihedral(maps[k][grid], int(tids[k])))
        return out

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return self._transform(tokens, self.tids, self.colour_maps)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        inverse_tids = np.array([DIHEDRAL_INVERSE[t] for t in self.tids], dtype=np.int64)
        return self._transform(tokens, inverse_tids, np.argsort(self.colour_maps, axis=1))


def random_colour_maps(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 10): black (0) kept, colours 1..9 permuted, as in the reference."""
    maps = np.zeros((n, 10), dtype=np.int64)
    maps[:, 1:] = np.argsort(rng.random((n, 9)), axis=1) + 1
    return maps


def sample_symmetries(rng: np.random.Generator, n: int) -> ArcSymmetry:
    tids = rng.integers(0, 8, size=n)
    return ArcSymmetry(tids, random_colour_maps(rng, n))


def augmentation_name(base: str, tid: int, colour_map: np.ndarray) -> str:
    return f"{base}_t{tid}_{''.join(str(int(x)) for x in colour_map)}"


def parse_identifier(name: str) -> tuple[str, int, np.ndarray]:
    """`<id>_t<tid>_<map>` -> (id, tid, colour map); any other name is an unaugmented puzzle."""
    m = _NAME.match(name)
    if m is None:
        return name, 0, IDENTITY_COLOURS.copy()
    return m["base"], int(m["tid"]), np.array([int(ch) for ch in m["map"]])


def symmetry_from_identifiers(names: list[str]) -> ArcSymmetry:
    """The augmentation each named puzzle went through: `invert` maps answers to the original frame."""
    parsed = [parse_identifier(n) for n in names]
    return ArcSymmetry(np.array([p[1] for p in parsed], dtype=np.int64),
                       np.stack([p[2] for p in parsed]) if parsed else np.zeros((0, 10), dtype=np.int64))


TASK = Task("arc", (SIDE, SIDE), verify, sample_symmetries)
