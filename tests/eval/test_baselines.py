"""The baselines behind the TaskModel protocol: GPT-2 (autoregressive) and the direct transformer."""

from __future__ import annotations

import pytest
import torch

from hrm.models import HRMActConfig, ModelConfigError, build_model, count_parameters
from hrm.models.base import TaskShape
from hrm.models.gpt2 import GPT2, GPT2Config
from hrm.models.transformer import DirectTransformer, TransformerConfig
from hrm.optim import AdamATan2

SUDOKU = TaskShape(vocab_size=11, seq_len=81, num_puzzle_identifiers=1)
TOY = TaskShape(vocab_size=6, seq_len=6, num_puzzle_identifiers=1)


def batch(n: int, shape: TaskShape = SUDOKU, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.randint(1, shape.vocab_size, (n, shape.seq_len), generator=g),
        "labels": torch.randint(1, shape.vocab_size, (n, shape.seq_len), generator=g),
        "puzzle_identifiers": torch.zeros(n, dtype=torch.long),
    }


def toy_task(n: int = 8) -> dict[str, torch.Tensor]:
    """Answer = the input reversed, with the first cell unlabelled (it must be copied)."""
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(1, TOY.vocab_size, (n, TOY.seq_len), generator=g)
    labels = inputs.flip(1).clone()
    labels[:, 0] = -100
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": torch.zeros(n, dtype=torch.long)}


def fit(model, data, steps: int, lr: float = 3e-3) -> None:
    opt = AdamATan2(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    carry = model.initial_carry(data["inputs"].shape[0], "cpu")
    for _ in range(steps):
        carry, out = model(carry, data)
        out.loss.backward()
        opt.step()
        opt.zero_grad()


def test_registry_builds_both_baselines():
    assert isinstance(build_model(GPT2Config(), SUDOKU), GPT2)
    assert isinstance(build_model(TransformerConfig(), SUDOKU), DirectTransformer)


def test_gpt2_training_step_and_metrics():
    torch.manual_seed(0)
    model = build_model(GPT2Config(n_layer=2, n_head=2, d_model=32), SUDOKU)
    data = batch(4)
    carry = model.initial_carry(4, "cpu")
    assert model.rows_to_fill(carry).all()
    carry, out = model(carry, data)
    assert torch.isfinite(out.loss) and out.loss.item() == pytest.approx(torch.log(torch.tensor(12.0)).item(), abs=0.3)
    out.loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert {"count", "lm_loss", "accuracy", "exact_accuracy"} <= out.metrics.keys() and out.metrics["count"] == 4
    groups = model.param_groups()
    assert sum(len(v) for v in groups.values()) == len(list(model.parameters()))
    assert model.flops_per_example(train=True) == pytest.approx(3 * model.flops_per_example(train=False))


def test_gpt2_predict_greedy_and_seeded_sampling():
    torch.manual_seed(0)
    model = build_model(GPT2Config(n_layer=2, n_head=2, d_model=32), SUDOKU)
    data = batch(3)
    greedy = model.predict(data)
    assert greedy.tokens.shape == (3, 81) and (greedy.steps == 81).all()
    assert int(greedy.tokens.max()) < 11  # the separator is never an answer
    assert torch.equal(greedy.tokens, model.predict(data).tokens)
    a = model.predict(data, temperature=1.0, generator=torch.Generator().manual_seed(3)).tokens
    b = model.predict(data, temperature=1.0, generator=torch.Generator().manual_seed(3)).tokens
    assert torch.equal(a, b) and not torch.equal(a, greedy.tokens)
    with pytest.raises(ModelConfigError, match="unknown eval override"):
        model.predict(data, halt_max_steps_eval=3)


def test_gpt2_learns_to_write_an_answer_including_unlabelled_cells():
    torch.manual_seed(0)
    model = build_model(GPT2Config(n_layer=2, n_head=2, d_model=32), TOY)
    data = toy_task()
    fit(model, data, steps=100, lr=1e-2)
    tokens = model.predict(data).tokens
    # labelled cells are the reversed input; the unlabelled first cell is copied from the input
    expected = torch.where(data["labels"] == -100, data["inputs"], data["labels"])
    assert torch.equal(tokens, expected)


def test_gpt2_with_loss_on_changed_only_fills_the_blanks():
    torch.manual_seed(0)
    model = build_model(GPT2Config(n_layer=1, n_head=2, d_model=16, loss_on="changed"), SUDOKU)
    data = batch(3)
    tokens = model.predict(data, temperature=1.0, generator=torch.Generator().manual_seed(0)).tokens
    given = data["inputs"] != 1
    assert torch.equal(tokens[given], data["inputs"][given])
    # the loss is the cross-entropy of the cells to fill only (labels equal to the input are skipped)
    data["labels"] = torch.where(given, data["inputs"], data["labels"])
    _, out = model(model.initial_carry(3, "cpu"), data)
    seq = torch.cat((data["inputs"], torch.full((3, 1), 11), data["labels"][:, :-1]), dim=1)
    logits = model.lm(seq)[:, 81:]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), data["labels"], reduction="none")
    fill = data["labels"] != data["inputs"]
    expected = ((ce * fill).sum(1) / fill.sum(1)).mean()
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert out.loss.item() != pytest.approx(ce.mean(1).mean().item(), rel=1e-3)
    with pytest.raises(ModelConfigError, match="blank_token"):
        build_model(GPT2Config(loss_on="changed", blank_token=40), SUDOKU)


def test_direct_transformer_is_hrm_without_recurrence_and_q_head():
    hrm = build_model(HRMActConfig(), SUDOKU)
    tf = build_model(TransformerConfig(), SUDOKU)
    assert count_parameters(hrm) - count_parameters(tf) == 512 * 2 + 2  # the Q-head
    assert len(tf.layers) == 8


def test_direct_transformer_step_predict_and_copied_givens():
    torch.manual_seed(0)
    cfg = TransformerConfig(hidden_size=32, num_heads=2, num_layers=2, puzzle_emb_ndim=0, loss_on="changed")
    model = build_model(cfg, SUDOKU)
    data = batch(4)
    carry, out = model(model.initial_carry(4, "cpu"), data)
    out.loss.backward()
    assert torch.isfinite(out.loss) and out.metrics["count"] == 4
    pred = model.predict(data)
    given = data["inputs"] != 1
    assert torch.equal(pred.tokens[given], data["inputs"][given]) and (pred.steps == 1).all()
    assert pred.logits.shape == (4, 81, 11)
    with pytest.raises(ModelConfigError):
        model.predict(data, temperature=1.0)
    with pytest.raises(ModelConfigError, match="blank_token"):
        build_model(TransformerConfig(loss_on="changed", blank_token=40), SUDOKU)
    assert model.flops_per_example(train=True) == pytest.approx(3 * model.flops_per_example(train=False))


def test_direct_transformer_learns_a_toy_task():
    torch.manual_seed(0)
    cfg = TransformerConfig(hidden_size=32, num_heads=2, num_layers=2, puzzle_emb_ndim=0, pos_encodings="learned",
                            loss="softmax")
    model = build_model(cfg, TOY)
    data = toy_task()
    fit(model, data, steps=80, lr=1e-2)
    pred = model.predict(data).tokens
    mask = data["labels"] != -100
    assert torch.equal(pred[mask], data["labels"][mask])


def test_config_errors():
    with pytest.raises(ValueError):
        TransformerConfig(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError):
        TransformerConfig(hidden_size=12, num_heads=4)  # odd head dim with rope
