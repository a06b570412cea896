"""Routing over attention heads: a controller state picks weights alphas (a distribution over
heads) that scale each head's output, plus the figures the dashboard plots about it.

alphas = softmax(W s / T), optionally only over the top-k logits. The temperature T follows
init * decay^epoch, floored at min (the trainer calls `model.set_epoch`). W starts at zero, so a
new router mixes heads uniformly and the model starts as if unrouted.
"""

from __future__ import annotations

import torch
from pydantic import Field

from hrm.config import StrictModel
from hrm.ops.casted import CastedLinear


class RoutingConfig(StrictModel):
    temperature_init: float = Field(2.0, gt=0)
    temperature_min: float = Field(0.7, gt=0)
    temperature_decay: float = Field(0.95, gt=0, le=1)
    top_k: int | None = Field(None, ge=1, description="keep only the k largest logits per row (None = all heads)")
    entropy_reg: float = Field(0.0, description="adds entropy_reg * mean routing entropy to the loss (> 0 sharpens)")
    samples: int = Field(4, ge=0, description="routing samples (top heads and alphas) per diag record")


class HeadRouter(torch.nn.Module):
    def __init__(self, in_features: int, num_heads: int, cfg: RoutingConfig):
        super().__init__()
        if cfg.top_k is not None and cfg.top_k > num_heads:
            raise ValueError(f"routing.top_k ({cfg.top_k}) exceeds the number of heads ({num_heads})")
        self.cfg, self.num_heads = cfg, num_heads
        self.proj = CastedLinear(in_features, num_heads, bias=True)
        torch.nn.init.zeros_(self.proj.weight)
        # Saved with the weights so a resumed run keeps its temperature even before set_epoch.
        self.register_buffer("temperature", torch.tensor(float(cfg.temperature_init)))

    def schedule(self, epoch: float) -> float:
        cfg = self.cfg
        return max(cfg.temperature_min, cfg.temperature_init * cfg.temperature_decay**epoch)

    def set_epoch(self, epoch: float) -> None:
        self.set_temperature(self.schedule(epoch))

    def set_temperature(self, temperature: float) -> None:
        if temperature <= 0:
            raise ValueError(f"routing temperature must be > 0, got {temperature}")
        self.temperature.fill_(temperature)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """(B, in_features) -> alphas (B, heads) in float32, each row summing to 1."""
        logits = self.proj(state).float() / self.temperature
        if self.cfg.top_k is not None and self.cfg.top_k < self.num_heads:
            keep = torch.zeros_like(logits, dtype=torch.bool)
            keep.scatter_(1, logits.topk(self.cfg.top_k, dim=-1).indices, True)
            logits = logits.masked_fill(~keep, float("-inf"))
        return torch.softmax(logits, dim=-1)

    def flops_per_call(self) -> float:
        return 2.0 * self.proj.in_features * self.num_heads


def routing_entropy(alphas: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) per row of (..., heads); 0 for one-hot, log(heads) for uniform."""
    return -torch.special.xlogy(alphas, alphas).sum(-1)


def routing_metrics(alphas: list[torch.Tensor], temperature: torch.Tensor) -> dict[str, torch.Tensor]:
    """routing_entropy (mean, std), head_concentration (Herfindahl: 1/heads .. 1), top1_share, temperature,
    over every routing event (rows x events) of this pass."""
    a = torch.cat([x.detach() for x in alphas]).float()
    entropy = routing_entropy(a)
    return {
        "routing_entropy": entropy.mean(),
        "routing_entropy_std": entropy.std(unbiased=False),
        "head_concentration": a.square().sum(-1).mean(),
        "top1_share": a.max(-1).values.mean(),
        "temperature": temperature.detach().float(),
    }


class RoutingSamples:
    """A few rows' top heads and their alphas, kept as tensors until the diag record is written."""

    def __init__(self, alphas: torch.Tensor, rows: int, k: int | None):
        a = alphas.detach().float()[:rows]
        top = a.topk(min(k or 3, a.shape[-1]), dim=-1)
        self.heads, self.alphas = top.indices, top.values

    def to_plain(self) -> list[dict[str, list]]:
        """[{"heads": [...], "alphas": [...]}, ...], one per row, as in the diag record."""
        return [{"heads": h, "alphas": a} for h, a in zip(self.heads.tolist(), self.alphas.tolist(), strict=True)]
