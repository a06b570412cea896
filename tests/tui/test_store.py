"""Run store: records to columns, tables per kind, x axes, rollbacks and the EMA cache."""

from __future__ import annotations

import math

import numpy as np

from hrm_tui.store import RunStore, table_of, to_batch


def rec(step: int, **fields: object) -> dict[str, object]:
    return {"t": 1000.0 + step, "step": step, "kind": "train", **fields}


def test_to_batch_groups_kinds_and_pads_late_columns() -> None:
    batch = to_batch([
        rec(1, loss=2.0),
        rec(2, loss=1.5, routing_entropy=1.9, ok=True, note="text", lists=[1, 2]),
        {"t": 1003.0, "step": 2, "kind": "eval", "split": "test", "exact_accuracy": 0.1},
        {"t": 1004.0, "step": 2, "kind": "diag", "residual_l": [1.0, 0.5]},
        {"t": 1005.0, "step": 3, "kind": "system", "rss_gb": 1.0},
        {"t": 1006.0, "step": 3, "kind": "mystery"},
        rec(3, loss=None, pair=[1, 2]),  # a NaN the trainer wrote as null; a list is not a figure
    ])
    train = batch.columns["train"]
    assert batch.rows == {"train": 3, "eval:test": 1, "system": 1}
    assert train["loss"][:2].tolist() == [2.0, 1.5] and math.isnan(train["loss"][2])
    assert math.isnan(train["routing_entropy"][0]) and train["routing_entropy"][1] == 1.9
    assert train["ok"][1] == 1.0 and "note" not in train and "lists" not in train and "pair" not in train
    assert len(batch.diag) == 1 and batch.first_t == 1001.0 and batch.count == 7
    assert table_of({"kind": "eval"}) == "eval:test" and table_of({"kind": "diag"}) is None


def test_store_x_axes() -> None:
    store = RunStore()
    store.add_records([rec(s, examples=64 * s, loss=1.0 / s) for s in range(1, 11)])
    store.add_records([{"t": 1005.0, "step": 5, "kind": "eval", "split": "hard", "loss": 0.5, "examples": 500}])
    assert store.x("train", "step").tolist() == list(range(1, 11))
    assert store.x("train", "time")[-1] == (1010.0 - 1001.0) / 60
    # An eval record's own `examples` counts eval examples; on the examples axis it sits at the
    # training examples seen at its step.
    assert store.x("eval:hard", "examples").tolist() == [320.0]
    assert store.eval_splits == ["hard"]
    assert store.x("nothing", "step") is None


def test_rollback_replaces_rows_and_smoothing_follows() -> None:
    store = RunStore()
    store.add_records([rec(s, loss=float(s)) for s in range(1, 121)])
    smooth_before = store.smoothed("train", "loss", 0.9).copy()
    assert len(smooth_before) == 120
    store.add_records([rec(s, loss=-float(s)) for s in range(101, 106)])  # resumed from step 100
    train = store.table("train")
    assert train.rows == 105
    assert train.get("step")[-6:].tolist() == [100, 101, 102, 103, 104, 105]
    assert train.get("loss")[-1] == -105.0
    smooth = store.smoothed("train", "loss", 0.9)
    assert len(smooth) == 105
    np.testing.assert_allclose(smooth[:100], smooth_before[:100])
    assert smooth[-1] < smooth_before[99]  # computed from the new values


def test_smoothed_cache_extends_incrementally() -> None:
    store = RunStore()
    store.add_records([rec(s, loss=float(s % 7)) for s in range(1, 501)])
    first = store.smoothed("train", "loss", 0.6)
    store.add_records([rec(s, loss=float(s % 7)) for s in range(501, 1001)])
    both = store.smoothed("train", "loss", 0.6)
    fresh = RunStore()
    fresh.add_records([rec(s, loss=float(s % 7)) for s in range(1, 1001)])
    np.testing.assert_allclose(both, fresh.smoothed("train", "loss", 0.6))
    np.testing.assert_allclose(both[:500], first)
    np.testing.assert_array_equal(store.smoothed("train", "loss", 0.0), store.table("train").get("loss"))
    assert store.smoothed("train", "nope", 0.6) is None
