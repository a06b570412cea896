"""HRM-ACT v1: parameter count, reference checkpoints, the 1-step gradient, ACT and carry semantics,
diagnostics, errors."""

from __future__ import annotations

import math

import pytest
import torch

from hrm.config import ConfigError, StrictModel, validate
from hrm.models import (
    BatchMismatchError,
    HRMAct,
    HRMActConfig,
    ModelConfig,
    ModelConfigError,
    RoutedConfig,
    TaskShape,
    build_model,
    count_parameters,
)

from .helpers import random_batch

SUDOKU = TaskShape(vocab_size=11, seq_len=81, num_puzzle_identifiers=1)


def tiny(**overrides) -> HRMActConfig:
    base = dict(hidden_size=32, num_heads=4, expansion=2, H_layers=1, L_layers=1, puzzle_emb_ndim=0, halt_max_steps=3)
    return HRMActConfig(**{**base, **overrides})


class Wrapper(StrictModel):
    model: ModelConfig = HRMActConfig()


def test_paper_preset_counts_the_reference_parameters():
    model = build_model(HRMActConfig(), SUDOKU)
    assert count_parameters(model) == 27_275_266
    assert count_parameters(model, exclude_puzzle_emb=False) == 27_275_266 + 512  # one identifier x 512
    groups = model.param_groups()
    assert sum(p.numel() for g in groups.values() for p in g) == 27_275_266
    assert [p.shape for p in groups["controller"]] == [torch.Size([2, 512]), torch.Size([2])]


def reference_shapes(cfg: HRMActConfig, shape: TaskShape) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer names and shapes as the reference saves them (pretrain.py, torch.compile'd)."""
    d, inter = cfg.hidden_size, 1536
    prefix = "_orig_mod.model.inner."
    names = {
        "embed_tokens.embedding_weight": (shape.vocab_size, d),
        "lm_head.weight": (shape.vocab_size, d),
        "q_head.weight": (2, d),
        "q_head.bias": (2,),
        "puzzle_emb.weights": (shape.num_puzzle_identifiers, cfg.puzzle_emb_ndim),
        "H_init": (d,),
        "L_init": (d,),
    }
    for level in ("H", "L"):
        for i in range(4):
            layer = f"{level}_level.layers.{i}."
            names[layer + "self_attn.qkv_proj.weight"] = (3 * d, d)
            names[layer + "self_attn.o_proj.weight"] = (d, d)
            names[layer + "mlp.gate_up_proj.weight"] = (2 * inter, d)
            names[layer + "mlp.down_proj.weight"] = (d, inter)
    return {prefix + k: v for k, v in names.items()}


def test_loads_a_state_dict_saved_with_the_reference_names():
    cfg = HRMActConfig()
    model = build_model(cfg, SUDOKU)
    gen = torch.Generator().manual_seed(1)
    saved = {name: torch.randn(shape, generator=gen) for name, shape in reference_shapes(cfg, SUDOKU).items()}
    saved["_orig_mod.model.inner.H_init"] = saved["_orig_mod.model.inner.H_init"].to(torch.bfloat16)  # saved in bf16
    result = model.load_reference_state_dict(saved)
    assert not result.missing_keys and not result.unexpected_keys
    pre = "_orig_mod.model.inner."
    assert torch.equal(model.embed.embed_tokens.weight, saved[pre + "embed_tokens.embedding_weight"])
    assert torch.equal(model.embed.puzzle_emb.weight, saved[pre + "puzzle_emb.weights"])
    assert torch.equal(model.H_level.layers[2].mlp.down_proj.weight, saved[pre + "H_level.layers.2.mlp.down_proj.weight"])
    assert torch.equal(model.L_level.layers[3].self_attn.qkv_proj.weight, saved[pre + "L_level.layers.3.self_attn.qkv_proj.weight"])
    assert torch.equal(model.q_head.bias, saved[pre + "q_head.bias"])
    assert model.H_init.dtype == torch.float32
    assert torch.allclose(model.H_init, saved[pre + "H_init"].float())


def test_reference_names_without_compile_prefix_and_transient_buffers():
    cfg = tiny(pos_encodings="learned", puzzle_emb_ndim=32)
    model = build_model(cfg, SUDOKU)
    saved = {"model.inner." + k: v.clone() for k, v in model.state_dict().items()}
    renamed = {k.replace("embed.embed_tokens.weight", "embed_tokens.embedding_weight")
               .replace("embed.embed_pos.weight", "embed_pos.embedding_weight")
               .replace("embed.puzzle_emb.weight", "puzzle_emb.weights"): v for k, v in saved.items()}
    renamed["model.inner.puzzle_emb.local_weights"] = torch.zeros(4, 32)
    renamed["model.inner.puzzle_emb.local_ids"] = torch.zeros(4, dtype=torch.int32)
    result = model.load_reference_state_dict(renamed)
    assert not result.missing_keys and not result.unexpected_keys


VARIANTS = [
    dict(),
    dict(grad="bptt"),
    dict(act_continue=False),
    dict(halting="fixed"),
    dict(pos_encodings="learned", puzzle_emb_ndim=48),  # puzzle embedding over two positions
    dict(pos_encodings="grid", loss_on="changed", loss="softmax", puzzle_emb_ndim=16),
    dict(pos_encodings="grid", box_shape=None, route_heads=True, routing={"top_k": 2, "entropy_reg": 0.01}),
    dict(norm="pre", pos_encodings="grid", loss_on="changed", loss="softmax"),
]


@pytest.mark.parametrize("overrides", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_forward_backward_every_variant(overrides):
    model = build_model(tiny(**overrides), TaskShape(11, 81, 3))
    carry = model.initial_carry(4, "cpu")
    sparse = model.sparse_optimizer(lr=0.1, weight_decay=0.0)
    for _ in range(3):
        n = int(model.rows_to_fill(carry).sum())
        carry, out = model(carry, random_batch(n, identifiers=3))
        assert out.loss.ndim == 0 and torch.isfinite(out.loss)
        out.loss.backward()
        if sparse is not None:
            sparse.step()
    assert all(p.grad is not None for p in model.param_groups()["encoder"])
    assert all(not v.requires_grad and v.ndim == 0 for v in out.metrics.values())
    for name in ("lm_loss", "accuracy", "exact_accuracy", "act_steps", "count", "q_halt", "q_continue", "h_updates"):
        assert name in out.metrics
    assert ("q_continue_loss" in out.metrics) == (model.cfg.act_continue and model.cfg.halting == "act")
    if sparse is not None:
        assert torch.count_nonzero(model.embed.puzzle_emb.weight) > 0
    pred = model.predict(random_batch(2, identifiers=3))
    assert pred.tokens.shape == (2, 81) and pred.logits.shape == (2, 81, 11)


def _record_grad_flags(model: HRMAct) -> dict[str, list[bool]]:
    flags: dict[str, list[bool]] = {"L": [], "H": []}
    model.L_level.register_forward_hook(lambda m, i, out: flags["L"].append(out.requires_grad))
    model.H_level.register_forward_hook(lambda m, i, out: flags["H"].append(out.requires_grad))
    return flags


def test_one_step_gradient_keeps_a_graph_only_for_the_last_updates():
    model = build_model(tiny(H_cycles=3, L_cycles=2, act_continue=False), SUDOKU)
    flags = _record_grad_flags(model)
    model(model.initial_carry(2, "cpu"), random_batch(2))
    assert flags["L"] == [False] * 5 + [True]
    assert flags["H"] == [False, False, True]


def test_bptt_keeps_a_graph_through_every_update():
    model = build_model(tiny(H_cycles=3, L_cycles=2, act_continue=False, grad="bptt"), SUDOKU)
    flags = _record_grad_flags(model)
    model(model.initial_carry(2, "cpu"), random_batch(2))
    assert flags["L"] == [True] * 6 and flags["H"] == [True] * 3


def test_one_step_and_bptt_give_different_gradients_for_the_same_weights():
    torch.manual_seed(0)
    one = build_model(tiny(act_continue=False), SUDOKU)
    full = build_model(tiny(act_continue=False, grad="bptt"), SUDOKU)
    full.load_state_dict(one.state_dict())
    batch = random_batch(2)
    for model in (one, full):
        _, out = model(model.initial_carry(2, "cpu"), batch)
        out.loss.backward()
    first_L = lambda m: m.L_level.layers[0].mlp.down_proj.weight.grad  # noqa: E731
    assert not torch.allclose(first_L(one), first_L(full))
    # Same forward either way: only the gradient path differs.
    _, a = one(one.initial_carry(2, "cpu"), batch)
    _, b = full(full.initial_carry(2, "cpu"), batch)
    assert torch.allclose(a.metrics["lm_loss"], b.metrics["lm_loss"])


def test_target_pass_runs_only_with_act_continue():
    for act_continue, expected_H_calls in ((True, 4), (False, 2)):
        model = build_model(tiny(act_continue=act_continue), SUDOKU)
        flags = _record_grad_flags(model)
        model(model.initial_carry(2, "cpu"), random_batch(2))
        assert len(flags["H"]) == expected_H_calls
        assert flags["H"][2:] == [False] * (expected_H_calls - 2)  # the target pass keeps no graph


def _set_q(model: HRMAct, halt: float, cont: float) -> None:
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([halt, cont]))


def test_eval_runs_max_steps_and_eval_act_halts_by_q():
    model = build_model(tiny(halt_max_steps=3, halt_max_steps_eval=5), SUDOKU)
    _set_q(model, halt=5.0, cont=-5.0)  # Q says "halt now" everywhere
    flags = _record_grad_flags(model)
    pred = model.predict(random_batch(3))
    assert pred.steps.tolist() == [5, 5, 5]  # at eval, always the max steps
    assert len(flags["H"]) == 5 * 2 and len(pred.diag["residual_l"]) == 5 * 4
    assert pred.diag["h_updates"] == 10
    pred = model.predict(random_batch(3), eval_act=True)
    assert pred.steps.tolist() == [1, 1, 1]
    _set_q(model, halt=-5.0, cont=5.0)
    assert model.predict(random_batch(3), eval_act=True, halt_max_steps_eval=4).steps.tolist() == [4, 4, 4]
    assert model.training  # predict restores the mode
    with pytest.raises(ModelConfigError, match="halt_max_steps_eval"):
        model.predict(random_batch(1), halt_max_steps=2)


def test_training_halts_by_q_and_never_past_max_steps():
    model = build_model(tiny(halt_max_steps=3, halt_exploration_prob=0.0), SUDOKU)
    _set_q(model, halt=-5.0, cont=5.0)
    with torch.no_grad():
        model.q_head.weight.zero_()
    carry = model.initial_carry(2, "cpu")
    halted = []
    for _ in range(4):
        carry, out = model(carry, random_batch(int(carry.halted.sum())))
        halted.append(carry.halted.tolist())
    assert halted == [[False, False], [False, False], [True, True], [False, False]]
    assert out.metrics["count"].item() == 0
    model.train(False)  # outside training only max steps halt, as in the reference
    _set_q(model, halt=5.0, cont=-5.0)
    carry, _ = model(model.initial_carry(2, "cpu"), random_batch(2))
    assert carry.halted.tolist() == [False, False]


def test_only_halted_slots_take_new_examples():
    model = build_model(tiny(halt_max_steps=2, halting="fixed"), SUDOKU)
    carry = model.initial_carry(3, "cpu")
    first = random_batch(3)
    carry, _ = model(carry, first)
    assert torch.equal(carry.current["inputs"], first["inputs"])
    carry.halted = torch.tensor([False, True, False])
    carry.steps = torch.tensor([1, 2, 1], dtype=torch.int32)
    second = random_batch(1)
    new_carry, out = model(carry, second)
    assert torch.equal(new_carry.current["inputs"][1], second["inputs"][0])
    assert torch.equal(new_carry.current["inputs"][0], first["inputs"][0])
    assert torch.equal(new_carry.current["inputs"][2], first["inputs"][2])
    assert new_carry.steps.tolist() == [2, 1, 2] and new_carry.halted.tolist() == [True, False, True]
    assert out.metrics["count"].item() == 2 and out.metrics["act_steps"].item() == 2
    assert not new_carry.z_H.requires_grad and not new_carry.z_L.requires_grad
    with pytest.raises(ValueError, match="rows_to_fill"):
        model(new_carry, random_batch(1))


def test_carry_state_round_trip_continues_identically():
    model = build_model(tiny(halting="fixed", halt_max_steps=4), SUDOKU)
    carry, _ = model(model.initial_carry(2, "cpu"), random_batch(2))
    state = model.carry_state(carry)
    assert set(state) >= {"z_H", "z_L", "steps", "halted", "current.inputs", "current.labels"}
    restored = model.carry_from_state({k: v.clone() for k, v in state.items()})
    empty = random_batch(0)
    _, a = model(carry, empty)
    _, b = model(restored, empty)
    assert torch.equal(a.loss, b.loss)


def test_diagnostics_are_in_range():
    heads = 4
    model = build_model(tiny(route_heads=True, H_cycles=2, L_cycles=3), SUDOKU)
    with torch.no_grad():  # a router that prefers some heads, so the figures are not all at the uniform point
        model.router.proj.weight.normal_(0, 1.0)
    carry, out = model(model.initial_carry(4, "cpu"), random_batch(4))
    m = out.metrics
    assert 0 <= m["routing_entropy"].item() <= math.log(heads) + 1e-6
    assert m["routing_entropy"].item() < math.log(heads) - 1e-3
    assert 1 / heads - 1e-6 <= m["head_concentration"].item() <= 1
    assert 1 / heads - 1e-6 <= m["top1_share"].item() <= 1
    assert m["temperature"].item() == 2.0
    diag = out.diag
    assert len(diag["residual_l"]) == 6 and len(diag["residual_h"]) == 2
    assert all(isinstance(r, float) and r >= 0 for r in diag["residual_l"] + diag["residual_h"])
    sample = diag["routing_samples"][0]
    assert len(sample["heads"]) == 3 and all(0 <= h < heads for h in sample["heads"])
    assert sample["alphas"] == sorted(sample["alphas"], reverse=True)
    model.set_epoch(100)
    assert model.router.temperature.item() == pytest.approx(0.7)


def test_flops_count_what_runs():
    cfg = HRMActConfig()
    model = build_model(cfg, SUDOKU)
    tokens, d, inter = 82, 512, 1536
    block = 2 * (d * 3 * d + d * d) + 4 * tokens * d + 2 * (d * 2 * inter + inter * d)
    call = 4 * block * tokens
    segment = 2 * (2 * call + call)  # 4 L calls + 2 H calls
    heads = 2 * d * 11 * 81 + 2 * d * 2
    assert model.flops_per_example(train=True) == pytest.approx(segment + heads + 2 * (2 * call + heads) + segment + 2 * d * 2)
    trm = build_model(HRMActConfig(act_continue=False), SUDOKU)
    assert trm.flops_per_example(True) == pytest.approx(model.flops_per_example(True) - segment - 2 * d * 2)
    bptt = build_model(HRMActConfig(grad="bptt"), SUDOKU)
    assert bptt.flops_per_example(True) > model.flops_per_example(True)
    assert model.flops_per_example(train=False) == pytest.approx(16 * (segment + 2 * d * 2) + 2 * d * 11 * 81)


def test_bf16_forward_keeps_fp32_weights():
    model = build_model(tiny(), SUDOKU)
    model.set_forward_dtype("bfloat16")
    carry, out = model(model.initial_carry(2, "cpu"), random_batch(2))
    assert carry.z_H.dtype == torch.bfloat16 and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.lm_head.weight.dtype == torch.float32 and model.lm_head.weight.grad.dtype == torch.float32


def test_clear_errors_for_mismatched_batches():
    model = build_model(tiny(), SUDOKU)
    carry = model.initial_carry(2, "cpu")
    with pytest.raises(BatchMismatchError, match="seq_len"):
        model(carry, random_batch(2, seq_len=16))
    with pytest.raises(BatchMismatchError, match="vocab_size"):
        model(carry, random_batch(2, vocab=13))
    bad = random_batch(2)
    bad["puzzle_identifiers"] = torch.tensor([0, 5])
    with pytest.raises(BatchMismatchError, match="num_puzzle_identifiers"):
        model(carry, bad)
    with pytest.raises(BatchMismatchError, match="do not match"):
        model(carry, {**random_batch(2), "labels": torch.zeros(2, 80, dtype=torch.int64)})
    with pytest.raises(ValueError, match="lacks"):
        model(carry, {"inputs": torch.zeros(2, 81, dtype=torch.int64)})


def test_clear_errors_for_configs_that_do_not_fit():
    with pytest.raises(ModelConfigError, match=r"model\.grid_shape"):
        build_model(tiny(pos_encodings="grid"), TaskShape(11, 16, 1))
    with pytest.raises(ModelConfigError, match=r"model\.box_shape"):
        build_model(tiny(pos_encodings="grid", grid_shape=(4, 4), box_shape=(3, 3)), TaskShape(11, 16, 1))
    build_model(tiny(pos_encodings="grid", grid_shape=(4, 4), box_shape=(2, 2)), TaskShape(6, 16, 1))
    with pytest.raises(ModelConfigError, match=r"model\.blank_token"):
        build_model(tiny(loss_on="changed", blank_token=20), SUDOKU)
    with pytest.raises(ConfigError, match=r"model.*num_heads"):
        validate(Wrapper, {"model": {"arch": "hrm_act", "hidden_size": 30, "num_heads": 4}}, "test.yaml")
    with pytest.raises(ConfigError, match="even head dimension"):
        validate(Wrapper, {"model": {"arch": "hrm_act", "hidden_size": 36, "num_heads": 4}}, "test.yaml")
    with pytest.raises(ConfigError, match="top_k"):
        validate(Wrapper, {"model": {"route_heads": True, "routing": {"top_k": 9}}}, "test.yaml")
    validate(Wrapper, {"model": {"routing": {"top_k": 9}}}, "test.yaml")  # routing off: not checked
    with pytest.raises(ConfigError, match="H_cycle"):
        validate(Wrapper, {"model": {"arch": "hrm_act", "H_cycle": 2}}, "test.yaml")
    with pytest.raises(ConfigError, match="hrm_act.*routed"):
        validate(Wrapper, {"model": {"arch": "gpt5"}}, "test.yaml")
    with pytest.raises(ModelConfigError, match="known"):
        build_model(object(), SUDOKU)


def test_model_config_union_picks_the_class_by_arch():
    assert isinstance(validate(Wrapper, {"model": {"arch": "routed"}}, "t").model, RoutedConfig)
    assert validate(Wrapper, {}, "t").model.hidden_size == 512
    assert isinstance(validate(Wrapper, {"model": {"hidden_size": 64}}, "t").model, HRMActConfig)  # arch defaults


def test_builds_from_dataset_metadata():
    from hrm.data.format import DatasetMetadata

    metadata = DatasetMetadata(
        pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=11, seq_len=81, num_puzzle_identifiers=1,
        total_groups=1, mean_puzzle_examples=1.0, sets=["all"],
    )
    model = build_model(tiny(), metadata)
    assert model.shape == SUDOKU


def test_pre_norm_blocks_add_to_the_stream_and_keep_the_carried_states_normalised():
    torch.manual_seed(0)
    pre, post = build_model(tiny(norm="pre"), SUDOKU), build_model(tiny(), SUDOKU)
    post.load_state_dict(pre.state_dict())  # same weights: only the block wiring differs
    x = torch.randn(2, 81, 32) * 3
    block = pre.L_level.layers[0]
    manual = x + block.self_attn(torch.nn.functional.rms_norm(x, (32,), eps=1e-5), None)
    manual = manual + block.mlp(torch.nn.functional.rms_norm(manual, (32,), eps=1e-5))
    torch.testing.assert_close(block(x, None), manual)
    assert not torch.allclose(block(x, None), post.L_level.layers[0](x, None))
    batch = random_batch(3)
    carry = pre.initial_carry(3, "cpu")
    for _ in range(3):  # states stay at unit RMS per cell however many updates they went through
        carry, _ = pre(carry, batch if bool(carry.halted.all()) else random_batch(int(carry.halted.sum())))
        for z in (carry.z_H, carry.z_L):
            torch.testing.assert_close(z.pow(2).mean(-1).sqrt(), torch.ones(3, 81), atol=1e-3, rtol=0)
    assert not torch.equal(pre.predict(batch).logits, post.predict(batch).logits)
