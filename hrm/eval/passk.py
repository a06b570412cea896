"""Pass@k: the chance that at least one of k attempts at a problem is correct.

With n attempts of which c were verified correct, the unbiased estimator (Chen et al. 2021,
"Evaluating Large Language Models Trained on Code") is

    pass@k = 1 - C(n - c, k) / C(n, k)

i.e. one minus the chance that k attempts drawn without replacement from the n are all wrong.
The binomials overflow for large n, so it is computed as a product:

    C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)

and it is exactly 1 when n - c < k (every draw of k contains a correct attempt).

The tempting shortcut 1 - (1 - c/n)^k treats the attempts as drawn with replacement; it is
biased low (see `naive_pass_at_k`), most of all when n is close to k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased Pass@k for one problem with n attempts of which c are correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_per_problem(n: Sequence[int] | np.ndarray, c: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """Pass@k of each problem (float array); the headline figure is its mean over problems."""
    n_arr, c_arr = np.asarray(n, dtype=int), np.asarray(c, dtype=int)
    if n_arr.shape != c_arr.shape:
        raise ValueError(f"n and c differ in shape: {n_arr.shape} vs {c_arr.shape}")
    return np.array([pass_at_k(int(ni), int(ci), k) for ni, ci in zip(n_arr.ravel(), c_arr.ravel(), strict=True)],
                    dtype=float).reshape(n_arr.shape)


def naive_pass_at_k(n: int, c: int, k: int) -> float:
    """1 - (1 - c/n)^k: the with-replacement shortcut. Kept only to show (and test) its bias."""
    return float(1.0 - (1.0 - c / n) ** k)


def reportable_ks(ks: Iterable[int], n_per_problem: Sequence[int] | np.ndarray) -> list[int]:
    """The ks that can be reported: those where every problem has at least k attempts."""
    n_min = int(np.min(n_per_problem)) if len(n_per_problem) else 0
    return sorted({int(k) for k in ks if 1 <= int(k) <= n_min})
