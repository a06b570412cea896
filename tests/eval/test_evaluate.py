"""The glue between models and attempts: eval overrides, temperature, labels never shown."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hrm.errors import UserError
from hrm.eval.evaluate import model_predictor, predict_overrides, sample_from_logits
from hrm.eval.settings import EvalSettings
from hrm.models import HRMActConfig, build_model
from hrm.models.base import Prediction, TaskShape
from hrm.models.gpt2 import GPT2Config
from hrm.models.transformer import TransformerConfig

SUDOKU = TaskShape(11, 81, 1)


def small_hrm():
    torch.manual_seed(0)
    return build_model(HRMActConfig(hidden_size=32, num_heads=2, H_layers=1, L_layers=1, puzzle_emb_ndim=0,
                                    halt_max_steps=2, loss_on="changed"), SUDOKU)


def small_gpt2():
    torch.manual_seed(0)
    return build_model(GPT2Config(n_layer=1, n_head=2, d_model=16), SUDOKU)


def puzzles(n=3):
    rng = np.random.default_rng(0)
    return rng.integers(1, 11, size=(n, 81)), np.zeros(n, dtype=np.int64)


def test_overrides_reach_only_models_that_have_them():
    settings = EvalSettings(halt_max_steps=5, eval_act=True)
    assert predict_overrides(small_hrm(), settings) == {"halt_max_steps_eval": 5, "eval_act": True}
    assert predict_overrides(small_gpt2(), settings) == {}
    assert predict_overrides(small_hrm(), EvalSettings()) == {}


def test_hrm_predictor_runs_the_requested_segments_and_keeps_givens():
    inputs, ids = puzzles()
    predict = model_predictor(small_hrm(), "cpu", {"halt_max_steps_eval": 3})
    tokens, steps = predict(inputs, ids, 0.0, 0)
    assert (steps == 3).all()
    given = inputs != 1
    assert (tokens[given] == inputs[given]).all()


def test_temperature_sampling_for_one_pass_models_is_seeded_and_keeps_copied_cells():
    model = build_model(TransformerConfig(hidden_size=32, num_heads=2, num_layers=1, puzzle_emb_ndim=0,
                                          loss_on="changed"), SUDOKU)
    inputs, ids = puzzles()
    predict = model_predictor(model, "cpu", {})
    greedy, _ = predict(inputs, ids, 0.0, 0)
    a, _ = predict(inputs, ids, 2.0, 7)
    b, _ = predict(inputs, ids, 2.0, 7)
    assert (a == b).all() and (a != greedy).any()
    given = inputs != 1
    assert (a[given] == inputs[given]).all()


def test_gpt2_predictor_samples_through_its_own_predict():
    inputs, ids = puzzles(2)
    predict = model_predictor(small_gpt2(), "cpu", {})
    greedy, steps = predict(inputs, ids, 0.0, 0)
    a, _ = predict(inputs, ids, 1.0, 3)
    b, _ = predict(inputs, ids, 1.0, 3)
    assert (steps == 81).all() and (a == b).all() and (a != greedy).any()


def test_labels_are_never_shown_to_the_model():
    seen = {}

    class Spy(torch.nn.Module):
        def predict(self, batch, **kw):
            seen.update(batch)
            return Prediction(tokens=batch["inputs"], steps=torch.ones(len(batch["inputs"])))

    inputs, ids = puzzles(2)
    model_predictor(Spy(), "cpu", {})(inputs, ids, 0.0, 0)
    assert (seen["labels"] == -100).all()


def test_sampling_needs_logits():
    pred = Prediction(tokens=torch.zeros(1, 3, dtype=torch.long), steps=torch.ones(1))
    with pytest.raises(UserError, match="logits"):
        sample_from_logits(pred, 1.0, torch.Generator())


def test_flops_per_answer_follows_the_eval_overrides():
    from hrm.eval.evaluate import flops_per_answer

    model = small_hrm()
    base = flops_per_answer(model, {})
    assert base == model.flops_per_example(train=False)
    assert flops_per_answer(model, {"halt_max_steps_eval": 4}) == pytest.approx(2 * base, rel=0.05)
    assert model.cfg.halt_max_steps_eval is None  # restored
    assert flops_per_answer(torch.nn.Linear(2, 2), {}) is None
