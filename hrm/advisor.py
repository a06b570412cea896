"""The troubleshooting advisor: rules over a run's live metric records that recognise the usual
failures of routed / hierarchical models and say what to change.

    advisor = Advisor.from_config(config_dict)        # heads, top-k, planned steps from the run config
    for record in records:                            # metrics.jsonl records and events.jsonl records
        for event in advisor.observe(record):         # -> `advisor` event records, usually none
            events_writer.write(event)

Each rule looks at a short window of figures (no torch, a few float comparisons per record), so
the trainer can call `observe` on every record it writes. A rule that fired stays quiet for
`rearm_steps` optimizer steps, so a persistent condition is reported once, not on every record.
The symptoms, thresholds and fixes are documented in docs/TROUBLESHOOTING.md; keep the two in step.

Rules (`rule` field of the event):
- uniform_alphas      routing entropy stays near log(heads): the router does not choose
- head_collapse       one head takes nearly all the weight (top-1 share / concentration near 1)
- oscillation         loss or routing entropy flips up and down from record to record
- no_gain_long        accuracy on longer test lengths falls far below the trained length's
- worse_than_baseline an evaluated figure stays below a given baseline
- oom                 out of memory (an `oom` event or crash) or resident memory near the limit
- slow_training       examples/s far below the expectation or the run's own early pace
"""

from __future__ import annotations

import math
import os
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from hrm.rundir import RunDir, event_record

RULES = (
    "uniform_alphas", "head_collapse", "oscillation", "no_gain_long", "worse_than_baseline", "oom", "slow_training",
)
# Eval splits named for a sequence length (the sort builder's `test_len<L>`).
_LENGTH_SPLIT = re.compile(r"len(\d+)$")


@dataclass(frozen=True)
class Thresholds:
    """When each rule fires. docs/TROUBLESHOOTING.md quotes these defaults."""

    warmup_steps: int = 200  # uniform_alphas: the router starts uniform; give it this long
    window: int = 8  # train records a routing condition must hold for
    uniform_ratio: float = 0.97  # entropy >= ratio * log(effective heads) counts as uniform
    collapse_top1: float = 0.95  # top-1 share at or above this counts as collapsed
    collapse_concentration: float = 0.90  # Herfindahl at or above this (when top1_share is absent)
    osc_window: int = 20  # records in the oscillation window
    osc_flip_fraction: float = 0.85  # share of consecutive changes that reverse direction
    osc_rel_amplitude: float = 0.05  # median |change| relative to the median level
    long_min_in_dist: float = 0.30  # no_gain_long needs the trained length to be learned at least this well
    long_ratio: float = 0.50  # long-length accuracy below ratio * trained-length accuracy fires
    baseline_margin: float = 0.02  # worse_than_baseline: below baseline - margin
    baseline_after_fraction: float = 0.75  # ... once this share of the planned steps is done
    baseline_min_evals: int = 3  # ... or after this many evals when the plan is unknown
    memory_fraction: float = 0.90  # rss at or above this share of physical memory warns
    slow_ratio: float = 0.30  # examples/s below ratio * reference fires
    slow_window: int = 5  # train records the slowness must last
    slow_skip: int = 2  # first train records ignored (start-up, compilation, caches)
    rearm_steps: int = 1000  # a rule that fired stays quiet this many steps


@dataclass
class Advisor:
    """Feed it every metric and event record of one run with `observe`; it returns advisor events.

    num_heads / top_k: the routing layout (None when the model does not route: routing rules
    stay silent). baseline: figures to beat, keyed `metric` (the main eval split) or
    `split:metric`, e.g. {"exact_accuracy": 0.41, "test_len20:accuracy": 0.62}. planned_steps:
    the run's train.max_steps (0 = unknown). expected_examples_per_s: from a benchmark or an
    earlier run; without it the run's own early pace is the reference. memory_gb: physical
    memory for the resident-set warning (None = no warning).
    """

    num_heads: int | None = None
    top_k: int | None = None
    baseline: Mapping[str, float] = field(default_factory=dict)
    planned_steps: int = 0
    expected_examples_per_s: float | None = None
    memory_gb: float | None = None
    main_split: str = "test"
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        w = self.thresholds
        self._entropy: deque[float] = deque(maxlen=max(w.window, w.osc_window))
        self._top1: deque[float] = deque(maxlen=w.window)
        self._loss: deque[float] = deque(maxlen=w.osc_window)
        self._speed: list[float] = []  # the first records, for the reference pace
        self._recent_speed: deque[float] = deque(maxlen=w.slow_window)
        self._train_records = 0
        self._evals: dict[str, dict[str, float]] = {}  # latest figures per split
        self._eval_counts: dict[str, int] = {}
        self._fired: dict[str, int] = {}
        self._step = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> Advisor:
        """Read the routing layout, planned steps and eval split from a resolved run config (the
        dict in config.yaml, or a pydantic RunConfig)."""
        if hasattr(config, "model_dump"):
            config = config.model_dump(mode="json")
        model = config.get("model") or {}
        routing = model.get("routing") or {}
        routes = model.get("arch") == "routed" or bool(model.get("route_heads"))
        train, data = config.get("train") or {}, config.get("data") or {}
        defaults: dict[str, Any] = {
            "num_heads": model.get("num_heads") if routes else None,
            "top_k": routing.get("top_k") if routes else None,
            "planned_steps": int(train.get("max_steps") or 0),
            "main_split": str(data.get("eval_split") or "test"),
            "memory_gb": physical_memory_gb(),
        }
        defaults.update(kwargs)
        return cls(**defaults)

    # ---------------------------------------------------------------------------------------------

    def observe(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One metrics.jsonl or events.jsonl record in; the advisor events it triggers out."""
        if isinstance(record.get("step"), int):
            self._step = max(self._step, record["step"])
        if "event" in record:
            return self._observe_event(record)
        kind = record.get("kind")
        if kind == "train":
            return self._observe_train(record)
        if kind == "eval":
            return self._observe_eval(record)
        if kind == "system":
            return self._observe_system(record)
        return []

    def observe_all(self, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for record in records:
            out.extend(self.observe(record))
        return out

    # -- helpers ----------------------------------------------------------------------------------

    def _fire(self, rule: str, level: str, message: str, hint: str, key: str = "", **evidence: Any
              ) -> list[dict[str, Any]]:
        """One advisor event, unless this rule (for this `key`: a series or split) fired recently."""
        slot = f"{rule}:{key}"
        last = self._fired.get(slot)
        if last is not None and self._step - last < self.thresholds.rearm_steps:
            return []
        self._fired[slot] = self._step
        clean = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in evidence.items()}
        return [event_record("advisor", level, message, hint, step=self._step, rule=rule, **clean)]

    @property
    def _routed_heads(self) -> int | None:
        """Heads a row can spread over (top-k limits it); None when the model does not route."""
        if not self.num_heads:
            return None
        return min(self.top_k or self.num_heads, self.num_heads)

    # -- train records ----------------------------------------------------------------------------

    def _observe_train(self, rec: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        self._train_records += 1
        loss = _number(rec.get("loss"))
        if loss is not None:
            self._loss.append(loss)
            out += self._check_oscillation("loss", self._loss, _LOSS_HINT)
        entropy = _number(rec.get("routing_entropy"))
        if entropy is not None and self._routed_heads:
            self._entropy.append(entropy)
            out += self._check_uniform()
            out += self._check_oscillation("routing_entropy", self._entropy, _ROUTING_OSC_HINT)
        top1 = _number(rec.get("top1_share"))
        if top1 is None:
            top1 = _number(rec.get("head_concentration"))
            limit = self.thresholds.collapse_concentration
        else:
            limit = self.thresholds.collapse_top1
        if top1 is not None and self._routed_heads:
            self._top1.append(top1)
            out += self._check_collapse(limit)
        speed = _number(rec.get("examples_per_s"))
        if speed is not None:
            out += self._check_speed(speed)
        return out

    def _check_uniform(self) -> list[dict[str, Any]]:
        w, heads = self.thresholds, self._routed_heads
        if heads is None or heads < 2 or self._step < w.warmup_steps or len(self._entropy) < w.window:
            return []
        recent = list(self._entropy)[-w.window:]
        ceiling = math.log(heads)
        if min(recent) < w.uniform_ratio * ceiling:
            return []
        return self._fire(
            "uniform_alphas", "warn",
            f"routing entropy has stayed at {min(recent):.3f}-{max(recent):.3f} nats, near the uniform "
            f"log({heads}) = {ceiling:.3f}, for {w.window} records after step {w.warmup_steps}: the router "
            "mixes every head equally and is not choosing",
            "raise the controller's learning rate (optim.groups.controller.lr), lower the routing temperature "
            "(model.routing.temperature_init / temperature_min), add a positive entropy penalty "
            "(model.routing.entropy_reg, e.g. 1e-3), and check optim.groups.controller.frozen_epochs has passed",
            entropy=min(recent), uniform_entropy=ceiling, heads=heads,
        )

    def _check_collapse(self, limit: float) -> list[dict[str, Any]]:
        w, heads = self.thresholds, self._routed_heads
        if heads is None or heads < 2 or len(self._top1) < w.window:
            return []
        if min(self._top1) < limit:
            return []
        return self._fire(
            "head_collapse", "warn",
            f"one head takes {min(self._top1):.0%} or more of the routing weight for {w.window} records: "
            f"routing has collapsed onto one of {heads} heads",
            "lower or remove the entropy penalty (model.routing.entropy_reg; 0 or negative rewards spread), raise "
            "model.routing.temperature_min, lower the controller's learning rate (optim.groups.controller.lr), "
            "or warm the controller up later (optim.groups.controller.frozen_epochs)",
            share=min(self._top1), threshold=limit, heads=heads,
        )

    def _check_oscillation(self, name: str, series: deque[float], hint: str) -> list[dict[str, Any]]:
        w = self.thresholds
        if len(series) < w.osc_window:
            return []
        values = list(series)[-w.osc_window:]
        diffs = [b - a for a, b in zip(values, values[1:], strict=False)]
        moves = [d for d in diffs if d != 0]
        if len(moves) < 2:
            return []
        flips = sum(1 for a, b in zip(moves, moves[1:], strict=False) if (a > 0) != (b > 0))
        flip_fraction = flips / (len(moves) - 1)
        level = max(median(abs(v) for v in values), 1e-3)
        amplitude = median(abs(d) for d in diffs) / level
        if flip_fraction < w.osc_flip_fraction or amplitude < w.osc_rel_amplitude:
            return []
        return self._fire(
            "oscillation", "warn",
            f"{name} reverses direction in {flip_fraction:.0%} of the last {w.osc_window} records with swings of "
            f"{amplitude:.0%} of its level: training is oscillating",
            hint, key=name, series=name, flip_fraction=flip_fraction, relative_amplitude=amplitude,
        )

    def _check_speed(self, speed: float) -> list[dict[str, Any]]:
        w = self.thresholds
        if self._train_records <= w.slow_skip:
            return []
        if len(self._speed) < w.slow_window:
            self._speed.append(speed)
        self._recent_speed.append(speed)
        if self.expected_examples_per_s:
            reference, source = self.expected_examples_per_s, "the expected"
        elif len(self._speed) >= w.slow_window:
            reference, source = median(self._speed), "this run's early"
        else:
            return []
        if len(self._recent_speed) < w.slow_window:
            return []
        now = median(self._recent_speed)
        if now >= w.slow_ratio * reference:
            return []
        return self._fire(
            "slow_training", "warn",
            f"training runs at {now:.1f} examples/s, {now / reference:.0%} of {source} {reference:.1f} examples/s",
            "look for another process on the same cores (top), too many threads (train.threads, OMP_NUM_THREADS; "
            "sweeps: fewer --jobs), swapping (rss near physical memory) or a device fallback to CPU (hrm doctor); "
            "on a GPU use dtype bfloat16 and try train.compile",
            examples_per_s=now, reference=reference,
        )

    # -- eval records -----------------------------------------------------------------------------

    def _observe_eval(self, rec: Mapping[str, Any]) -> list[dict[str, Any]]:
        split = str(rec.get("split") or self.main_split)
        figures = {k: float(v) for k, v in rec.items() if _number(v) is not None and k not in ("t", "step")}
        self._evals[split] = figures
        self._eval_counts[split] = self._eval_counts.get(split, 0) + 1
        return self._check_long(split) + self._check_baseline(split)

    def _in_distribution(self) -> tuple[str, dict[str, float]] | None:
        if self.main_split in self._evals and not _LENGTH_SPLIT.search(self.main_split):
            return self.main_split, self._evals[self.main_split]
        plain = [s for s in self._evals if not _LENGTH_SPLIT.search(s)]
        return (plain[0], self._evals[plain[0]]) if plain else None

    def _check_long(self, split: str) -> list[dict[str, Any]]:
        w = self.thresholds
        if not _LENGTH_SPLIT.search(split):
            return []
        base = self._in_distribution()
        if base is None:
            return []
        metric = "accuracy" if "accuracy" in base[1] and "accuracy" in self._evals[split] else "exact_accuracy"
        s_in, s_long = base[1].get(metric), self._evals[split].get(metric)
        if s_in is None or s_long is None or s_in < w.long_min_in_dist or s_long >= w.long_ratio * s_in:
            return []
        return self._fire(
            "no_gain_long", "warn",
            f"{metric} on {split} is {s_long:.1%} against {s_in:.1%} on {base[0]}: what was learned at the trained "
            "length does not carry over to longer inputs",
            "learned absolute positions never trained past the trained length: try model.pos_encodings=rope (or grid) "
            "where the task allows; give the model "
            "more inner iterations (model.inner_steps, or H_cycles/L_cycles) or a longer HRM period (model.hrm_T); "
            "train on mixed lengths (a curriculum) rather than one",
            key=split, split=split, metric=metric, long=s_long, in_distribution=s_in,
        )

    def _check_baseline(self, split: str, final: bool = False) -> list[dict[str, Any]]:
        w = self.thresholds
        if not self.baseline:
            return []
        if final:
            pass  # the run ended: its last evaluation is its result
        elif self.planned_steps:
            if self._step < w.baseline_after_fraction * self.planned_steps:
                return []
        elif self._eval_counts[split] < w.baseline_min_evals:
            return []
        out: list[dict[str, Any]] = []
        for key, target in self.baseline.items():
            want_split, _, metric = key.rpartition(":")
            if (want_split or self.main_split) != split:
                continue
            value = self._evals[split].get(metric)
            if value is None or value >= target - w.baseline_margin:
                continue
            out += self._fire(
                "worse_than_baseline", "warn",
                f"{metric} on {split} is {value:.1%} at step {self._step}, below the baseline's {target:.1%}",
                "check the recipe against the baseline's (same data, steps and learning rate), give the controller "
                "a warm-up (optim.groups.controller.frozen_epochs) so it starts from a working encoder, and compare "
                "several seeds with `hrm stats` before concluding",
                key=key, split=split, metric=metric, value=value, baseline=target,
            )
        return out

    # -- system records and events ----------------------------------------------------------------

    def _observe_system(self, rec: Mapping[str, Any]) -> list[dict[str, Any]]:
        rss = _number(rec.get("rss_gb"))
        if rss is None or not self.memory_gb or rss < self.thresholds.memory_fraction * self.memory_gb:
            return []
        return self._fire(
            "oom", "warn",
            f"the trainer holds {rss:.1f} GB of {self.memory_gb:.1f} GB physical memory: close to running out",
            _OOM_HINT, rss_gb=rss, memory_gb=self.memory_gb,
        )

    def _observe_event(self, rec: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = rec.get("event")
        if name == "finished":
            return [e for split in self._evals for e in self._check_baseline(split, final=True)]
        text = f"{rec.get('message', '')} {rec.get('reason', '')}".lower()
        oom = name == "oom" or (name == "crashed" and ("oom" in text or "out of memory" in text))
        if not oom:
            return []
        return self._fire(
            "oom", "error", f"out of memory at step {self._step}: {rec.get('message', name)}"[:500], _OOM_HINT,
            source_event=name,
        )


_LOSS_HINT = (
    "lower the learning rate (optim.lr) or lengthen the warm-up (optim.warmup_steps), clip harder (optim.clip), "
    "or raise the batch (train.global_batch_size)"
)
_ROUTING_OSC_HINT = (
    "the controller overshoots: lower its learning rate (optim.groups.controller.lr) or clip it harder "
    "(optim.groups.controller.clip), raise model.routing.temperature_min, or update the slow state less often "
    "(a larger model.hrm_T)"
)
_OOM_HINT = (
    "lower train.micro_batch_size (the global batch is kept by accumulation), turn on train.grad_checkpointing, "
    "keep the 1-step gradient (model.grad=one_step) or cache head features (model.cache_heads=true), fewer inner "
    "iterations; on a GPU use dtype bfloat16"
)


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def event_kwargs(event: Mapping[str, Any]) -> dict[str, Any]:
    """An advisor event as keyword arguments of `Sink.event(event, level, message, hint, step, **extra)`
    (the trainer writes it like its own events; its time stamp is the sink's)."""
    return {k: v for k, v in event.items() if k != "t"}


def physical_memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def replay(run_dir: Path | str, **kwargs: Any) -> list[dict[str, Any]]:
    """Run the advisor over a finished (or running) run's files, in time order; its events out.
    kwargs override what Advisor.from_config reads from the run's config.yaml."""
    import yaml

    run = RunDir(Path(run_dir))
    try:
        config = yaml.safe_load(run.config.read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    advisor = Advisor.from_config(config if isinstance(config, dict) else {}, **kwargs)
    records = list(run.iter_metrics()) + [e for e in run.read_events() if e.get("event") != "advisor"]
    records.sort(key=lambda r: float(r.get("t", 0.0)) if _number(r.get("t")) is not None else 0.0)
    return advisor.observe_all(records)
