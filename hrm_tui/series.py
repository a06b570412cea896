"""Pure numeric helpers behind the plots: a growable column, EMA smoothing, min/max downsampling.

They work on numpy arrays so that a plot of a 100k-step run costs about the same to draw as one of
a 1k-step run: only the few hundred points a plot can show are handed to plotext.
"""

from __future__ import annotations

import math

import numpy as np


class GrowArray:
    """A float64 column that grows by appending, with amortised O(1) appends (capacity doubles)."""

    def __init__(self, capacity: int = 256):
        self._data = np.empty(max(1, capacity), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, values: np.ndarray | list[float]) -> None:
        values = np.asarray(values, dtype=np.float64)
        need = self._n + len(values)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)), dtype=np.float64)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = values
        self._n = need

    def truncate(self, n: int) -> None:
        """Keep only the first n values."""
        self._n = max(0, min(n, self._n))

    def fill(self, count: int, value: float = math.nan) -> None:
        """Append `count` copies of `value` (a column that a batch of records did not carry)."""
        self.extend(np.full(count, value))

    @property
    def values(self) -> np.ndarray:
        """A read-only view of the filled part (no copy)."""
        view = self._data[: self._n]
        view.flags.writeable = False
        return view


def _ema_block_len(weight: float) -> int:
    # Inside a block the terms are scaled by weight**-j; keep that below 1e150 so nothing overflows.
    return max(1, min(1 << 16, int(150 / -math.log10(weight))))


def ema(values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple[np.ndarray, tuple[float, int]]:
    """Debiased exponential moving average, as TensorBoard's smoothing slider computes it.

    s_k = weight * s_(k-1) + (1 - weight) * v_k, shown as s_k / (1 - weight**k), where k counts the
    finite values seen so far. Non-finite values (NaN, inf) are skipped: the output there repeats
    the previous smoothed value (NaN before the first finite value). `state` = (biased s, k)
    continues a previous call, so a growing series is smoothed incrementally; the new state is
    returned with the smoothed values.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"EMA weight must be in [0, 1), got {weight}")
    finite = np.isfinite(values)
    v = values[finite]
    s_prev, count = state
    if weight == 0.0:
        smooth = v.copy()
        if len(v):
            s_prev, count = float(v[-1]), count + len(v)
    else:
        smooth = np.empty(len(v))
        block = _ema_block_len(weight)
        for start in range(0, len(v), block):
            chunk = v[start : start + block]
            j = np.arange(len(chunk), dtype=np.float64)
            decay = weight ** (j + 1)  # weight of s_prev in s_j
            scaled = np.cumsum(chunk * weight ** (-j))  # sum_i weight**-i v_i
            biased = decay * s_prev + (1 - weight) * weight**j * scaled
            k = count + j + 1
            smooth[start : start + len(chunk)] = biased / (1 - weight**k)
            s_prev, count = float(biased[-1]), count + len(chunk)
    # Scatter back; non-finite positions repeat the last smoothed value before them.
    idx = np.flatnonzero(finite)
    out[idx] = smooth
    if len(idx) < len(values) and len(idx):
        last = np.maximum.accumulate(np.where(finite, np.arange(len(values)), -1))
        ok = last >= 0
        out[ok] = out[last[ok]]
    if state[1] > 0 and len(values) and not finite[0]:
        # Leading non-finite values of a continued series repeat the previous output.
        lead = np.argmax(finite) if finite.any() else len(values)
        prev_s, prev_k = state
        out[:lead] = prev_s / (1 - weight**prev_k) if weight else prev_s
    return out, (s_prev, count)


def downsample_minmax(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a curve to at most about 2 * buckets points, keeping every spike visible.

    The x range is cut into `buckets` equal-width intervals; from each, the lowest and the highest
    point are kept, in their original order. The first and last points are always kept. Points
    whose x or y is not finite are dropped (NaN steps are reported as alerts, not plotted).
    `x` must be non-decreasing.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    n = len(x)
    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, got {buckets}")
    if n <= 2 * buckets + 2:
        return x, y
    span = x[-1] - x[0]
    if span <= 0:
        bucket = np.zeros(n, dtype=np.int64)
    else:
        bucket = np.minimum(((x - x[0]) / span * buckets).astype(np.int64), buckets - 1)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, n])
    seg_min = np.minimum.reduceat(y, starts)
    seg_max = np.maximum.reduceat(y, starts)
    seg_of = np.repeat(np.arange(len(starts)), counts)
    # First index in each segment where the min (max) is reached.
    min_hits = np.flatnonzero(y == np.repeat(seg_min, counts))
    max_hits = np.flatnonzero(y == np.repeat(seg_max, counts))
    i_min = min_hits[_first_of_each(seg_of[min_hits])]
    i_max = max_hits[_first_of_each(seg_of[max_hits])]
    keep = np.unique(np.concatenate([i_min, i_max, [0, n - 1]]))
    return x[keep], y[keep]


def _first_of_each(sorted_ids: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins in a sorted array."""
    return np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])


def superseded_cut(old_steps: np.ndarray, new_steps: np.ndarray) -> tuple[int, np.ndarray]:
    """After a resume or rollback the trainer writes steps it had written before; the new records
    replace the old ones. Returns how many old rows to keep and which new rows to keep (a row is
    kept when every later row has a higher step)."""
    new_steps = np.asarray(new_steps, dtype=np.float64)
    if not len(new_steps):
        return len(old_steps), np.ones(0, dtype=bool)
    later_min = np.minimum.accumulate(new_steps[::-1])[::-1]
    keep = np.ones(len(new_steps), dtype=bool)
    keep[:-1] = new_steps[:-1] < later_min[1:]
    first = float(later_min[0])
    cut = int(np.searchsorted(old_steps, first, side="left")) if len(old_steps) else 0
    return cut, keep


def window_start(x: np.ndarray, last_n: int | None) -> float | None:
    """The x value where a "last N points" zoom begins (None = show everything)."""
    if not last_n or len(x) <= last_n:
        return None
    return float(x[-last_n])
