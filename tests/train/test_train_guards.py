from __future__ import annotations

import math

import pytest
import torch

from hrm.train.config import OptimConfig, ReliabilityConfig
from hrm.train.guards import StepGuard
from hrm.train.optimizer import clip_groups, group_params, lr_factor, set_learning_rates


def guard(**kw) -> StepGuard:
    return StepGuard(ReliabilityConfig(**{"spike_warmup": 5, "spike_window": 20, "rollback_after": 3, **kw}))


def warm(g: StepGuard, n: int = 10) -> None:
    for i in range(n):
        assert g.check(1.0 + 0.01 * (i % 3), 1.0).action == "step"


def test_non_finite_loss_or_grad_is_skipped_and_k_in_a_row_roll_back():
    g = guard()
    warm(g)
    assert g.check(float("nan"), 1.0).action == "skip"
    assert g.check(1.0, float("inf")).reason == "nan"
    v = g.check(float("nan"), float("nan"))
    assert (v.action, v.reason) == ("rollback", "nan") and g.bad_streak == 0
    assert g.check(1.0, 1.0).action == "step"


def test_nan_skip_off_lets_the_step_through():
    assert guard(nan_skip=False).check(float("nan"), 1.0).action == "step"


def test_spike_only_after_warmup_and_relative_to_the_window():
    g = guard()
    assert g.check(1.0, 1.0).action == "step" and g.check(50.0, 1.0).action == "step"  # still warming up
    g = guard()
    warm(g)
    v = g.check(5.0, 1.0)
    assert v.reason == "spike" and "sigma" in v.message
    assert g.check(1.02, 1.0).action == "step"  # an ordinary loss resets the streak
    assert guard(spike_sigma=0).check(1e9, 1.0).action == "step"


def test_gradient_explosion_against_the_window_mean():
    g = guard(grad_explosion_factor=10)
    warm(g)
    assert g.check(1.0, 50.0).reason == "grad_explosion"
    assert g.check(1.0, 5.0).action == "step"


def test_guard_state_roundtrip():
    g = guard()
    warm(g, 7)
    g.check(float("nan"), 1.0)
    h = guard()
    h.load_state_dict(g.state_dict())
    assert h.state_dict() == g.state_dict()


def test_warmup_then_cosine_to_min_ratio_and_constant():
    assert lr_factor(0, 10, 100, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100, "cosine", 0.1) == 1.0
    assert lr_factor(10, 10, 100, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100, "cosine", 0.1) == pytest.approx(0.55)
    assert lr_factor(100, 10, 100, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(500, 10, 100, "constant", 0.1) == 1.0
    assert lr_factor(500, 10, 0, "cosine", 0.1) == 1.0  # no horizon (time-limited run): no decay


class TwoGroups(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Linear(3, 3)
        self.ctl = torch.nn.Linear(3, 1)
        self.loose = torch.nn.Parameter(torch.ones(2))

    def param_groups(self):
        return {"encoder": list(self.enc.parameters()), "controller": list(self.ctl.parameters())}


def test_groups_get_their_rates_clips_and_frozen_controller():
    cfg = OptimConfig(lr=1e-3, groups={"encoder": {"lr": 3e-4, "clip": 1.0},
                                       "controller": {"lr": 1e-4, "clip": 0.5, "frozen_epochs": 1}})
    model = TwoGroups()
    groups = group_params(model, cfg)
    assert [(s.name, s.lr, s.clip) for s, _ in groups] == [("encoder", 3e-4, 1.0), ("controller", 1e-4, 0.5),
                                                           ("other", 1e-3, 1.0)]
    opt = torch.optim.SGD([{"params": p} for _, p in groups], lr=1.0)
    assert set_learning_rates(opt, groups, 0.5, epoch=0.5) == pytest.approx(1.5e-4)
    assert opt.param_groups[1]["lr"] == 0.0  # controller frozen in its first epoch
    set_learning_rates(opt, groups, 1.0, epoch=1.0)
    assert opt.param_groups[1]["lr"] == pytest.approx(1e-4)
    for p in model.parameters():
        p.grad = torch.full_like(p, 10.0)
    total = clip_groups(groups)
    assert total == pytest.approx(math.sqrt(100 * (12 + 4 + 2)))
    assert float(torch.cat([p.grad.flatten() for p in model.ctl.parameters()]).norm()) == pytest.approx(0.5)


def test_a_parameter_in_two_groups_is_an_error():
    model = TwoGroups()
    model.param_groups = lambda: {"encoder": [model.loose], "controller": [model.loose]}
    with pytest.raises(ValueError, match="two groups"):
        group_params(model, OptimConfig())
