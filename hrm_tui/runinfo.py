"""Headline facts about a run for the dashboard header: pure functions of what the files say.

Total steps come from the `started` event (`total_steps`) or the resolved config; throughput and
ETA from the recent train records. `now` is passed in so tests and snapshots are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hrm.rundir import RunStatus
from hrm_tui.store import RunStore

# Where the resolved config may state the run's length (first found wins).
TOTAL_STEP_KEYS = (("train", "total_steps"), ("train", "max_steps"), ("train", "steps"), ("total_steps",),
                   ("max_steps",))


@dataclass
class HeaderInfo:
    run_id: str = ""
    preset: str = ""
    arch: str = ""
    device: str = ""
    state: str = "waiting"
    detail: str = ""  # e.g. "restart in 4 s (attempt 2)", or why the run could not start
    step: int = 0
    total_steps: int | None = None
    epoch: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    examples_per_s: float | None = None
    tokens_per_s: float | None = None
    eval_exact: float | None = None
    eval_accuracy: float | None = None
    mode: str = ""  # live | attached | replay
    time_budget_s: float | None = None  # train.max_minutes, when the run ends by time

    @property
    def progress(self) -> float | None:
        if self.total_steps:
            return min(1.0, max(0.0, self.step / self.total_steps))
        if self.time_budget_s and self.elapsed_s is not None:
            return min(1.0, max(0.0, self.elapsed_s / self.time_budget_s))
        return None


def _dig(cfg: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = cfg
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def total_steps(config: dict[str, Any] | None, events: list[dict[str, Any]]) -> int | None:
    for ev in reversed(events):
        if ev.get("event") == "started" and isinstance(ev.get("total_steps"), int):
            return ev["total_steps"]
    for path in TOTAL_STEP_KEYS:
        value = _dig(config or {}, path)
        if isinstance(value, int) and value > 0:
            return value
    return None


def steps_per_second(store: RunStore, window: int = 50) -> float | None:
    """Recent optimizer steps per wall second, from the last `window` train records."""
    train = store.table("train")
    if train is None or train.rows < 2:
        return None
    steps, t = train.get("step"), train.get("t")
    if steps is None or t is None:
        return None
    steps, t = steps[-window:], t[-window:]
    ok = np.isfinite(steps) & np.isfinite(t)
    steps, t = steps[ok], t[ok]
    if len(steps) < 2 or t[-1] <= t[0]:
        return None
    return float((steps[-1] - steps[0]) / (t[-1] - t[0]))


def recent_mean(store: RunStore, column: str, window: int = 20) -> float | None:
    train = store.table("train")
    values = train.get(column) if train is not None else None
    if values is None:
        return None
    values = values[-window:]
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _num(rec: dict[str, Any] | None, key: str) -> float | None:
    value = (rec or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def header_info(run_id: str, store: RunStore, status: RunStatus | None, config: dict[str, Any] | None,
                events: list[dict[str, Any]], now: float, supervisor: dict[str, Any] | None = None) -> HeaderInfo:
    cfg = config or {}
    model = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
    info = HeaderInfo(run_id=run_id, preset=str(cfg.get("preset") or cfg.get("name") or ""),
                      arch=str(model.get("arch", "")))
    started = next((e for e in reversed(events) if e.get("event") == "started"), None)
    if started:
        info.device = " ".join(str(started[k]) for k in ("device", "dtype") if started.get(k))
    info.state = status.state if status else "waiting"
    last = store.last.get("train")
    info.step = max(status.step if status else 0, int(_num(last, "step") or 0))
    info.total_steps = total_steps(cfg, events)
    info.epoch = _num(last, "epoch")
    # Throughput of one step jumps (an ACT step where no row halted takes in 0 examples): the
    # header shows the mean of the recent records.
    info.examples_per_s = recent_mean(store, "examples_per_s")
    info.tokens_per_s = recent_mean(store, "tokens_per_s")
    best = None
    for split in store.eval_splits:
        tab = store.table(f"eval:{split}")
        exact = tab.get("exact_accuracy") if tab else None
        if exact is not None and np.isfinite(exact).any():
            i = int(np.nanargmax(exact))
            if best is None or exact[i] > best[0]:
                acc = tab.get("accuracy") if tab else None
                best = (float(exact[i]), float(acc[i]) if acc is not None and np.isfinite(acc[i]) else None)
    if best:
        info.eval_exact, info.eval_accuracy = best
    first_t = events[0].get("t") if events else store.t0
    if isinstance(first_t, (int, float)):
        end = now
        if status is not None and status.terminal:
            last_t = [e.get("t") for e in events if isinstance(e.get("t"), (int, float))]
            end = max([*last_t, float(_num(last, "t") or first_t)])
        info.elapsed_s = max(0.0, end - float(first_t))
    minutes = _dig(cfg, ("train", "max_minutes"))
    if isinstance(minutes, (int, float)) and minutes > 0:
        info.time_budget_s = 60.0 * minutes
    rate = steps_per_second(store)
    if info.state in ("running", "starting"):
        if rate and info.total_steps:
            info.eta_s = max(0.0, (info.total_steps - info.step) / rate)
        elif info.time_budget_s and info.elapsed_s is not None:
            info.eta_s = max(0.0, info.time_budget_s - info.elapsed_s)
    sup = supervisor or {}
    if info.state == "restarting":
        restart_at = sup.get("restart_at")
        attempt = sup.get("attempt")
        bits = []
        if isinstance(restart_at, (int, float)):
            bits.append(f"restart in {max(0, math.ceil(restart_at - now))} s")
        if attempt is not None:
            bits.append(f"attempt {attempt}")
        info.detail = ", ".join(bits)
    elif info.state == "crashed" and status and status.last_event:
        info.detail = str(status.last_event.get("message", ""))[:80]
    elif info.state == "stale" and status and status.heartbeat_age_s is not None:
        info.detail = f"no heartbeat for {status.heartbeat_age_s:.0f} s"
    return info


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{s:02d}s" if m else f"{s}s"


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e4:
        return f"{value / 1e3:.1f}k"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"
