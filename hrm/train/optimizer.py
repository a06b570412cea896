"""Optimizer, parameter groups and learning-rate schedule.

The model names its parameter groups (`param_groups()`: "encoder", "controller", ...). Each
configured group gets its own learning rate and gradient-clipping norm; the controller can be
frozen (learning rate 0) for its first epochs. Parameters in no group train with `optim.lr`.
The schedule is linear warm-up then cosine decay to `min_lr_ratio` (or constant), as in the
reference; a rollback multiplies every rate by `lr_scale`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from hrm.train.config import OptimConfig


@dataclass
class GroupSpec:
    name: str
    lr: float
    clip: float
    frozen_epochs: float = 0.0


def lr_factor(step: int, warmup: int, horizon: int, schedule: str, min_ratio: float) -> float:
    """Multiplier of the base rate for optimizer step `step` (0-based)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or horizon <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def group_params(model: nn.Module, cfg: OptimConfig) -> list[tuple[GroupSpec, list[nn.Parameter]]]:
    """The model's named groups with their settings, plus "other" for parameters in none of them."""
    named = model.param_groups() if hasattr(model, "param_groups") else {}
    seen: set[int] = set()
    out: list[tuple[GroupSpec, list[nn.Parameter]]] = []
    for name, params in named.items():
        params = [p for p in params if p.requires_grad]
        for p in params:
            if id(p) in seen:
                raise ValueError(f"parameter in two groups of {type(model).__name__}.param_groups() (again in '{name}')")
            seen.add(id(p))
        if name == "encoder":
            g = cfg.groups.encoder
            spec = GroupSpec(name, g.lr or cfg.lr, g.clip)
        elif name == "controller":
            g = cfg.groups.controller
            spec = GroupSpec(name, g.lr or cfg.lr, g.clip, g.frozen_epochs)
        else:
            spec = GroupSpec(name, cfg.lr, cfg.clip)
        if params:
            out.append((spec, params))
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:
        out.append((GroupSpec("other", cfg.lr, cfg.clip), rest))
    return out


def build_optimizer(groups: list[tuple[GroupSpec, list[nn.Parameter]]], cfg: OptimConfig) -> torch.optim.Optimizer:
    param_groups = [{"params": params, "lr": spec.lr, "name": spec.name} for spec, params in groups]
    if cfg.name == "adamw":
        return torch.optim.AdamW(param_groups, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    from hrm.optim import AdamATan2

    return AdamATan2(param_groups, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def set_learning_rates(optimizer: torch.optim.Optimizer, groups: list[tuple[GroupSpec, list[nn.Parameter]]],
                       factor: float, epoch: float) -> float:
    """Apply the schedule; returns the first group's rate (what the metrics report as `lr`)."""
    for pg, (spec, _) in zip(optimizer.param_groups, groups):
        pg["lr"] = 0.0 if epoch < spec.frozen_epochs else spec.lr * factor
    return float(optimizer.param_groups[0]["lr"]) if optimizer.param_groups else 0.0


def clip_groups(groups: list[tuple[GroupSpec, list[nn.Parameter]]]) -> float:
    """Clip each group to its own norm; returns the total gradient norm before clipping."""
    total_sq = 0.0
    for spec, params in groups:
        grads = [p for p in params if p.grad is not None]
        if not grads:
            continue
        max_norm = spec.clip if spec.clip > 0 else float("inf")
        norm = float(torch.nn.utils.clip_grad_norm_(grads, max_norm, foreach=None))
        total_sq += norm * norm
    return math.sqrt(total_sq) if math.isfinite(total_sq) else float("nan")
