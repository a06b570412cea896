from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from hrm.eval.stats import (
    bootstrap_ci,
    cohens_d,
    hedges_correction,
    hedges_g,
    mcnemar,
    welch_t_test,
)

A = [0.62, 0.55, 0.71, 0.58]
B = [0.40, 0.47, 0.35]


def test_welch_matches_scipy():
    res = welch_t_test(A, B)
    ref = sps.ttest_ind(A, B, equal_var=False)
    assert res.statistic == pytest.approx(ref.statistic) and res.p == pytest.approx(ref.pvalue)
    assert res.detail["df"] == pytest.approx(ref.df)
    assert res.reason == ""


def test_welch_degenerate_inputs_give_reasons_not_nan():
    one = welch_t_test([0.5], B)
    assert one.statistic is None and one.p is None and "at least 2 seeds" in one.reason
    same = welch_t_test([0.3, 0.3, 0.3], [0.3, 0.3])
    assert same.p is None and "no difference" in same.reason
    flat = welch_t_test([0.3, 0.3], [0.1, 0.1])
    assert flat.p is None and "zero variance" in flat.reason


def test_cohens_d_and_hedges_g_by_hand():
    # means 2 and 5, both sample variances 1: pooled sd 1, d = -3
    assert cohens_d([1, 2, 3], [4, 5, 6]).value == pytest.approx(-3.0)
    # J(4) = Gamma(2) / (sqrt(2) Gamma(1.5)) = 1 / (sqrt(2) * sqrt(pi) / 2)
    j4 = 2 / (np.sqrt(2) * np.sqrt(np.pi))
    assert hedges_correction(4) == pytest.approx(j4)
    assert hedges_g([1, 2, 3], [4, 5, 6]).value == pytest.approx(-3.0 * j4)
    # the usual approximation 1 - 3 / (4 dof - 1) is close for larger dof
    assert hedges_correction(40) == pytest.approx(1 - 3 / (4 * 40 - 1), abs=1e-4)
    # unequal sizes: pooled variance weights each group by its degrees of freedom
    a, b = np.array(A), np.array(B)
    pooled = np.sqrt((3 * a.var(ddof=1) + 2 * b.var(ddof=1)) / 5)
    assert cohens_d(A, B).value == pytest.approx((a.mean() - b.mean()) / pooled)


def test_effect_sizes_degenerate():
    assert cohens_d([1.0], [2.0, 3.0]).value is None
    zero = hedges_g([0.2, 0.2], [0.1, 0.1])
    assert zero.value is None and "zero variance" in zero.reason


def test_mcnemar_exact_by_hand():
    # 8 puzzles only a solves, 2 only b solves, 5 both, 5 neither
    a = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5
    b = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 5
    res = mcnemar(a, b)
    assert res.method == "McNemar exact (binomial)"
    assert res.p == pytest.approx(2 * (1 + 10 + 45) / 1024)  # two-sided binomial tail, n = 10
    assert res.detail == {"a_only": 8, "b_only": 2, "both": 5, "neither": 5}


def test_mcnemar_chi_square_for_many_discordant():
    a = [1] * 30 + [0] * 10
    b = [0] * 30 + [1] * 10
    res = mcnemar(a, b)
    assert res.method.startswith("McNemar chi-square")
    assert res.statistic == pytest.approx((20 - 1) ** 2 / 40)
    assert res.p == pytest.approx(sps.chi2.sf(9.025, 1))


def test_mcnemar_degenerate_and_mismatch():
    res = mcnemar([1, 0, 1], [1, 0, 1])
    assert res.p == 1.0 and res.statistic is None and "no puzzle" in res.reason
    with pytest.raises(ValueError):
        mcnemar([1, 0], [1])


def test_bootstrap_one_seed_is_scipy_percentile():
    rng = np.random.default_rng(3)
    scores = (rng.random(60) < 0.4).astype(float)
    ci = bootstrap_ci(scores, n_resamples=2000, seed=7)
    ref = sps.bootstrap((scores,), np.mean, n_resamples=2000, method="percentile",
                        rng=np.random.default_rng(7)).confidence_interval
    assert ci.low == pytest.approx(ref.low) and ci.high == pytest.approx(ref.high)
    assert ci.point == pytest.approx(scores.mean()) and "scipy" in ci.method


def test_bootstrap_paired_difference_is_scipy_paired():
    rng = np.random.default_rng(4)
    a = (rng.random(80) < 0.5).astype(float)
    b = (rng.random(80) < 0.3).astype(float)
    ci = bootstrap_ci(a, b, n_resamples=2000, seed=1)
    ref = sps.bootstrap((a, b), lambda x, y: x.mean() - y.mean(), paired=True, n_resamples=2000,
                        method="percentile", rng=np.random.default_rng(1), vectorized=False).confidence_interval
    assert ci.low == pytest.approx(ref.low) and ci.high == pytest.approx(ref.high)
    assert ci.point == pytest.approx(a.mean() - b.mean())


def test_two_way_bootstrap_adds_seed_variance():
    rng = np.random.default_rng(5)
    base = (rng.random(200) < 0.5).astype(float)
    agreeing = np.stack([base, base, base])
    # seeds that disagree a lot: the first seed solves everything, the others half
    disagreeing = np.stack([np.ones(200), base, base])
    ci_agree = bootstrap_ci(agreeing, n_resamples=3000)
    ci_disagree = bootstrap_ci(disagreeing, n_resamples=3000)
    assert "two-way" in ci_agree.method
    assert ci_agree.low < base.mean() < ci_agree.high
    # identical seeds: same width as the puzzle-only bootstrap (within Monte Carlo noise)
    ci_single = bootstrap_ci(base, n_resamples=3000)
    assert (ci_agree.high - ci_agree.low) == pytest.approx(ci_single.high - ci_single.low, abs=0.02)
    assert (ci_disagree.high - ci_disagree.low) > 1.5 * (ci_agree.high - ci_agree.low)


def test_two_way_difference_covers_the_point_and_shrinks_with_puzzles():
    rng = np.random.default_rng(6)
    small_a, small_b = (rng.random((3, 50)) < 0.6).astype(float), (rng.random((3, 50)) < 0.4).astype(float)
    big_a, big_b = (rng.random((3, 800)) < 0.6).astype(float), (rng.random((3, 800)) < 0.4).astype(float)
    small, big = bootstrap_ci(small_a, small_b, n_resamples=2000), bootstrap_ci(big_a, big_b, n_resamples=2000)
    assert small.low < small.point < small.high and big.low < big.point < big.high
    assert (big.high - big.low) < (small.high - small.low)


def test_bootstrap_degenerate_inputs():
    flat = bootstrap_ci(np.ones((3, 10)))
    assert flat.low == flat.high == 1.0 and "identical" in flat.reason
    one = bootstrap_ci([0.5])
    assert one.low == one.high == 0.5 and "one puzzle" in one.reason
    with pytest.raises(ValueError):
        bootstrap_ci(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError):
        bootstrap_ci(np.ones((2, 3, 4)))
