"""Rotary position embedding (RoPE) in the half-split layout the reference HRM uses: feature i of a
head rotates together with feature i + head_dim/2.

    rope(x) = x * cos + rotate_half(x) * sin,   rotate_half([x1, x2]) = [-x2, x1]

computed as x * cos + roll(x, head_dim/2) * sin_signed with the sign folded into the table, on q and
k together (one pass over both instead of four).
"""

from __future__ import annotations

import torch
from torch import nn

CosSin = tuple[torch.Tensor, torch.Tensor]


class RotaryEmbedding(nn.Module):
    """Tables (positions, head_dim) in fp32: cos, and sin with the first half negated."""

    def __init__(self, head_dim: int, max_positions: int, theta: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float32), inv_freq)
        angles = torch.cat((freqs, freqs), dim=-1)
        sign = torch.cat((-torch.ones(head_dim // 2), torch.ones(head_dim // 2)))
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin_signed", angles.sin() * sign, persistent=False)

    def forward(self) -> CosSin:
        return self.cos, self.sin_signed


def apply_rope(x: torch.Tensor, cos_sin: CosSin) -> torch.Tensor:
    """Rotate x of shape (B, S, ..., head_dim) by position (dim 1); tables are (S, head_dim) in fp32."""
    cos, sin_signed = cos_sin
    extra = x.ndim - 3  # the dims between position and feature (heads, or q/k and heads)
    shape = (cos.shape[0],) + (1,) * extra + (cos.shape[1],)
    cos, sin_signed = cos.view(shape), sin_signed.view(shape)
    dtype = x.dtype
    x = x.to(cos.dtype)  # fp32, as the reference: a no-op in fp32
    out = torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin_signed)
    return out.to(dtype)
