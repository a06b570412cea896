"""SwiGLU feed-forward: down(silu(gate) * up), gate and up from one fused projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hrm.ops.casted import CastedLinear


def swiglu_width(hidden_size: int, expansion: float, multiple: int = 256) -> int:
    """The reference's intermediate width: 2/3 * expansion * hidden, rounded up to a multiple of 256."""
    inter = round(expansion * hidden_size * 2 / 3)
    return -(inter // -multiple) * multiple


class SwiGLU(nn.Module):
    def __init__(self, hidden_size: int, expansion: float):
        super().__init__()
        self.inter = swiglu_width(hidden_size, expansion)
        self.gate_up_proj = CastedLinear(hidden_size, 2 * self.inter)
        self.down_proj = CastedLinear(self.inter, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)

    def flops_per_token(self) -> float:
        return 2.0 * (self.gate_up_proj.in_features * 2 * self.inter + self.inter * self.down_proj.out_features)
