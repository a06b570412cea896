"""AdamATan2 and the sparse sign-SGD against updates worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist

from hrm.ops import SparsePuzzleEmbedding
from hrm.optim import AdamATan2, SparseSignSGD


def test_adam_atan2_matches_a_hand_computed_update():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = AdamATan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.1)

    p.grad = torch.tensor([0.5])
    opt.step()
    # decay: 1 * (1 - 0.1 * 0.1) = 0.99; m = 0.05, v = 0.0125; m_hat = 0.5, sqrt(v_hat) = 0.5
    # -> atan2(0.5, 0.5) = pi / 4
    step1 = 0.99 - 0.1 * math.pi / 4
    assert p.item() == pytest.approx(step1, abs=1e-6)

    p.grad = torch.tensor([-0.2])
    opt.step()
    m = 0.9 * 0.05 + 0.1 * -0.2  # 0.025
    v = 0.95 * 0.0125 + 0.05 * 0.04  # 0.013875
    update = math.atan2(m / (1 - 0.9**2), math.sqrt(v) / math.sqrt(1 - 0.95**2))
    assert p.item() == pytest.approx(step1 * 0.99 - 0.1 * update, abs=1e-6)
    assert p.item() == pytest.approx(0.868790, abs=1e-5)


def test_adam_atan2_update_is_bounded_and_scale_invariant():
    for scale in (1e-8, 1.0, 1e6):
        p = torch.nn.Parameter(torch.zeros(3))
        opt = AdamATan2([p], lr=1.0, weight_decay=0.0)
        p.grad = torch.tensor([1.0, -1.0, 0.0]) * scale
        opt.step()
        # First step: m_hat = g and sqrt(v_hat) = |g|, so the move is pi/4 whatever the scale; 0 stays 0.
        assert torch.allclose(p.detach(), torch.tensor([-math.pi / 4, math.pi / 4, 0.0]))


def test_adam_atan2_state_round_trips_and_skips_params_without_grad():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = AdamATan2([a, b], lr=0.01)
    a.grad = torch.ones(2)
    opt.step()
    assert b.detach().tolist() == [1.0, 1.0] and not opt.state[b]
    state = opt.state_dict()
    other = AdamATan2([a, b], lr=0.01)
    other.load_state_dict(state)
    assert float(other.state[a]["step"]) == 1.0
    with pytest.raises(ValueError):
        AdamATan2([a], lr=-1)
    with pytest.raises(ValueError):
        AdamATan2([a], betas=(1.0, 0.9))
    with pytest.raises(ValueError):
        AdamATan2([a], weight_decay=-0.1)


def test_sparse_sign_sgd_updates_only_the_rows_used():
    emb = SparsePuzzleEmbedding(4, 2)
    with torch.no_grad():
        emb.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, -2.0], [3.0, 3.0], [4.0, 4.0]]))
    opt = SparseSignSGD([emb], lr=0.5, weight_decay=0.1)
    out = emb(torch.tensor([1, 3, 1]), torch.float32)
    grad = torch.tensor([[1.0, -3.0], [-2.0, 0.0], [0.5, 1.0]])
    (out * grad).sum().backward()
    opt.step()
    # Row 1: gradient sums to (1.5, -2) -> sign (1, -1); decay 1 - 0.5 * 0.1 = 0.95
    assert emb.weight[1].tolist() == pytest.approx([2 * 0.95 - 0.5, -2 * 0.95 + 0.5])
    # Row 3: gradient (-2, 0) -> sign (-1, 0)
    assert emb.weight[3].tolist() == pytest.approx([4 * 0.95 + 0.5, 4 * 0.95])
    assert emb.weight[0].tolist() == [1.0, 1.0] and emb.weight[2].tolist() == [3.0, 3.0]
    opt.step()  # nothing pending: no change
    assert emb.weight[0].tolist() == [1.0, 1.0]


def test_sparse_sign_sgd_zero_grad_drops_pending_rows_and_checks_arguments():
    emb = SparsePuzzleEmbedding(2, 2)
    opt = SparseSignSGD([emb], lr=1.0, weight_decay=0.0)
    emb(torch.tensor([0]), torch.float32).sum().backward()
    opt.zero_grad()
    opt.step()
    assert torch.count_nonzero(emb.weight) == 0
    with pytest.raises(ValueError):
        SparseSignSGD([], lr=1.0)
    with pytest.raises(ValueError):
        SparseSignSGD([emb], lr=-1.0)


def test_closures_are_evaluated_and_sparse_grads_refused():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = AdamATan2([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * 2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 2.0 and p.item() < 1.0
    emb = SparsePuzzleEmbedding(2, 2)
    sparse = SparseSignSGD([emb], lr=1.0, weight_decay=0.0)
    assert sparse.step(lambda: emb(torch.tensor([1]), torch.float32).sum().backward() or 3.0) == 3.0
    assert emb.weight[1].tolist() == [-1.0, -1.0]
    dense = torch.nn.Parameter(torch.zeros(3))
    dense.grad = torch.zeros(3).to_sparse()
    with pytest.raises(RuntimeError, match="sparse"):
        AdamATan2([dense]).step()


def test_sparse_sign_sgd_gathers_rows_of_every_rank(monkeypatch):
    # Two ranks, simulated: the other rank used row 0 with gradient -1 while we used row 1 with +1.
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)

    def all_gather(outputs, tensor):
        outputs[0].copy_(tensor)
        outputs[1].copy_(torch.zeros_like(tensor) if tensor.dtype == torch.int64 else -torch.ones_like(tensor))

    monkeypatch.setattr(dist, "all_gather", all_gather)
    emb = SparsePuzzleEmbedding(2, 2)
    opt = SparseSignSGD([emb], lr=1.0, weight_decay=0.0)
    emb(torch.tensor([1]), torch.float32).sum().backward()
    opt.step()
    assert emb.weight.tolist() == [[1.0, 1.0], [-1.0, -1.0]]
