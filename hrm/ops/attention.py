"""Multi-head self-attention with one kernel call site: flash-attn where it suits, else torch SDPA.

`attend` is the only place that runs an attention kernel. The backend is chosen once per device by
`hrm.device.select_attention` (flash-attn 4/3/2 when installed and suited to the GPU, PyTorch's
`scaled_dot_product_attention` everywhere else, HRM_ATTENTION=sdpa forces the fallback). flash-attn
only takes fp16/bf16, so fp32 calls use SDPA even on a flash machine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from hrm.device import AttentionBackend, probe, select_attention
from hrm.ops.casted import CastedLinear
from hrm.ops.rope import CosSin, apply_rope

_BACKENDS: dict[str, AttentionBackend] = {}
_FLASH_FUNCS: dict[str, Callable] = {}
FLASH_DTYPES = (torch.float16, torch.bfloat16)


def attention_backend(device: torch.device | str) -> AttentionBackend:
    """The backend for a device, decided on first use and remembered."""
    key = str(device)
    if key not in _BACKENDS:
        acc = probe() if key.startswith("cuda") else None
        _BACKENDS[key] = select_attention(key, acc)  # type: ignore[arg-type]  # acc unused off CUDA
    return _BACKENDS[key]


def _flash_func(module: str) -> Callable:
    if module not in _FLASH_FUNCS:
        _FLASH_FUNCS[module] = importlib.import_module(module).flash_attn_func
    return _FLASH_FUNCS[module]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """Scaled dot-product attention on (B, S, heads, head_dim) tensors; returns the same layout."""
    backend = attention_backend(q.device)
    if backend.is_flash and q.dtype in FLASH_DTYPES:
        out = _flash_func(backend.module)(q, k, v, causal=causal)  # type: ignore[arg-type]
        return out[0] if isinstance(out, tuple) else out  # fa3/fa4 may also return the log-sum-exp
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal)
    return out.transpose(1, 2)


class Attention(nn.Module):
    """Fused qkv projection, optional RoPE, attention, optional per-head gates, output projection.

    `head_outputs` and `project` are split so a caller can compute the heads once and mix them with
    different gates later (the routed block's `cache_heads`).
    """

    def __init__(self, hidden_size: int, num_heads: int, causal: bool = False):
        super().__init__()
        self.hidden_size, self.num_heads, self.causal = hidden_size, num_heads, causal
        self.head_dim = hidden_size // num_heads
        self.qkv_proj = CastedLinear(hidden_size, 3 * hidden_size)
        self.o_proj = CastedLinear(hidden_size, hidden_size)

    def head_outputs(self, x: torch.Tensor, cos_sin: CosSin | None = None) -> torch.Tensor:
        """(B, S, hidden) -> per-head attention outputs (B, S, heads, head_dim)."""
        batch, seq, _ = x.shape
        qkv = self.qkv_proj(x).view(batch, seq, 3, self.num_heads, self.head_dim)
        if cos_sin is None:
            q, k, v = qkv.unbind(2)
        else:
            q, k = apply_rope(qkv[:, :, :2], cos_sin).unbind(2)
            v = qkv[:, :, 2]
        return attend(q, k, v, causal=self.causal)

    def project(self, heads: torch.Tensor, gates: torch.Tensor | None = None) -> torch.Tensor:
        """Mix heads back to (B, S, hidden). `gates` (B, heads) sum to 1 per row and are scaled by the
        head count, so uniform gates leave the attention unchanged."""
        batch, seq = heads.shape[:2]
        if gates is not None:
            heads = heads * (gates * self.num_heads).to(heads.dtype)[:, None, :, None]
        return self.o_proj(heads.reshape(batch, seq, self.hidden_size))

    def forward(self, x: torch.Tensor, cos_sin: CosSin | None = None, gates: torch.Tensor | None = None) -> torch.Tensor:
        return self.project(self.head_outputs(x, cos_sin), gates)

    def flops_per_token(self, seq_len: int) -> float:
        """Matmul FLOPs per token: qkv and output projections plus QK^T and AV over seq_len keys."""
        d = self.hidden_size
        return 2.0 * (d * 3 * d + d * d) + 4.0 * seq_len * d
