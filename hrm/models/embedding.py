"""Input embedding shared by the models: tokens, optional puzzle embedding, positions.

Positions are one of
- `rope`: rotary embeddings inside attention (the reference's default); nothing is added here;
- `learned`: one learned vector per position (the reference's alternative);
- `grid`: for 2-D puzzles read row by row, the sum of a row, a column and (optionally) a box
  embedding, e.g. Sudoku 9x9 with 3x3 boxes. It tells the model which cells share a constraint;
  measured on this CPU it broke the Sudoku plateau (DESIGN.md).
The puzzle embedding takes ceil(puzzle_emb_ndim / hidden) positions in front of the sequence. As in
the reference, added positions are scaled by 1/sqrt(2) and the sum by sqrt(hidden).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from hrm.models.base import ModelConfigError, TaskShape
from hrm.ops.casted import CastedEmbedding
from hrm.ops.puzzle_embedding import SparsePuzzleEmbedding
from hrm.ops.rope import CosSin, RotaryEmbedding

PosEncoding = Literal["rope", "learned", "grid"]


class GridPositions(nn.Module):
    """(rows*cols, hidden) table: row + column (+ box) embeddings, normalised by sqrt(#terms)."""

    def __init__(self, grid_shape: tuple[int, int], box_shape: tuple[int, int] | None, hidden: int, init_std: float):
        super().__init__()
        rows, cols = grid_shape
        cell = torch.arange(rows * cols)
        r, c = cell // cols, cell % cols
        self.register_buffer("row_index", r, persistent=False)
        self.register_buffer("col_index", c, persistent=False)
        self.row = CastedEmbedding(rows, hidden, init_std)
        self.col = CastedEmbedding(cols, hidden, init_std)
        self.box = None
        terms = 2
        if box_shape is not None:
            bh, bw = box_shape
            self.register_buffer("box_index", (r // bh) * (cols // bw) + c // bw, persistent=False)
            self.box = CastedEmbedding((rows // bh) * (cols // bw), hidden, init_std)
            terms = 3
        self.norm = 1.0 / math.sqrt(terms)

    def forward(self, dtype: torch.dtype) -> torch.Tensor:
        table = self.row(self.row_index, dtype) + self.col(self.col_index, dtype)
        if self.box is not None:
            table = table + self.box(self.box_index, dtype)
        return table * self.norm


def check_head_layout(hidden_size: int, num_heads: int, pos_encodings: str, top_k: int | None) -> None:
    """Config-level checks shared by the architectures (raised inside pydantic validators)."""
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} must be divisible by num_heads {num_heads}")
    if pos_encodings == "rope" and (hidden_size // num_heads) % 2:
        raise ValueError("rope needs an even head dimension (hidden_size / num_heads)")
    if top_k is not None and top_k > num_heads:
        raise ValueError(f"routing.top_k {top_k} exceeds num_heads {num_heads}")


def check_grid(grid_shape: tuple[int, int], box_shape: tuple[int, int] | None, seq_len: int) -> None:
    rows, cols = grid_shape
    if rows * cols != seq_len:
        raise ModelConfigError(
            f"model.grid_shape {list(grid_shape)} has {rows * cols} cells but the dataset's sequences have "
            f"{seq_len} (seq_len in dataset.json): set model.grid_shape to the puzzle's [rows, cols] or use "
            f"model.pos_encodings rope/learned"
        )
    if box_shape is not None and (rows % box_shape[0] or cols % box_shape[1]):
        raise ModelConfigError(
            f"model.box_shape {list(box_shape)} does not tile model.grid_shape {list(grid_shape)}: "
            f"set a box shape that divides the grid, or null for no box embedding"
        )


class InputEmbedding(nn.Module):
    def __init__(
        self,
        shape: TaskShape,
        hidden_size: int,
        num_heads: int,
        pos_encodings: PosEncoding,
        puzzle_emb_ndim: int,
        grid_shape: tuple[int, int],
        box_shape: tuple[int, int] | None,
        rope_theta: float,
    ):
        super().__init__()
        self.hidden_size, self.pos_encodings = hidden_size, pos_encodings
        self.scale = math.sqrt(hidden_size)
        init_std = 1.0 / self.scale
        self.puzzle_len = -(puzzle_emb_ndim // -hidden_size)  # ceil division
        self.total_len = shape.seq_len + self.puzzle_len
        self.embed_tokens = CastedEmbedding(shape.vocab_size, hidden_size, init_std)
        self.puzzle_emb = (
            SparsePuzzleEmbedding(shape.num_puzzle_identifiers, puzzle_emb_ndim) if puzzle_emb_ndim > 0 else None
        )
        self.rotary_emb = self.embed_pos = self.grid_pos = None
        if pos_encodings == "rope":
            self.rotary_emb = RotaryEmbedding(hidden_size // num_heads, self.total_len, rope_theta)
        elif pos_encodings == "learned":
            self.embed_pos = CastedEmbedding(self.total_len, hidden_size, init_std)
        else:
            check_grid(grid_shape, box_shape, shape.seq_len)
            self.grid_pos = GridPositions(grid_shape, box_shape, hidden_size, init_std)

    def cos_sin(self) -> CosSin | None:
        return self.rotary_emb() if self.rotary_emb is not None else None

    def forward(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B, S) tokens -> (B, puzzle_len + S, hidden) in `dtype`."""
        x = self.embed_tokens(inputs, dtype)
        if self.puzzle_emb is not None:
            rows = self.puzzle_emb(puzzle_identifiers, dtype)
            pad = self.puzzle_len * self.hidden_size - rows.shape[-1]
            if pad > 0:
                rows = F.pad(rows, (0, pad))
            x = torch.cat((rows.view(-1, self.puzzle_len, self.hidden_size), x), dim=1)
        if self.embed_pos is not None:
            x = 0.707106781 * (x + self.embed_pos.weight.to(dtype))
        elif self.grid_pos is not None:
            table = self.grid_pos(dtype)
            if self.puzzle_len:  # the puzzle-embedding positions get no grid position
                table = F.pad(table, (0, 0, self.puzzle_len, 0))
            x = 0.707106781 * (x + table)
        return self.scale * x
