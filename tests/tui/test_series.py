"""Downsampling, EMA and the rollback rule: the numeric core of the plots."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrm_tui.series import GrowArray, downsample_minmax, ema, superseded_cut, window_start


def naive_ema(values: list[float], weight: float) -> list[float]:
    s, k, last, out = 0.0, 0, math.nan, []
    for v in values:
        if math.isfinite(v):
            s = weight * s + (1 - weight) * v
            k += 1
            last = s / (1 - weight**k)
        out.append(last)
    return out


def test_growarray_appends_fills_and_truncates() -> None:
    col = GrowArray(capacity=2)
    col.extend([1.0, 2.0, 3.0])
    col.fill(2)
    col.extend(np.arange(1000.0))
    assert len(col) == 1005
    assert col.values[:3].tolist() == [1.0, 2.0, 3.0]
    assert np.isnan(col.values[3:5]).all()
    col.truncate(2)
    assert col.values.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        col.values[0] = 5.0  # views handed to plots are read-only


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_the_definition_with_gaps(weight: float) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000).cumsum()
    values[[0, 7, 100, 4999]] = [np.nan, np.inf, np.nan, np.nan]
    got, _ = ema(values, weight)
    want = np.array(naive_ema(values.tolist(), weight))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-9, atol=1e-9)


def test_ema_continues_from_state_exactly() -> None:
    values = np.sin(np.arange(3000) / 50.0) + np.arange(3000) * 1e-3
    values[1500:1503] = np.nan  # a gap right at the split
    whole, _ = ema(values, 0.95)
    first, state = ema(values[:1500], 0.95)
    second, _ = ema(values[1500:], 0.95, state)
    np.testing.assert_allclose(np.r_[first, second], whole, rtol=1e-12)


def test_ema_rejects_bad_weight() -> None:
    with pytest.raises(ValueError):
        ema(np.ones(3), 1.0)


def test_downsample_keeps_spikes_and_bounds_points() -> None:
    x = np.arange(100_000, dtype=float)
    y = np.zeros_like(x)
    y[31_337], y[77_777] = 50.0, -40.0
    dx, dy = downsample_minmax(x, y, 60)
    assert len(dx) <= 2 * 60 + 2
    assert dy.max() == 50.0 and dy.min() == -40.0
    assert 31_337 in dx and 77_777 in dx
    assert dx[0] == 0 and dx[-1] == 99_999  # first and last points stay
    assert np.all(np.diff(dx) > 0)  # still in x order


def test_downsample_min_max_per_bucket_equals_brute_force() -> None:
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 10, size=2000))
    y = rng.normal(size=2000)
    dx, dy = downsample_minmax(x, y, 20)
    bucket = np.minimum(((x - x[0]) / (x[-1] - x[0]) * 20).astype(int), 19)
    for b in range(20):
        in_b = bucket == b
        chosen = dy[(dx >= x[in_b][0]) & (dx <= x[in_b][-1])]
        assert chosen.max() == y[in_b].max() and chosen.min() == y[in_b].min()


def test_downsample_passes_small_series_and_drops_non_finite() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, np.nan, 3.0, np.inf])
    dx, dy = downsample_minmax(x, y, 10)
    assert dx.tolist() == [1.0, 3.0] and dy.tolist() == [1.0, 3.0]
    dx, dy = downsample_minmax(np.full(500, 7.0), np.arange(500.0), 10)  # no x span at all
    assert dy.min() == 0 and dy.max() == 499
    with pytest.raises(ValueError):
        downsample_minmax(x, y, 0)


def test_superseded_rows_after_resume_or_rollback() -> None:
    cut, keep = superseded_cut(np.arange(1, 121.0), np.array([101.0, 102.0]))
    assert cut == 100 and keep.all()
    cut, keep = superseded_cut(np.arange(1, 11.0), np.array([11.0, 12.0, 5.0, 6.0]))
    assert cut == 4 and keep.tolist() == [False, False, True, True]
    cut, keep = superseded_cut(np.arange(1, 11.0), np.array([11.0, 12.0]))
    assert cut == 10 and keep.all()


def test_window_start() -> None:
    x = np.arange(10.0)
    assert window_start(x, None) is None
    assert window_start(x, 20) is None
    assert window_start(x, 3) == 7.0
