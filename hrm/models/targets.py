"""What a model is trained on and scored by, shared by every architecture.

- `loss_on: all` takes the loss on every labelled cell (the reference). `changed` only where the
  label differs from the input (for Sudoku: the blanks), one of the two measured fixes for the CPU
  plateau in DESIGN.md. A model trained that way never learns to echo the givens, so its answer
  copies the input wherever the input is not `blank_token`: `changed` suits puzzles whose cells to
  fill are exactly the blank ones (Sudoku), not Maze (whose free cells stay free or become path).
- Scores use the final answer against every labelled cell: `exact` (whole sequence right, the
  headline figure) and per-cell accuracy.
"""

from __future__ import annotations

from typing import Literal

import torch

from hrm.models.base import ModelConfigError
from hrm.ops.losses import CROSS_ENTROPIES, IGNORE_INDEX

LossKind = Literal["stablemax", "softmax"]
LossOn = Literal["all", "changed"]


def check_blank_token(loss_on: LossOn, blank_token: int, vocab_size: int) -> None:
    if loss_on == "changed" and not 0 <= blank_token < vocab_size:
        raise ModelConfigError(
            f"model.blank_token {blank_token} is not a token of this dataset (vocab_size {vocab_size}): "
            f"set it to the input token of the cells to fill"
        )


def loss_labels(labels: torch.Tensor, inputs: torch.Tensor, loss_on: LossOn) -> torch.Tensor:
    if loss_on == "changed":
        return torch.where(labels == inputs, IGNORE_INDEX, labels)
    return labels


def sequence_loss(logits: torch.Tensor, labels: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """(B,) cross-entropy averaged over each sequence's labelled cells (0 for a sequence without any)."""
    per_cell = CROSS_ENTROPIES[kind](logits, labels, ignore_index=IGNORE_INDEX)
    counts = (labels != IGNORE_INDEX).sum(-1).clamp_min(1)
    return per_cell.sum(-1) / counts


def answer_tokens(logits: torch.Tensor, inputs: torch.Tensor, loss_on: LossOn, blank_token: int) -> torch.Tensor:
    tokens = logits.argmax(-1)
    if loss_on == "changed":
        tokens = torch.where(inputs == blank_token, tokens, inputs)
    return tokens


def correctness(tokens: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per sequence: fraction of labelled cells right (B,), all right (B,) bool, has labels (B,) bool."""
    mask = labels != IGNORE_INDEX
    counts = mask.sum(-1)
    right = (mask & (tokens == labels)).sum(-1)
    return right / counts.clamp_min(1), right == counts, counts > 0


def masked_mean(values: torch.Tensor, rows: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Mean of `values` (B,) over the rows where `rows` is True (0 when there are none); no host sync."""
    return torch.where(rows, values.float(), 0.0).sum() / count.clamp_min(1)
