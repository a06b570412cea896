"""Sudoku in the reference token encoding: verifier, symmetries, augmentation, equivalence keys.

Tokens: 0 = PAD, 1 = blank, 2..10 = digits 1..9 (a cell's value + 1); 81 cells row by row.

The symmetry group of Sudoku used here (as in the reference's augmentation): relabel the digits,
permute the three bands and the rows inside each band, the three stacks and the columns inside
each stack, and optionally transpose. Everything is vectorised over the batch.
"""

from __future__ import annotations

import numpy as np

from hrm.data.sudoku_solver import BOX_OF, COL_OF, ROW_OF, UNITS
from hrm.data.symmetry import PermutationSymmetry, random_permutations
from hrm.data.tasks import Task

PAD, BLANK = 0, 1
VOCAB_SIZE = 11
SEQ_LEN = 81
UNIT_INDEX = np.array(UNITS, dtype=np.intp)  # (27, 9): rows, columns, boxes
_ROW = np.array(ROW_OF)
_COL = np.array(COL_OF)
_BOX = np.array(BOX_OF)


def to_tokens(cells: np.ndarray) -> np.ndarray:
    """Digits (0 = blank) to tokens (value + 1), uint8 like the reference."""
    return (np.asarray(cells, dtype=np.int16) + 1).astype(np.uint8)


def to_cells(tokens: np.ndarray) -> np.ndarray:
    """Tokens to digits (0 = blank; -1 where PAD)."""
    return np.asarray(tokens, dtype=np.int16) - 1


def verify(inputs: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: the output grid is a Sudoku solution (every row, column and box holds 1..9
    once) and keeps every given of the input. `labels` is not needed: any solution counts."""
    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    if inputs.ndim != 2 or inputs.shape[1] != SEQ_LEN or outputs.shape != inputs.shape:
        raise ValueError(f"expected inputs and outputs of shape (N, {SEQ_LEN}), got {inputs.shape} and {outputs.shape}")
    digits = outputs.astype(np.int16) - 1
    units = np.sort(digits[:, UNIT_INDEX], axis=2)
    solved = (units == np.arange(1, 10, dtype=np.int16)).all(axis=(1, 2))
    given = inputs >= 2
    kept = ((outputs == inputs) | ~given).all(axis=1)
    well_formed = ((inputs >= 1) & (inputs < VOCAB_SIZE)).all(axis=1)
    return solved & kept & well_formed


def sample_symmetries(rng: np.random.Generator, n: int) -> PermutationSymmetry:
    """n random Sudoku symmetries (digit relabelling, band/stack and row/column shuffles, transpose)."""
    digit = random_permutations(rng, n, 9) + 1  # new digit of old digit d is digit[:, d - 1]
    token_map = np.empty((n, VOCAB_SIZE), dtype=np.uint8)
    token_map[:, PAD] = PAD
    token_map[:, BLANK] = BLANK
    token_map[:, 2:] = digit + 1

    def line_order() -> np.ndarray:
        groups = random_permutations(rng, n, 3)
        inside = random_permutations(rng, n * 3, 3).reshape(n, 3, 3)
        return (groups[:, :, None] * 3 + inside).reshape(n, 9).astype(np.uint8)

    rows, cols = line_order(), line_order()
    transpose = rng.random(n) < 0.5
    row_of, col_of = rows[:, _ROW], cols[:, _COL]
    # source cell of each target cell; uint8 arithmetic is exact (at most 8 * 9 + 8 = 80)
    positions = np.where(transpose[:, None], col_of * 9 + row_of, row_of * 9 + col_of)
    return PermutationSymmetry(positions, token_map)


def augment_into(
    inputs: np.ndarray,
    labels: np.ndarray,
    num_aug: int,
    rng: np.random.Generator,
    out_inputs: np.ndarray,
    out_labels: np.ndarray,
    chunk_examples: int = 4096,
    on_chunk=None,
) -> None:
    """Write each puzzle then `num_aug` random symmetric copies of it (its group) into the outputs,
    whose first axis is len(inputs) * (1 + num_aug). Vectorised over about `chunk_examples` examples
    at a time (small chunks stay in cache); the chunking depends only on num_aug, so the data depends only on the seed."""
    n, per = len(inputs), 1 + num_aug
    grouped_in = out_inputs.reshape(n, per, SEQ_LEN)
    grouped_lab = out_labels.reshape(n, per, SEQ_LEN)
    chunk = max(1, chunk_examples // per)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        grouped_in[start:stop, 0] = inputs[start:stop]
        grouped_lab[start:stop, 0] = labels[start:stop]
        if num_aug:
            sym = sample_symmetries(rng, (stop - start) * num_aug)
            # one symmetry per row moves the puzzle and its solution alike: gather both at once
            both = np.repeat(np.concatenate([inputs[start:stop], labels[start:stop]], axis=1), num_aug, axis=0)
            moved = PermutationSymmetry(np.concatenate([sym.positions, sym.positions + SEQ_LEN], axis=1),
                                        sym.token_map).apply(both)
            grouped_in[start:stop, 1:] = moved[:, :SEQ_LEN].reshape(stop - start, num_aug, SEQ_LEN)
            grouped_lab[start:stop, 1:] = moved[:, SEQ_LEN:].reshape(stop - start, num_aug, SEQ_LEN)
        if on_chunk is not None:
            on_chunk(stop - start)


# ---------------------------------------------------------------------------------------------
# Equivalence keys. A complete canonical form (the lexicographically least member of a puzzle's
# orbit) needs a search over 3.4 million position symmetries per puzzle; what dedupe needs is a key
# that is equal for equivalent puzzles. We compute one by colour refinement (Weisfeiler-Lehman) on
# the cells: each round a cell's colour absorbs the multisets of colours in its row and column
# (combined symmetrically, so a transpose changes nothing), its box, its band and stack, and the
# cells holding the same digit (equality only, so a digit relabelling changes nothing). The key is
# a hash of the final multiset of colours. Equivalent puzzles always share it; two inequivalent
# puzzles share it with negligible probability, and then one of them is merely dropped.

_GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 finaliser, salted per role (wrapping uint64 arithmetic)."""
    x = x + np.uint64(_GOLDEN * salt % 2**64)
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def equivalence_keys(cells: np.ndarray, rounds: int = 3) -> np.ndarray:
    """(N,) uint64: equal for puzzles equivalent under the Sudoku symmetry group. `cells` holds
    digits 0..9 (0 = blank); pass solutions to compare grids instead of puzzles."""
    digits = np.asarray(cells, dtype=np.int64)
    n = len(digits)
    colour = _mix((digits > 0).astype(np.uint64), 1)
    for _ in range(rounds):
        h = _mix(colour, 2)
        grid = h.reshape(n, 9, 9)
        row, col = grid.sum(axis=2), grid.sum(axis=1)
        box = grid.reshape(n, 3, 3, 3, 3).sum(axis=(2, 4)).reshape(n, 9)
        band, stack = row.reshape(n, 3, 3).sum(axis=2), col.reshape(n, 3, 3).sum(axis=2)
        same_digit = np.zeros((n, 10), dtype=np.uint64)
        for d in range(1, 10):
            same_digit[:, d] = np.where(digits == d, h, np.uint64(0)).sum(axis=1)
        digit_feature = np.take_along_axis(same_digit, digits, axis=1)  # 0 for blanks
        lines = _mix(row[:, _ROW], 3) + _mix(col[:, _COL], 3)
        blocks = _mix(band[:, _ROW // 3], 4) + _mix(stack[:, _COL // 3], 4)
        colour = _mix(h + _mix(lines + _mix(box[:, _BOX] + _mix(blocks + _mix(digit_feature, 5), 6), 7), 8), 9)
    return _mix(colour, 10).sum(axis=1)


def first_of_each_class(keys: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """Bool mask keeping the first puzzle of each equivalence class, and none equivalent to a key
    in `exclude` (e.g. keep train puzzles inequivalent to every test puzzle)."""
    keep = np.zeros(len(keys), dtype=bool)
    _, first = np.unique(keys, return_index=True)
    keep[first] = True
    if exclude is not None and len(exclude):
        keep &= ~np.isin(keys, exclude)
    return keep


TASK = Task("sudoku", (9, 9), verify, sample_symmetries)
