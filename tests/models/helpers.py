"""Small helpers shared by the model tests."""

from __future__ import annotations

import torch

from hrm.models import TaskModel
from hrm.optim import AdamATan2

from .sudoku import rows_of


def random_batch(n: int, seq_len: int = 81, vocab: int = 11, identifiers: int = 1) -> dict[str, torch.Tensor]:
    return {
        "inputs": torch.randint(1, vocab, (n, seq_len)),
        "labels": torch.randint(1, vocab, (n, seq_len)),
        "puzzle_identifiers": torch.randint(0, identifiers, (n,)),
    }


def train_until_exact(
    model: TaskModel,
    data: dict[str, torch.Tensor],
    max_steps: int,
    lr: float = 1e-3,
    slots: int = 8,
    check_every: int = 10,
    **predict_overrides,
) -> tuple[int | None, float]:
    """Train with the protocol (carry, rows_to_fill) cycling through `data`; every `check_every` steps
    predict all of it. Returns (step when every puzzle was exactly right or None, last exact accuracy)."""
    opt = AdamATan2(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    sparse = model.sparse_optimizer(lr=1e-2, weight_decay=0.0)
    n = data["inputs"].shape[0]
    carry = model.initial_carry(slots, "cpu")
    cursor, exact = 0, 0.0
    for step in range(1, max_steps + 1):
        k = int(model.rows_to_fill(carry).sum())
        carry, out = model(carry, rows_of(data, torch.arange(cursor, cursor + k) % n))
        cursor += k
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        if sparse is not None:
            sparse.step()
            sparse.zero_grad()
        if step % check_every == 0:
            pred = model.predict(data, **predict_overrides)
            exact = (pred.tokens == data["labels"]).all(dim=1).float().mean().item()
            if exact == 1.0:
                return step, exact
    return None, exact
