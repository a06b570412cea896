"""Building blocks: init, casted layers, RMSNorm, RoPE, SwiGLU, attention (SDPA and flash dispatch),
cross-entropies, the sparse puzzle embedding."""

from __future__ import annotations

import math
import sys
import types

import pytest
import torch
import torch.nn.functional as F

from hrm.device import Accelerators, CudaDevice, select_attention
from hrm.ops import (
    Attention,
    CastedEmbedding,
    CastedLinear,
    RotaryEmbedding,
    SparsePuzzleEmbedding,
    SwiGLU,
    apply_rope,
    attend,
    attention_backend,
    rms_norm,
    softmax_cross_entropy,
    stablemax_cross_entropy,
    swiglu_width,
    trunc_normal_init_,
)
from hrm.ops import attention as attention_module
from hrm.ops.init import truncated_std_factor
from hrm.ops.puzzle_embedding import MAX_PENDING


def test_truncated_normal_has_the_requested_std_and_bounds():
    t = trunc_normal_init_(torch.empty(200_000), std=0.5)
    assert t.std().item() == pytest.approx(0.5, rel=0.02)
    widened = 0.5 / truncated_std_factor()
    assert t.abs().max().item() <= 2 * widened + 1e-6
    assert torch.count_nonzero(trunc_normal_init_(torch.ones(10), std=0.0)) == 0
    # The plain torch init with the same std comes out narrower: the factor is real.
    assert truncated_std_factor() == pytest.approx(0.8796, abs=1e-3)


def test_casted_linear_keeps_fp32_weights_and_computes_in_the_input_dtype():
    layer = CastedLinear(64, 32, bias=True)
    assert layer.weight.dtype == torch.float32
    assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(64), rel=0.1)  # LeCun
    assert torch.count_nonzero(layer.bias) == 0
    x = torch.randn(3, 64)
    assert torch.allclose(layer(x), x @ layer.weight.T + layer.bias)
    y = layer(x.to(torch.bfloat16))
    assert y.dtype == torch.bfloat16 and layer.weight.dtype == torch.float32
    # fp32 forward casts nothing: the weight tensor itself goes into the matmul.
    assert layer.weight.to(torch.float32) is layer.weight


def test_casted_embedding_returns_rows_in_the_requested_dtype():
    emb = CastedEmbedding(11, 16, init_std=0.1)
    ids = torch.tensor([[0, 3, 10]])
    out = emb(ids, torch.bfloat16)
    assert out.shape == (1, 3, 16) and out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), emb.weight[ids], atol=1e-2)


def test_rms_norm_matches_the_formula_in_fp32_and_bf16():
    x = torch.randn(4, 7, 32) * 3
    expected = x / torch.sqrt(x.square().mean(-1, keepdim=True) + 1e-5)
    assert torch.allclose(rms_norm(x), expected, atol=1e-5)
    low = rms_norm(x.to(torch.bfloat16))
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), expected, atol=3e-2)


def test_rope_matches_the_rotate_half_formula():
    rope = RotaryEmbedding(head_dim=8, max_positions=5, theta=100.0)
    x = torch.randn(2, 5, 3, 8)
    pos = torch.arange(5.0)[:, None]
    inv_freq = 1.0 / 100.0 ** (torch.arange(0, 8, 2) / 8)
    angles = torch.cat((pos * inv_freq, pos * inv_freq), dim=-1)[:, None, :]  # (S, 1, head_dim)
    x1, x2 = x.chunk(2, dim=-1)
    expected = x * angles.cos() + torch.cat((-x2, x1), dim=-1) * angles.sin()
    assert torch.allclose(apply_rope(x, rope()), expected, atol=1e-5)
    both = apply_rope(torch.stack((x, 2 * x), dim=2), rope())  # q and k together: (B, S, 2, heads, dim)
    assert torch.allclose(both[:, :, 1], 2 * expected, atol=1e-5)
    assert apply_rope(x.to(torch.bfloat16), rope()).dtype == torch.bfloat16


def test_rope_rotates_pairs_and_depends_only_on_relative_position():
    rope = RotaryEmbedding(head_dim=8, max_positions=16)
    cos, _ = rope()
    assert cos.shape == (16, 8)
    q = torch.randn(1, 16, 2, 8)
    k = torch.randn(1, 16, 2, 8)
    same_q = q[:, :1].expand(1, 16, 2, 8).contiguous()
    same_k = k[:, :1].expand(1, 16, 2, 8).contiguous()
    rq, rk = apply_rope(same_q, rope()), apply_rope(same_k, rope())
    assert torch.allclose(rq[:, 0], same_q[:, 0])  # position 0 is not rotated
    assert torch.allclose(rq.norm(dim=-1), same_q.norm(dim=-1), atol=1e-5)  # rotations keep the norm
    score = lambda i, j: (rq[0, i, 0] * rk[0, j, 0]).sum()  # noqa: E731
    assert score(5, 3).item() == pytest.approx(score(9, 7).item(), abs=1e-4)
    assert score(5, 3).item() != pytest.approx(score(5, 4).item(), abs=1e-4)


def test_swiglu_width_and_forward():
    assert swiglu_width(512, 4) == 1536  # the paper's intermediate size
    assert swiglu_width(64, 2) == 256
    mlp = SwiGLU(64, 2)
    x = torch.randn(2, 5, 64)
    gate, up = F.linear(x, mlp.gate_up_proj.weight).chunk(2, dim=-1)
    assert torch.allclose(mlp(x), F.linear(F.silu(gate) * up, mlp.down_proj.weight), atol=1e-6)


def _reference_attention(q, k, v, causal):
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        mask = torch.ones(scores.shape[-2:], dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_fallback_equals_reference_attention(causal):
    q, k, v = (torch.randn(2, 9, 4, 16) for _ in range(3))
    assert attention_backend("cpu").name == "sdpa"
    assert torch.allclose(attend(q, k, v, causal=causal), _reference_attention(q, k, v, causal), atol=1e-5)


def test_attention_module_gates_heads_and_uniform_gates_change_nothing():
    attn = Attention(32, 4)
    x = torch.randn(2, 6, 32)
    plain = attn(x)
    assert torch.allclose(attn(x, gates=torch.full((2, 4), 0.25)), plain, atol=1e-6)
    only_head0 = attn(x, gates=torch.tensor([[1.0, 0, 0, 0]] * 2))
    heads = attn.head_outputs(x)
    expected = F.linear(heads[:, :, 0] * 4, attn.o_proj.weight[:, :8])
    assert torch.allclose(only_head0, expected, atol=1e-5)


def test_flash_path_is_selected_when_a_flash_module_imports(monkeypatch):
    calls = []

    def fake_flash_attn_func(q, k, v, causal=False):
        calls.append((q.shape, q.dtype, causal))
        return _reference_attention(q.float(), k.float(), v.float(), causal).to(q.dtype), None

    fake = types.ModuleType("flash_attn")
    fake.flash_attn_func = fake_flash_attn_func
    monkeypatch.setitem(sys.modules, "flash_attn", fake)
    ampere = Accelerators(cuda=[CudaDevice("A100", (8, 0), 40 << 30)])
    backend = select_attention("cuda", ampere, can_import=lambda m: m == "flash_attn")
    assert backend.name == "flash_attn_2"
    # Pretend the CPU is that GPU, so the one call site dispatches to the fake kernel.
    monkeypatch.setitem(attention_module._BACKENDS, "cpu", backend)
    monkeypatch.setattr(attention_module, "_FLASH_FUNCS", {})
    q, k, v = (torch.randn(1, 5, 2, 8, dtype=torch.bfloat16) for _ in range(3))
    out = attend(q, k, v, causal=True)
    assert calls == [((1, 5, 2, 8), torch.bfloat16, True)]
    assert out.shape == (1, 5, 2, 8)
    attend(q.float(), k.float(), v.float())  # flash takes no fp32: SDPA instead
    assert len(calls) == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
@pytest.mark.parametrize("causal", [False, True])
def test_flash_attn_matches_sdpa_on_the_gpu(causal, monkeypatch):
    """Parity of the real kernels: whatever flash-attn generation the GPU gets vs PyTorch SDPA, bf16."""
    backend = attention_backend("cuda")
    if not backend.is_flash:
        pytest.skip(f"flash-attn not used on this GPU ({backend.name})")
    q, k, v = (torch.randn(2, 81, 8, 64, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    flash = attend(q, k, v, causal=causal)
    monkeypatch.setitem(attention_module._BACKENDS, "cuda", select_attention("cpu", None))
    sdpa = attend(q, k, v, causal=causal)
    torch.testing.assert_close(flash.float(), sdpa.float(), atol=2e-2, rtol=2e-2)


def test_stablemax_cross_entropy_by_hand():
    logits = torch.tensor([[[1.0, -1.0, 0.0]]])
    s = torch.tensor([2.0, 0.5, 1.0])  # s(x) = x + 1 for x >= 0, 1 / (1 - x) below
    expected = -math.log(s[0] / s.sum())
    loss = stablemax_cross_entropy(logits, torch.tensor([[0]]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert stablemax_cross_entropy(logits, torch.tensor([[-100]])).item() == 0.0


def test_softmax_cross_entropy_matches_torch():
    logits = torch.randn(2, 5, 7)
    labels = torch.randint(0, 7, (2, 5))
    labels[0, 1] = -100
    got = softmax_cross_entropy(logits, labels)
    expected = F.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1), reduction="none").view(2, 5)
    assert torch.allclose(got, expected, atol=1e-6) and got[0, 1] == 0


def test_sparse_embedding_records_rows_only_when_training_with_grad():
    emb = SparsePuzzleEmbedding(5, 4)
    assert torch.count_nonzero(emb.weight) == 0  # zero init, as the reference
    ids = torch.tensor([1, 3, 1])
    out = emb(ids, torch.float32)
    assert out.requires_grad
    (out * torch.arange(4.0)).sum().backward()
    taken = emb.take_gradients()
    assert taken is not None
    got_ids, grads = taken
    assert got_ids.tolist() == [1, 3, 1] and torch.allclose(grads, torch.arange(4.0).expand(3, 4))
    assert emb.take_gradients() is None  # consumed
    emb.eval()
    assert not emb(ids, torch.float32).requires_grad
    emb.train()
    with torch.no_grad():
        emb(ids, torch.float32)
    assert emb.take_gradients() is None


def test_sparse_embedding_refuses_to_hoard_gradients():
    emb = SparsePuzzleEmbedding(2, 2)
    ids = torch.tensor([0])
    for _ in range(MAX_PENDING):
        emb(ids, torch.float32)
    with pytest.raises(RuntimeError, match="zero_grad"):
        emb(ids, torch.float32)
    emb.clear_gradients()
    emb(ids, torch.float32)
