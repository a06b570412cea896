"""Linear and embedding layers that keep fp32 weights and compute in the forward dtype.

The optimiser always sees fp32 weights; each call casts them to the dtype of what flows through
the model (bf16 on a GPU, fp32 on this kind of CPU). In fp32 the cast is a no-op that returns the
same tensor: no copy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hrm.ops.init import lecun_normal_, trunc_normal_init_


class CastedLinear(nn.Module):
    """`y = x W^T (+ b)` with W (out, in) in fp32, cast to x.dtype at the call. LeCun init, zero bias."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(lecun_normal_(torch.empty(out_features, in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), bias)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, bias={self.bias is not None}"


class CastedEmbedding(nn.Module):
    """A lookup table (num, dim) in fp32 with truncated-normal init; rows come out in `dtype`."""

    def __init__(self, num_embeddings: int, embedding_dim: int, init_std: float):
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_init_(torch.empty(num_embeddings, embedding_dim), std=init_std))

    def forward(self, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return F.embedding(ids, self.weight.to(dtype))
