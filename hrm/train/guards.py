"""Step guards: decide, before the optimizer moves, whether a step's update is safe to apply.

- NaN/Inf loss or gradient norm: skip the step (measured: skipping kept the weights finite, without
  it they were NaN for good).
- Loss spike (OLMo-core): loss more than `spike_sigma` standard deviations above the mean of the
  last `spike_window` good steps, once `spike_warmup` good steps were seen: skip.
- Gradient explosion: grad norm above `grad_explosion_factor` times the window's mean: skip.
- `rollback_after` bad steps in a row: roll back to the last good checkpoint (PaLM restarts a
  little earlier and skips the data that caused the spike; the sampler is not rewound).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from hrm.train.config import ReliabilityConfig


@dataclass
class Verdict:
    action: str  # "step" | "skip" | "rollback"
    reason: str = ""  # "" | "nan" | "spike" | "grad_explosion"
    message: str = ""


HINTS = {
    "nan": "the step was skipped; if this repeats, lower optim.lr or use dtype=float32",
    "spike": "the step was skipped; frequent spikes suggest a lower optim.lr or a longer warmup",
    "grad_explosion": "the step was skipped; lower optim.lr or the group clip values",
}


class StepGuard:
    def __init__(self, cfg: ReliabilityConfig):
        self.cfg = cfg
        self.losses: deque[float] = deque(maxlen=cfg.spike_window)
        self.grad_norms: deque[float] = deque(maxlen=cfg.spike_window)
        self.bad_streak = 0
        self.good_steps = 0

    def _spike(self, loss: float) -> str:
        if self.cfg.spike_sigma <= 0 or self.good_steps < self.cfg.spike_warmup or len(self.losses) < 2:
            return ""
        mean = sum(self.losses) / len(self.losses)
        std = math.sqrt(sum((x - mean) ** 2 for x in self.losses) / (len(self.losses) - 1))
        std = max(std, 0.01 * abs(mean), 1e-8)  # a flat window must not turn noise into spikes
        if loss > mean + self.cfg.spike_sigma * std:
            return f"loss {loss:.4g} is {(loss - mean) / std:.1f} sigma above the recent mean {mean:.4g}"
        return ""

    def _explosion(self, grad_norm: float) -> str:
        if self.cfg.grad_explosion_factor <= 0 or self.good_steps < self.cfg.spike_warmup or not self.grad_norms:
            return ""
        mean = sum(self.grad_norms) / len(self.grad_norms)
        if grad_norm > self.cfg.grad_explosion_factor * max(mean, 1e-12):
            return f"grad norm {grad_norm:.4g} is {grad_norm / max(mean, 1e-12):.0f}x the recent mean {mean:.4g}"
        return ""

    def check(self, loss: float, grad_norm: float) -> Verdict:
        reason = message = ""
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            if self.cfg.nan_skip:
                reason, message = "nan", f"loss {loss}, grad norm {grad_norm}"
        elif message := self._spike(loss):
            reason = "spike"
        elif message := self._explosion(grad_norm):
            reason = "grad_explosion"
        if not reason:
            self.bad_streak = 0
            self.good_steps += 1
            self.losses.append(loss)
            self.grad_norms.append(grad_norm)
            return Verdict("step")
        self.bad_streak += 1
        if self.bad_streak >= self.cfg.rollback_after:
            self.bad_streak = 0
            return Verdict("rollback", reason, message)
        return Verdict("skip", reason, message)

    def state_dict(self) -> dict[str, Any]:
        return {"losses": list(self.losses), "grad_norms": list(self.grad_norms), "bad_streak": self.bad_streak,
                "good_steps": self.good_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.losses.clear()
        self.losses.extend(float(x) for x in state["losses"])
        self.grad_norms.clear()
        self.grad_norms.extend(float(x) for x in state["grad_norms"])
        self.bad_streak = int(state["bad_streak"])
        self.good_steps = int(state["good_steps"])
