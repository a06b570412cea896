"""The routed controller: the three controllers, cached heads, halting gate, temperature, top-k,
entropy regularisation, diagnostics."""

from __future__ import annotations

import math

import pytest
import torch

from hrm.models import ModelConfigError, RoutedConfig, RoutedModel, TaskShape, build_model
from hrm.models.routing import routing_entropy

from .helpers import random_batch

SUDOKU = TaskShape(11, 81, 1)
SORT = TaskShape(vocab_size=12, seq_len=10, num_puzzle_identifiers=1)


def tiny(**overrides) -> RoutedConfig:
    base = dict(hidden_size=32, num_heads=4, expansion=2, controller_size=16, inner_steps=6)
    return RoutedConfig(**{**base, **overrides})


@pytest.mark.parametrize("controller", ["classical", "hrm", "hrm_act"])
@pytest.mark.parametrize("cache_heads", [False, True])
def test_forward_backward_each_controller(controller, cache_heads):
    model = build_model(tiny(controller=controller, cache_heads=cache_heads), SUDOKU)
    carry = model.initial_carry(3, "cpu")
    assert model.rows_to_fill(carry).tolist() == [True, True, True]  # stateless: every slot, every step
    carry, out = model(carry, random_batch(3))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    groups = model.param_groups()
    assert {id(p) for p in groups["controller"]} == {id(p) for p in model.controller.parameters()}
    assert model.controller.router.proj.weight.grad is not None
    assert model.controller.router.proj.weight.grad.abs().sum() > 0  # the controller learns to route
    assert {"lm_loss", "accuracy", "exact_accuracy", "count", "h_updates", "routing_entropy"} <= set(out.metrics)
    assert len(out.diag["residual_l"]) == 6
    pred = model.predict(random_batch(2))
    assert pred.tokens.shape == (2, 81) and pred.steps.tolist() == [1, 1]


def test_works_on_a_sort_shaped_task():
    model = build_model(tiny(pos_encodings="rope"), SORT)
    _, out = model(model.initial_carry(2, "cpu"), random_batch(2, seq_len=10, vocab=12))
    out.loss.backward()
    assert model.predict(random_batch(2, seq_len=10, vocab=12)).tokens.shape == (2, 10)


@pytest.mark.parametrize("cache_heads,expected_calls", [(True, 1), (False, 6)])
def test_cache_heads_runs_attention_once_per_input(cache_heads, expected_calls, monkeypatch):
    model = build_model(tiny(cache_heads=cache_heads), SUDOKU)
    calls = []
    original = model.attn.head_outputs
    monkeypatch.setattr(model.attn, "head_outputs", lambda *a, **k: calls.append(1) or original(*a, **k))
    model(model.initial_carry(2, "cpu"), random_batch(2))
    assert len(calls) == expected_calls


def test_hrm_controller_updates_h_every_T_iterations():
    model = build_model(tiny(controller="hrm", inner_steps=7, hrm_T=3), SUDOKU)
    _, out = model(model.initial_carry(2, "cpu"), random_batch(2))
    assert out.metrics["h_updates"].item() == 2
    assert len(out.diag["residual_h"]) == 2 and len(out.diag["residual_l"]) == 7


def test_classical_controller_has_no_slow_state():
    model = build_model(tiny(controller="classical"), SUDOKU)
    _, out = model(model.initial_carry(2, "cpu"), random_batch(2))
    assert out.metrics["h_updates"].item() == 0 and out.diag["residual_h"] == []


def test_hrm_act_gate_accumulates_caps_at_max_ponders_and_costs():
    batch = random_batch(3)
    updates = {}
    for bias in (-20.0, 0.0, 20.0):
        model = build_model(tiny(controller="hrm_act", inner_steps=8, max_ponders=3, halt_bias_init=bias), SUDOKU)
        _, out = model(model.initial_carry(3, "cpu"), batch)
        updates[bias] = out.metrics["h_updates"].item()
        # loss = lm_loss + ponder_cost * mean(sum of p) (+ entropy_reg * entropy, 0 here)
        assert out.loss.item() == pytest.approx(out.metrics["lm_loss"].item() + 0.01 * out.metrics["ponder"].item(), rel=1e-5)
    assert updates[-20.0] == 0  # p ~ 0: the sum never reaches 1
    assert updates[0.0] == 3  # p = 0.5: an update every 2nd step, 4 in 8 steps, capped at 3
    assert updates[20.0] == 3  # p ~ 1: capped at max_ponders
    model = build_model(tiny(controller="hrm_act"), SUDOKU)
    _, out = model(model.initial_carry(3, "cpu"), batch)
    out.loss.backward()
    assert model.controller.halt.weight.grad.abs().sum() > 0  # straight-through: the gate learns from the task


def test_temperature_schedule_and_top_k():
    model = build_model(tiny(routing={"top_k": 2}), SUDOKU)
    router = model.controller.router
    with torch.no_grad():
        router.proj.weight.normal_()
    model.set_epoch(0)
    assert router.temperature.item() == 2.0
    model.set_epoch(5)
    assert router.temperature.item() == pytest.approx(2.0 * 0.95**5)
    model.set_epoch(1000)
    assert router.temperature.item() == pytest.approx(0.7)
    model.set_temperature(1.5)
    assert router.temperature.item() == 1.5
    alphas = router(torch.randn(5, 16))
    assert ((alphas > 0).sum(-1) == 2).all() and torch.allclose(alphas.sum(-1), torch.ones(5))
    with pytest.raises(ValueError):
        model.set_temperature(0.0)
    assert model.state_dict()["controller.router.temperature"].item() == 1.5  # saved with the weights


def test_lower_temperature_sharpens_routing():
    model = build_model(tiny(), SUDOKU)
    with torch.no_grad():
        model.controller.router.proj.weight.normal_()
    state = torch.randn(4, 16)
    model.set_temperature(2.0)
    hot = routing_entropy(model.controller.router(state)).mean()
    model.set_temperature(0.7)
    cold = routing_entropy(model.controller.router(state)).mean()
    assert cold < hot


def test_entropy_regularisation_enters_the_loss():
    batch = random_batch(2)
    torch.manual_seed(3)
    plain = build_model(tiny(controller="hrm"), SUDOKU)
    reg = build_model(tiny(controller="hrm", routing={"entropy_reg": 0.5}), SUDOKU)
    reg.load_state_dict(plain.state_dict())
    _, a = plain(plain.initial_carry(2, "cpu"), batch)
    _, b = reg(reg.initial_carry(2, "cpu"), batch)
    # Uniform routing at init: entropy log(4) per routing event.
    assert b.loss.item() - a.loss.item() == pytest.approx(0.5 * math.log(4), rel=1e-4)


def test_diagnostics_are_in_range():
    heads = 4
    model = build_model(tiny(controller="hrm_act"), SUDOKU)
    with torch.no_grad():
        model.controller.router.proj.weight.normal_(0, 2.0)
        model.controller.router.proj.bias.normal_(0, 2.0)
    _, out = model(model.initial_carry(5, "cpu"), random_batch(5))
    m = out.metrics
    assert 0 <= m["routing_entropy"].item() <= math.log(heads)
    assert m["routing_entropy"].item() < math.log(heads) - 1e-3
    assert m["routing_entropy_std"].item() >= 0
    assert 1 / heads <= m["head_concentration"].item() <= 1
    assert 1 / heads <= m["top1_share"].item() <= 1
    assert 0 <= m["h_updates"].item() <= 4
    samples = out.diag["routing_samples"]
    assert len(samples) == 4 and all(len(s["heads"]) == 3 for s in samples)
    pred = model.predict(random_batch(2))
    assert 0 <= pred.diag["routing_entropy"] <= math.log(heads)


def test_errors_name_the_field():
    with pytest.raises(ModelConfigError, match=r"model\.grid_shape"):
        build_model(tiny(pos_encodings="grid"), SORT)
    with pytest.raises(ModelConfigError, match=r"model\.blank_token"):
        build_model(tiny(loss_on="changed", blank_token=11), SUDOKU)
    with pytest.raises(ValueError, match="top_k"):
        tiny(routing={"top_k": 9})
    with pytest.raises(ValueError, match="num_heads"):
        tiny(hidden_size=30)
    with pytest.raises(ValueError, match="even head dimension"):
        tiny(hidden_size=36, num_heads=4, pos_encodings="rope")
    model = build_model(tiny(), SUDOKU)
    with pytest.raises(ModelConfigError, match="override"):
        model.predict(random_batch(1), eval_act=True)
    assert isinstance(model, RoutedModel)


def test_flops_count_what_runs():
    cfg = tiny(controller="classical", inner_steps=4, expansion=3)  # SwiGLU width 64 * 3 * 2/3 -> 256
    model = build_model(cfg, SUDOKU)
    d, c, tokens, inter = 32, 16, 81, 256
    heads = 2 * (d * 3 * d) + 4 * tokens * d  # qkv projection + QK^T and AV, per token
    per_iter = tokens * (2 * d * d + 2 * (d * 2 * inter + inter * d))  # o_proj + SwiGLU
    per_iter += 2 * d * c + 2 * 3 * (c * c + c * c) + 2 * c * 4  # summary, GRU cell, router
    lm_head = 2 * d * 11 * 81
    assert model.flops_per_example(train=False) == pytest.approx(4 * tokens * heads + 4 * per_iter + lm_head)
    assert model.flops_per_example(train=True) == pytest.approx(3 * model.flops_per_example(train=False))
    cached = build_model(tiny(controller="classical", inner_steps=4, expansion=3, cache_heads=True), SUDOKU)
    assert cached.flops_per_example(False) == pytest.approx(tokens * heads + 4 * per_iter + lm_head)


def test_bf16_forward():
    model = build_model(tiny(controller="hrm_act"), SUDOKU)
    model.set_forward_dtype(torch.bfloat16)
    _, out = model(model.initial_carry(2, "cpu"), random_batch(2))
    out.loss.backward()
    assert torch.isfinite(out.loss) and model.lm_head.weight.grad.dtype == torch.float32
