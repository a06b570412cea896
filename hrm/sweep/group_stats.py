"""Compare groups of a sweep CSV (e.g. controller hrm vs classical): Welch's t-test, Cohen's d,
Hedges' g and bootstrap confidence intervals over the runs (seeds) of each group.

The statistics are hrm.eval.stats; this module only groups CSV rows and lays the results out.
One value per run: each group's runs are its independent samples (seeds), so the interval of a
group mean resamples its runs, and the interval of a difference resamples both groups
independently (unpaired: seed s of one setting has nothing to do with seed s of another).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np

TASK_METRICS = ("exact_accuracy", "cell_accuracy", "kendall_tau", "perfect_sort_rate", "accuracy")
BOOT_METHOD = "percentile bootstrap over runs"


@dataclass
class GroupComparison:
    metric: str
    group_a: str
    group_b: str
    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    ci_a_low: float | None
    ci_a_high: float | None
    ci_b_low: float | None
    ci_b_high: float | None
    diff: float | None
    diff_ci_low: float | None
    diff_ci_high: float | None
    welch_t: float | None
    welch_df: float | None
    welch_p: float | None
    cohens_d: float | None
    hedges_g: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def numeric(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def group_values(rows: list[dict[str, str]], group_by: str, metric: str) -> tuple[dict[str, list[float]], int]:
    """Values of `metric` per group (first-seen order) and how many rows had none."""
    groups: dict[str, list[float]] = {}
    skipped = 0
    for row in rows:
        key = row.get(group_by, "")
        groups.setdefault(key, [])
        value = numeric(row.get(metric))
        if value is None:
            skipped += 1
        else:
            groups[key].append(value)
    return groups, skipped


def _mean_ci(values: list[float], confidence: float, seed: int) -> tuple[float | None, float | None, float | None]:
    from hrm.eval.stats import bootstrap_ci

    if not values:
        return None, None, None
    if len(values) < 2:
        return float(values[0]), None, None
    ci = bootstrap_ci(np.asarray(values), confidence=confidence, seed=seed)
    return ci.point, ci.low, ci.high


def _diff_ci(a: list[float], b: list[float], confidence: float, seed: int) -> tuple[float | None, float | None]:
    from scipy import stats as sps

    if len(a) < 2 or len(b) < 2:
        return None, None
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        d = float(np.mean(a) - np.mean(b))
        return d, d
    res = sps.bootstrap((np.asarray(a), np.asarray(b)), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis),
                        paired=False, vectorized=True, confidence_level=confidence, n_resamples=9999,
                        method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare(a_name: str, a: list[float], b_name: str, b: list[float], metric: str, confidence: float = 0.95,
            seed: int = 0) -> GroupComparison:
    from hrm.eval.stats import cohens_d, hedges_g, welch_t_test

    welch = welch_t_test(a, b)
    d, g = cohens_d(a, b), hedges_g(a, b)
    mean_a, lo_a, hi_a = _mean_ci(a, confidence, seed)
    mean_b, lo_b, hi_b = _mean_ci(b, confidence, seed)
    diff = None if mean_a is None or mean_b is None else mean_a - mean_b
    diff_lo, diff_hi = _diff_ci(a, b, confidence, seed)
    notes = [r for r in dict.fromkeys((welch.reason, d.reason)) if r]
    return GroupComparison(
        metric, a_name, b_name, len(a), len(b), mean_a, mean_b, lo_a, hi_a, lo_b, hi_b, diff, diff_lo, diff_hi,
        welch.statistic, welch.detail.get("df"), welch.p, d.value, g.value, "; ".join(notes),
    )


def compare_groups(rows: list[dict[str, str]], group_by: str, metrics: list[str], baseline: str | None = None,
                   confidence: float = 0.95, seed: int = 0) -> tuple[list[GroupComparison], list[str]]:
    """Every pair of groups (or every group against `baseline`) for each metric, and notes."""
    out: list[GroupComparison] = []
    notes: list[str] = []
    for metric in metrics:
        groups, skipped = group_values(rows, group_by, metric)
        if skipped:
            notes.append(f"{metric}: {skipped} run(s) without a value were left out")
        names = list(groups)
        if baseline is not None:
            pairs = [(n, baseline) for n in names if n != baseline]
        else:
            pairs = list(combinations(names, 2))
        for a, b in pairs:
            out.append(compare(a, groups[a], b, groups[b], metric, confidence, seed))
    return out, notes


def default_metrics(header: list[str]) -> list[str]:
    return [m for m in TASK_METRICS if m in header]
