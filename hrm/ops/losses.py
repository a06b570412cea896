"""Per-token cross-entropies: the reference's stablemax (float64) and ordinary softmax.

Both return the loss per position (B, S), zero where the label is `ignore_index`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def _stablemax_s(x: torch.Tensor) -> torch.Tensor:
    # s(x) = x + 1 for x >= 0 and 1 / (1 - x) below: positive, smooth at 0, grows only linearly.
    return torch.where(x < 0, 1 / (1 - x), x + 1)


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = _stablemax_s(x)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    # float64 as the reference (MPS has no float64: float32 there).
    dtype = torch.float32 if logits.device.type == "mps" else torch.float64
    logprobs = log_stablemax(logits.to(dtype), dim=-1)
    valid = labels != ignore_index
    picked = logprobs.gather(-1, torch.where(valid, labels, 0).unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, 0).to(torch.float32)


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    flat = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=ignore_index, reduction="none"
    )
    return flat.view(labels.shape)


CROSS_ENTROPIES = {"stablemax": stablemax_cross_entropy, "softmax": softmax_cross_entropy}
