"""Statistics for comparing models: Welch's t-test across seeds, Cohen's d / Hedges' g, bootstrap
confidence intervals over puzzles (and seeds), McNemar's test on paired per-puzzle outcomes.

Every function returns a value *and* a reason: where a statistic is undefined (one seed, zero
variance, no discordant puzzles) the value is None and the reason says why in words, so reports
never show an unexplained NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

# Below this many discordant pairs McNemar's chi-square approximation is poor; use the exact test.
MCNEMAR_EXACT_BELOW = 25


@dataclass(frozen=True)
class TestResult:
    """A test statistic and its p-value (None when undefined, with the reason)."""

    statistic: float | None
    p: float | None
    method: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Estimate:
    """A number that may be undefined; `reason` says why when `value` is None."""

    value: float | None
    reason: str = ""


@dataclass(frozen=True)
class Interval:
    """A confidence interval around `point`."""

    point: float
    low: float
    high: float
    method: str
    reason: str = ""


def _as_1d(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float).ravel()


# --------------------------------------------------------------------------------------------------
# Across seeds: Welch's t-test and effect sizes


def welch_t_test(a: Any, b: Any) -> TestResult:
    """Welch's unequal-variance t-test of mean(a) vs mean(b) (one value per seed in each)."""
    a, b = _as_1d(a), _as_1d(b)
    method = "Welch's t-test (scipy.stats.ttest_ind, equal_var=False)"
    if len(a) < 2 or len(b) < 2:
        return TestResult(None, None, method,
                          f"needs at least 2 seeds per model (got {len(a)} and {len(b)})")
    if np.var(a, ddof=1) == 0 and np.var(b, ddof=1) == 0:
        if a[0] == b[0]:
            reason = f"every seed of both models scored {a[0]:.4g}: no difference to test"
        else:
            reason = (f"every seed scored the same within each model ({a[0]:.4g} vs {b[0]:.4g}): zero "
                      "variance leaves t undefined; the difference is consistent but untestable here")
        return TestResult(None, None, method, reason)
    res = sps.ttest_ind(a, b, equal_var=False)
    return TestResult(float(res.statistic), float(res.pvalue), method, detail={"df": float(res.df)})


def _pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    dof = len(a) + len(b) - 2
    return math.sqrt(((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / dof)


def cohens_d(a: Any, b: Any) -> Estimate:
    """(mean(a) - mean(b)) / pooled standard deviation."""
    a, b = _as_1d(a), _as_1d(b)
    if len(a) < 2 or len(b) < 2:
        return Estimate(None, f"needs at least 2 seeds per model (got {len(a)} and {len(b)})")
    sd = _pooled_sd(a, b)
    if sd == 0:
        return Estimate(None, "zero variance across seeds in both models: the effect size is undefined")
    return Estimate(float((a.mean() - b.mean()) / sd))


def hedges_correction(dof: int) -> float:
    """The exact small-sample factor J = Gamma(dof/2) / (sqrt(dof/2) * Gamma((dof-1)/2))."""
    return float(math.exp(special.gammaln(dof / 2) - special.gammaln((dof - 1) / 2)) / math.sqrt(dof / 2))


def hedges_g(a: Any, b: Any) -> Estimate:
    """Cohen's d times the small-sample bias correction (matters with 3 seeds: J(4) = 0.80)."""
    d = cohens_d(a, b)
    if d.value is None:
        return d
    dof = len(_as_1d(a)) + len(_as_1d(b)) - 2
    return Estimate(d.value * hedges_correction(dof))


# --------------------------------------------------------------------------------------------------
# Paired per-puzzle outcomes: McNemar


def mcnemar(a_correct: Any, b_correct: Any) -> TestResult:
    """McNemar's test on paired binary outcomes (same puzzles, model a vs model b).

    Only discordant puzzles carry information: n_ab (a right, b wrong) and n_ba. With fewer than
    MCNEMAR_EXACT_BELOW of them the exact binomial test is used (n_ab ~ Binomial(n_ab + n_ba, 1/2)),
    otherwise the chi-square approximation with continuity correction, (|n_ab - n_ba| - 1)^2 / (n_ab + n_ba).
    """
    a, b = np.asarray(a_correct, dtype=bool).ravel(), np.asarray(b_correct, dtype=bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes differ in length: {a.shape[0]} vs {b.shape[0]}")
    n_ab, n_ba = int(np.sum(a & ~b)), int(np.sum(~a & b))
    detail = {"a_only": n_ab, "b_only": n_ba, "both": int(np.sum(a & b)), "neither": int(np.sum(~a & ~b))}
    discordant = n_ab + n_ba
    if discordant == 0:
        return TestResult(None, 1.0, "McNemar", "no puzzle was solved by one model and not the other", detail)
    if discordant < MCNEMAR_EXACT_BELOW:
        p = sps.binomtest(n_ab, discordant, 0.5).pvalue
        return TestResult(float(n_ab), float(p), "McNemar exact (binomial)", detail=detail)
    chi2 = (abs(n_ab - n_ba) - 1) ** 2 / discordant
    p = sps.chi2.sf(chi2, df=1)
    return TestResult(float(chi2), float(p), "McNemar chi-square (continuity-corrected)", detail=detail)


# --------------------------------------------------------------------------------------------------
# Bootstrap confidence intervals over puzzles (and seeds)


def _as_seed_matrix(x: Any) -> np.ndarray:
    """Scores as (seeds, puzzles); a 1-D array is one seed."""
    m = np.asarray(x, dtype=float)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.shape[1] == 0 or m.shape[0] == 0:
        raise ValueError(f"expected scores shaped (seeds, puzzles), got {np.asarray(x).shape}")
    return m


def _degenerate(point: float, values: list[np.ndarray], method: str) -> Interval | None:
    if all(np.all(v == v.flat[0]) for v in values):
        return Interval(point, point, point, method, "every score is identical: the interval has zero width")
    return None


def _two_way_means(m: np.ndarray, seed_w: np.ndarray, puzzle_w: np.ndarray) -> np.ndarray:
    """Means of the resampled (seeds x puzzles) matrix for each row of multiplicity weights."""
    s, p = m.shape
    return np.einsum("bs,sp,bp->b", seed_w, m, puzzle_w) / (s * p)


def bootstrap_ci(
    a: Any, b: Any = None, confidence: float = 0.95, n_resamples: int = 9999, seed: int = 0
) -> Interval:
    """Bootstrap interval for mean(a), or for mean(a) - mean(b) when b is given.

    `a`, `b`: per-puzzle scores shaped (puzzles,) or (seeds, puzzles); with b, both score the same
    puzzles in the same order (paired). With one seed per model this is scipy.stats.bootstrap
    (percentile method, puzzles resampled, paired for a difference). With several seeds the seeds
    add variance puzzles do not show, so a two-way bootstrap is used: each resample draws seeds
    (independently per model) and puzzles (shared by both models) with replacement.
    """
    ma = _as_seed_matrix(a)
    mb = None if b is None else _as_seed_matrix(b)
    if mb is not None and mb.shape[1] != ma.shape[1]:
        raise ValueError(f"paired scores cover different puzzle counts: {ma.shape[1]} vs {mb.shape[1]}")
    point = float(ma.mean() - (mb.mean() if mb is not None else 0.0))
    mats = [ma] if mb is None else [ma, mb]
    single_seed = all(m.shape[0] == 1 for m in mats)
    method = ("percentile bootstrap over puzzles (scipy.stats.bootstrap)" if single_seed
              else "two-way percentile bootstrap over seeds and puzzles")
    if ma.shape[1] < 2:
        return Interval(point, point, point, method, "one puzzle: nothing to resample")
    degenerate = _degenerate(point, mats, method)
    if degenerate is not None:
        return degenerate
    alpha = (1 - confidence) / 2
    if single_seed:
        rng = np.random.default_rng(seed)
        if mb is None:
            res = sps.bootstrap((ma[0],), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                                method="percentile", rng=rng, vectorized=True, axis=-1)
        else:
            res = sps.bootstrap((ma[0], mb[0]), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), paired=True,
                                confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                                rng=rng, vectorized=True, axis=-1)
        ci = res.confidence_interval
        return Interval(point, float(ci.low), float(ci.high), method)
    rng = np.random.default_rng(seed)
    n_puzzles = ma.shape[1]
    stats_out = np.empty(n_resamples)
    chunk = 1000
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        puzzle_w = rng.multinomial(n_puzzles, np.full(n_puzzles, 1 / n_puzzles), size=size)
        seed_wa = rng.multinomial(ma.shape[0], np.full(ma.shape[0], 1 / ma.shape[0]), size=size)
        values = _two_way_means(ma, seed_wa, puzzle_w)
        if mb is not None:
            seed_wb = rng.multinomial(mb.shape[0], np.full(mb.shape[0], 1 / mb.shape[0]), size=size)
            values = values - _two_way_means(mb, seed_wb, puzzle_w)
        stats_out[start:start + size] = values
    low, high = np.quantile(stats_out, [alpha, 1 - alpha])
    return Interval(point, float(low), float(high), method)
