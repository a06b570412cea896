from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from hrm.eval.passk import naive_pass_at_k, pass_at_k, pass_at_k_per_problem, reportable_ks


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 2 / 5),          # 1 - C(3,1)/C(5,1)
        (5, 2, 2, 1 - 3 / 10),     # 1 - C(3,2)/C(5,2)
        (5, 2, 3, 1 - 1 / 10),     # 1 - C(3,3)/C(5,3)
        (5, 2, 4, 1.0),            # n - c = 3 < k: every draw of 4 holds a correct one
        (10, 0, 5, 0.0),
        (10, 10, 1, 1.0),
        (8, 1, 2, 1 - 21 / 28),    # 1 - C(7,2)/C(8,2)
    ],
)
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_equals_the_binomial_formula_everywhere_small():
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


def test_pass_at_k_is_stable_where_binomials_overflow():
    # C(2000, 1000) overflows a float; the product form does not.
    value = pass_at_k(2000, 3, 1000)
    assert value == pytest.approx(1 - (1000 * 999 * 998) / (2000 * 1999 * 1998), rel=1e-9)


def test_naive_estimator_is_biased_low_and_the_unbiased_one_is_not():
    # Each attempt is right with probability p; n = 4 attempts per problem, report k = 2.
    p, n, k = 0.3, 4, 2
    truth = 1 - (1 - p) ** k  # 0.51
    weights = sps.binom.pmf(np.arange(n + 1), n, p)
    expected_unbiased = sum(w * pass_at_k(n, c, k) for c, w in enumerate(weights))
    expected_naive = sum(w * naive_pass_at_k(n, c, k) for c, w in enumerate(weights))
    assert expected_unbiased == pytest.approx(truth, abs=1e-12)
    # E[(1 - c/n)^2] = (1-p)^2 + p(1-p)/n, so the naive figure is low by p(1-p)/n = 0.0525.
    assert expected_naive == pytest.approx(truth - p * (1 - p) / n, abs=1e-12)
    assert expected_naive < truth - 0.05
    # On one problem with n = k the naive shortcut even misses a certain success.
    assert pass_at_k(2, 1, 2) == 1.0 and naive_pass_at_k(2, 1, 2) == 0.75


def test_per_problem_and_reportable_ks():
    values = pass_at_k_per_problem([5, 5, 3], [2, 0, 3], 1)
    np.testing.assert_allclose(values, [0.4, 0.0, 1.0])
    assert reportable_ks([1, 2, 5, 3], [5, 5, 3]) == [1, 2, 3]
    assert reportable_ks([1], []) == []


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_per_problem_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        pass_at_k_per_problem([1, 2], [1], 1)
