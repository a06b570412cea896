"""RMSNorm without a learnable weight (the reference HRM's post-norm), computed in fp32."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def rms_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dimension; low-precision inputs are normed in fp32."""
    if x.dtype == torch.float32 or x.dtype == torch.float64:
        return F.rms_norm(x, (x.shape[-1],), eps=eps)
    return F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)
