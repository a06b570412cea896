"""Building blocks shared by the models: attention (flash-attn -> SDPA), RoPE, RMSNorm, SwiGLU,
casted linear/embedding layers (fp32 weights, forward-dtype compute), truncated LeCun init,
sparse puzzle embeddings and the cross-entropies."""

from hrm.ops.attention import Attention, attend, attention_backend
from hrm.ops.casted import CastedEmbedding, CastedLinear
from hrm.ops.init import lecun_normal_, trunc_normal_init_
from hrm.ops.losses import IGNORE_INDEX, softmax_cross_entropy, stablemax_cross_entropy
from hrm.ops.norm import rms_norm
from hrm.ops.puzzle_embedding import SparsePuzzleEmbedding
from hrm.ops.rope import RotaryEmbedding, apply_rope
from hrm.ops.swiglu import SwiGLU, swiglu_width

__all__ = [
    "IGNORE_INDEX",
    "Attention",
    "CastedEmbedding",
    "CastedLinear",
    "RotaryEmbedding",
    "SparsePuzzleEmbedding",
    "SwiGLU",
    "apply_rope",
    "attend",
    "attention_backend",
    "lecun_normal_",
    "rms_norm",
    "softmax_cross_entropy",
    "stablemax_cross_entropy",
    "swiglu_width",
    "trunc_normal_init_",
]
