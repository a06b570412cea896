"""The GPT-2 language model core: architecture facts, init, cached decoding, local HF weights."""

from __future__ import annotations

import math

import pytest
import torch

from hrm.errors import UserError
from hrm.models.gpt2 import GPT2_124M, GPT2LM, GPT2Config, load_hf_gpt2


def tiny(**kw) -> GPT2LM:
    torch.manual_seed(0)
    return GPT2LM(GPT2Config(n_layer=2, n_head=2, d_model=32, **kw), vocab_size=12, n_positions=40).eval()


def test_gpt2_small_preset_has_124m_parameters_with_its_own_vocabulary():
    with torch.device("meta"):
        lm = GPT2LM(GPT2Config(**GPT2_124M), vocab_size=50257, n_positions=1024)
    # The published GPT-2 small count (tied embeddings): 124,439,808.
    assert sum(p.numel() for p in lm.parameters()) == 124_439_808


def test_architecture_is_pre_layernorm_gelu_tied_learned_positions():
    lm = tiny()
    block = lm.h[0]
    assert isinstance(block.ln_1, torch.nn.LayerNorm) and isinstance(block.ln_2, torch.nn.LayerNorm)
    assert block.mlp.c_fc.out_features == 4 * 32
    assert isinstance(lm.wpe, torch.nn.Embedding) and lm.wpe.num_embeddings == 40
    logits = lm(torch.randint(0, 12, (2, 5)))
    # tied head: logits are the final hidden state times the token embedding
    assert logits.shape == (2, 5, 12)
    assert not any(n.startswith("lm_head") for n, _ in lm.named_parameters())


def test_init_scales_residual_projections_by_depth():
    torch.manual_seed(0)
    lm = GPT2LM(GPT2Config(n_layer=8, n_head=4, d_model=256), vocab_size=12, n_positions=64)
    std = lambda t: float(t.detach().std())  # noqa: E731
    assert std(lm.h[0].attn.c_attn.weight) == pytest.approx(0.02, rel=0.05)
    assert std(lm.h[0].mlp.c_proj.weight) == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert std(lm.h[3].attn.c_proj.weight) == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert float(lm.h[0].attn.c_attn.bias.detach().abs().max()) == 0.0
    assert float(lm.ln_f.weight.detach().min()) == 1.0


def test_cached_decoding_matches_full_recomputation():
    lm = tiny()
    prompt = torch.randint(0, 11, (3, 10))
    fast = lm.generate(prompt, 8)
    seq = prompt
    for _ in range(8):
        logits = lm(seq)
        seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(fast, seq[:, 10:])


def test_causal_attention_ignores_the_future():
    lm = tiny()
    x = torch.randint(0, 11, (1, 12))
    y = x.clone()
    y[0, 8:] = (y[0, 8:] + 1) % 11
    a = lm(x)
    b = lm(y)
    assert torch.allclose(a[0, :8], b[0, :8], atol=1e-6) and not torch.allclose(a[0, 8:], b[0, 8:])


def test_sampling_is_seeded_and_banned_tokens_never_appear():
    lm = tiny()
    prompt = torch.randint(0, 11, (4, 6))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = lm.generate(prompt, 10, temperature=1.5, generator=g1, banned=[11])
    b = lm.generate(prompt, 10, temperature=1.5, generator=g2, banned=[11])
    assert torch.equal(a, b) and int(a.max()) < 11
    c = lm.generate(prompt, 10, temperature=1.5, generator=torch.Generator().manual_seed(6), banned=[11])
    assert not torch.equal(a, c)


def test_too_long_sequences_and_bad_head_counts_are_refused():
    lm = tiny()
    with pytest.raises(ValueError, match="positions"):
        lm(torch.zeros(1, 41, dtype=torch.long))
    cache = lm.new_cache(1, 10, "cpu", torch.float32)
    lm(torch.zeros(1, 4, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="one at a time"):
        lm(torch.zeros(1, 2, dtype=torch.long), cache, start=4)
    with pytest.raises(UserError, match="divisible"):
        GPT2LM(GPT2Config(n_head=3, d_model=32), 12, 40)


def _hf_state(lm: GPT2LM, positions: int) -> dict[str, torch.Tensor]:
    """What a Hugging Face GPT-2 checkpoint holds for this model: Conv1D weights are (in, out)."""
    state = {}
    for name, value in lm.state_dict().items():
        if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            value = value.t().contiguous()
        if name == "wpe.weight":
            value = torch.cat([value, torch.randn(positions - value.shape[0], value.shape[1])])
        state[name] = value.clone()
    state["wte.weight"] = torch.randn(50257, lm.cfg.d_model)  # GPT-2's vocabulary, not the puzzle's
    state["h.0.attn.bias"] = torch.ones(1)  # HF buffers we do not use
    return state


def test_local_hf_weights_load_and_transpose(tmp_path):
    source = tiny()
    torch.save(_hf_state(source, 64), tmp_path / "pytorch_model.bin")
    torch.manual_seed(1)
    target = GPT2LM(source.cfg, vocab_size=12, n_positions=40).eval()
    loaded = load_hf_gpt2(target, tmp_path)
    assert "wte.weight" not in loaded and "h.1.mlp.c_fc.weight" in loaded and "wpe.weight" in loaded
    for name, value in source.state_dict().items():
        if name != "wte.weight":
            assert torch.equal(target.state_dict()[name], value), name


def test_hf_weights_of_another_shape_or_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="neither"):
        load_hf_gpt2(tiny(), tmp_path)
    torch.save(_hf_state(tiny(), 64), tmp_path / "pytorch_model.bin")
    wide = GPT2LM(GPT2Config(n_layer=2, n_head=2, d_model=64), 12, 40)
    with pytest.raises(UserError, match="n_layer/n_head/d_model"):
        load_hf_gpt2(wide, tmp_path)
