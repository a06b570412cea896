"""Optimisers of the reference HRM, in plain PyTorch (no adam-atan2 package, no CUDA extension).

- `AdamATan2`: Adam whose update is atan2(m_hat, sqrt(v_hat)) instead of m_hat / (sqrt(v_hat) + eps)
  (Everett et al. 2024): bounded by pi/2, scale-invariant, no epsilon. Decoupled weight decay.
- `SparseSignSGD`: sign-SGD with decoupled weight decay on the rows of sparse puzzle embeddings
  that a batch used; under torch.distributed the rows and gradients of all ranks are gathered first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist

from hrm.ops.puzzle_embedding import SparsePuzzleEmbedding


class AdamATan2(torch.optim.Optimizer):
    """Per step t, for each parameter p with gradient g:

        p <- p * (1 - lr * weight_decay)
        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
        p <- p - lr * atan2(m / (1 - beta1^t), sqrt(v) / sqrt(1 - beta2^t))
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.0,
    ):
        if lr < 0:
            raise ValueError(f"AdamATan2: lr must be >= 0, got {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"AdamATan2: betas must lie in [0, 1), got {betas}")
        if weight_decay < 0:
            raise ValueError(f"AdamATan2: weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            params, grads, exp_avgs, exp_avg_sqs = [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("AdamATan2 does not take sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)  # a CPU tensor: reading it never waits for a GPU
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                params.append(p)
                grads.append(p.grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
            if not params:
                continue
            if wd != 0:
                torch._foreach_mul_(params, 1 - lr * wd)
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            for p, m, v in zip(params, exp_avgs, exp_avg_sqs, strict=True):
                t = float(self.state[p]["step"])
                m_hat = m / (1 - beta1**t)
                v_hat_sqrt = v.sqrt() / math.sqrt(1 - beta2**t)
                p.add_(torch.atan2(m_hat, v_hat_sqrt), alpha=-lr)
        return loss


class SparseSignSGD(torch.optim.Optimizer):
    """rows <- rows * (1 - lr * weight_decay) - lr * sign(sum of the rows' gradients in the batch).

    Holds the embedding modules and updates each one's current table, so it stays right after the
    model moves to another device. `zero_grad` drops gradients collected since the last step.
    """

    def __init__(self, embeddings: list[SparsePuzzleEmbedding], lr: float = 1e-2, weight_decay: float = 0.1):
        if not embeddings:
            raise ValueError("SparseSignSGD needs at least one SparsePuzzleEmbedding")
        if lr < 0 or weight_decay < 0:
            raise ValueError(f"SparseSignSGD: lr and weight_decay must be >= 0, got {lr}, {weight_decay}")
        self._embeddings = list(embeddings)
        super().__init__([e.weight for e in self._embeddings], dict(lr=lr, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = _evaluate(closure)
        group = self.param_groups[0]
        lr, wd = group["lr"], group["weight_decay"]
        for emb in self._embeddings:
            taken = emb.take_gradients()
            if taken is None:
                continue
            ids, grads = _gather_across_ranks(*taken)
            unique_ids, inverse = ids.unique(return_inverse=True)
            summed = torch.zeros(unique_ids.shape[0], grads.shape[1], dtype=grads.dtype, device=grads.device)
            summed.index_add_(0, inverse, grads)
            table = emb.weight
            rows = table[unique_ids]
            rows.mul_(1 - lr * wd).add_(torch.sign(summed).to(rows.dtype), alpha=-lr)
            table[unique_ids] = rows
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for emb in self._embeddings:
            emb.clear_gradients()


def _evaluate(closure: Callable[[], float] | None) -> float | None:
    """torch.optim's closure convention: re-evaluate the loss (with grad) before stepping."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _gather_across_ranks(ids: torch.Tensor, grads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' (ids, grads), so every rank applies the same update. Ranks hold equal row counts."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return ids, grads
    world = dist.get_world_size()
    all_ids = [torch.empty_like(ids) for _ in range(world)]
    all_grads = [torch.empty_like(grads) for _ in range(world)]
    dist.all_gather(all_ids, ids.contiguous())
    dist.all_gather(all_grads, grads.contiguous())
    return torch.cat(all_ids), torch.cat(all_grads)
