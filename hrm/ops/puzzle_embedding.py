"""Per-puzzle embeddings: a table trained sparsely (only the rows a batch used) by sign-SGD.

The table is a buffer, not a parameter, so Adam never sees it (as in the reference HRM, where
Adam's state for millions of rows would dwarf the model). In training each forward copies the
rows it needs into a fresh leaf tensor that collects their gradient; `SparseSignSGD` in
`hrm/optim.py` then updates those rows and nothing else. Zero-initialised, as in the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from hrm.ops.init import trunc_normal_init_

# Forward calls without an optimizer step in between that we accept before calling it a bug
# (gradient accumulation over more micro-batches than this is not a real use).
MAX_PENDING = 4096


class SparsePuzzleEmbedding(nn.Module):
    def __init__(self, num_identifiers: int, dim: int, init_std: float = 0.0):
        super().__init__()
        self.num_identifiers, self.dim = num_identifiers, dim
        self.register_buffer("weight", trunc_normal_init_(torch.empty(num_identifiers, dim), std=init_std))
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []  # (ids, rows with .grad) since the last step

    def forward(self, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        rows = self.weight[ids]  # indexing copies: the table itself never enters the graph
        if not (self.training and torch.is_grad_enabled()):
            return rows.to(dtype)
        if len(self._pending) >= MAX_PENDING:
            raise RuntimeError(
                "puzzle embedding: gradients of many forward passes are waiting; call step() or zero_grad() "
                "of the optimizer from model.sparse_optimizer() after each backward"
            )
        rows.requires_grad_(True)
        self._pending.append((ids, rows))
        return rows.to(dtype)

    def take_gradients(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(ids (n,), grads (n, dim)) of the rows used since the last call; None when there are none."""
        pairs = [(ids, rows.grad) for ids, rows in self._pending if rows.grad is not None]
        self._pending.clear()
        if not pairs:
            return None
        return torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])

    def clear_gradients(self) -> None:
        self._pending.clear()

    def extra_repr(self) -> str:
        return f"identifiers={self.num_identifiers}, dim={self.dim}"
