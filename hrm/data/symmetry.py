"""Symmetries of puzzles, applied to whole batches of token sequences at once.

A `Symmetry` holds one random transform per row of a batch. `apply` maps puzzles (or answers) to
their transformed versions and `invert` maps transformed answers back, so evaluation can show a
model a random augmentation of each puzzle and score the answer against the original.

Most puzzle symmetries are a permutation of positions plus a relabelling of tokens; that case is
`PermutationSymmetry`, vectorised with `take_along_axis` (no Python loop over rows).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod

import numpy as np

# The 8 symmetries of the square, numbered as the reference's `dihedral_transform` (so augmented
# puzzle names like "<id>_t3_..." mean the same transform in both tools):
# 0 identity, 1..3 rotations by 90/180/270 degrees (np.rot90), 4 left-right flip, 5 up-down flip,
# 6 transpose, 7 anti-transpose.
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


def dihedral(grid: np.ndarray, tid: int) -> np.ndarray:
    """Transform the last two axes of `grid` by dihedral symmetry `tid` (0..7)."""
    axes = (-2, -1)
    if tid == 0:
        return grid
    if tid in (1, 2, 3):
        return np.rot90(grid, k=tid, axes=axes)
    if tid == 4:
        return np.flip(grid, axis=-1)
    if tid == 5:
        return np.flip(grid, axis=-2)
    if tid == 6:
        return np.swapaxes(grid, -2, -1)
    if tid == 7:
        return np.flip(np.rot90(grid, k=1, axes=axes), axis=-1)
    raise ValueError(f"dihedral transform id {tid} is not in 0..7")


def dihedral_index_maps(side: int) -> np.ndarray:
    """(8, side*side) source index of each output cell: `flat[maps[t]] == dihedral(grid, t).ravel()`."""
    cells = np.arange(side * side).reshape(side, side)
    return np.stack([dihedral(cells, t).ravel() for t in range(8)])


def _check_tokens(tokens: np.ndarray, vocab: int) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"expected tokens of shape (n, seq_len), got {tokens.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(f"token ids must lie in 0..{vocab - 1}")
    return tokens


class Symmetry(ABC):
    """One transform per row of a batch."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def apply(self, tokens: np.ndarray) -> np.ndarray:
        """Transform each row of (n, seq_len) tokens by its own symmetry."""

    @abstractmethod
    def invert(self, tokens: np.ndarray) -> np.ndarray:
        """Map transformed rows back: `invert(apply(x)) == x`."""


class IdentitySymmetry(Symmetry):
    def __init__(self, n: int):
        self.n = int(n)

    def __len__(self) -> int:
        return self.n

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return np.array(tokens, copy=True)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return np.array(tokens, copy=True)


class PermutationSymmetry(Symmetry):
    """`apply(x)[k, j] = token_map[k, x[k, positions[k, j]]]`; `invert` undoes it exactly."""

    def __init__(self, positions: np.ndarray, token_map: np.ndarray):
        self.positions = np.asarray(positions)
        self.token_map = np.asarray(token_map)
        if self.positions.ndim != 2 or self.token_map.ndim != 2 or len(self.positions) != len(self.token_map):
            raise ValueError("positions (n, seq_len) and token_map (n, vocab) must agree on n")

    def __len__(self) -> int:
        return len(self.positions)

    def _shape_check(self, tokens: np.ndarray) -> np.ndarray:
        tokens = _check_tokens(tokens, self.token_map.shape[1])
        if tokens.shape != self.positions.shape:
            raise ValueError(f"tokens {tokens.shape} do not match the symmetry batch {self.positions.shape}")
        return tokens

    @staticmethod
    def _gather(table: np.ndarray, index: np.ndarray) -> np.ndarray:
        """`table[k, index[k, j]]` for every row k, as one flat lookup (faster than take_along_axis)."""
        dtype = np.int32 if table.size < 2**31 else np.int64  # half the index memory where it fits
        offsets = (np.arange(len(table), dtype=dtype) * table.shape[1])[:, None]
        flat_index = np.add(index, offsets, dtype=dtype)
        return np.take(table.reshape(-1), flat_index)  # np.take beats fancy indexing by ~2x here

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        tokens = self._shape_check(tokens)
        moved = self._gather(tokens, self.positions)
        return self._gather(self.token_map, moved).astype(tokens.dtype)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        tokens = self._shape_check(tokens)
        inverse_map = np.argsort(self.token_map, axis=1)
        inverse_positions = np.argsort(self.positions, axis=1)
        return self._gather(self._gather(inverse_map, tokens), inverse_positions).astype(tokens.dtype)


def random_permutations(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """(n, k) independent uniform random permutations of 0..k-1 (uint8 for k <= 256)."""
    dtype = np.uint8 if k <= 256 else np.int64
    if k <= 4:  # pick rows of the table of all k! permutations: far faster than shuffling
        table = np.array(list(itertools.permutations(range(k))), dtype=dtype).reshape(-1, k)
        return table[rng.integers(0, len(table), size=n)]
    return rng.permuted(np.broadcast_to(np.arange(k, dtype=dtype), (n, k)), axis=1)
