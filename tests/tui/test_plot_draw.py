"""What each plot draws from a canned run, and that plotext accepts it."""

from __future__ import annotations

import numpy as np
import pytest
from textual_plotext.plot import Plot

from hrm.rundir import read_jsonl
from hrm_tui.plot_draw import (
    PlotView,
    blend,
    fmt_value,
    mean_alpha_per_head,
    nice_ticks,
    paint,
    prepare,
    tick_label,
)
from hrm_tui.plot_specs import PLOTS, PLOTS_BY_ID
from hrm_tui.store import RunStore
from tui import fake_trainer


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    run = fake_trainer.write_run(tmp_path_factory.mktemp("r") / "run", steps=300)
    s = RunStore()
    s.add_records(read_jsonl(run.metrics))
    return s


@pytest.mark.parametrize("spec", PLOTS, ids=lambda p: p.id)
def test_every_plot_has_data_from_a_full_run(spec, store: RunStore) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare(spec, [("main", store)], PlotView(), width=60)
    assert not prepared.empty, prepared.message
    assert prepared.legend
    plt = Plot()
    plt.plotsize(60, 16)
    plt._set_size(60, 16)
    paint(plt, prepared, 60)
    assert len(plt.build().splitlines()) == 16


def test_percent_scale_window_and_log(store: RunStore) -> None:
    acc = prepare(PLOTS_BY_ID["accuracy"], [("main", store)], PlotView(), 60)
    assert max(line.y.max() for line in acc.lines) > 90  # fractions shown as percent
    zoomed = prepare(PLOTS_BY_ID["loss"], [("main", store)], PlotView(last_n=50), 60)
    assert min(line.x.min() for line in zoomed.lines) == 251
    logged = prepare(PLOTS_BY_ID["optim"], [("main", store)], PlotView(log_y=True), 60)
    assert logged.log_left and logged.log_right
    assert all(line.y.min() > 0 for line in logged.lines)  # lr is 0 at the end: dropped on a log axis
    not_logged = prepare(PLOTS_BY_ID["accuracy"], [("main", store)], PlotView(log_y=True), 60)
    assert not not_logged.log_left  # log-y does not apply to percentages


def test_ema_draws_raw_faint_then_smoothed(store: RunStore) -> None:
    prepared = prepare(PLOTS_BY_ID["loss"], [("main", store)], PlotView(ema=0.9), 60, background=(0, 0, 0))
    train = [line for line in prepared.lines if line.color in (blend((86, 180, 233), (0, 0, 0), 0.65), (86, 180, 233))]
    assert [line.color for line in train] == [blend((86, 180, 233), (0, 0, 0), 0.65), (86, 180, 233)]
    raw, smooth = train
    assert np.std(np.diff(smooth.y)) < np.std(np.diff(raw.y))


def test_overlay_series_are_labelled_and_faded(store: RunStore) -> None:
    prepared = prepare(PLOTS_BY_ID["loss"], [("main", store), ("other-run", store)], PlotView(), 60)
    labels = [item.label for item in prepared.legend]
    assert "train" in labels and "train (other-run)" in labels
    assert len({line.color for line in prepared.lines}) == 6


def test_empty_plots_say_why() -> None:
    empty = RunStore()
    assert prepare(PLOTS_BY_ID["loss"], [("main", empty)], PlotView(), 60).message.startswith("waiting")
    no_routing = RunStore()
    no_routing.add_records([{"t": 1.0, "step": 1, "kind": "train", "loss": 1.0}])
    assert "no routing_entropy" in prepare(PLOTS_BY_ID["entropy"], [("m", no_routing)], PlotView(), 60).message
    assert "does not route" in prepare(PLOTS_BY_ID["routing"], [("m", no_routing)], PlotView(), 60).message
    assert "no convergence" in prepare(PLOTS_BY_ID["residuals"], [("m", no_routing)], PlotView(), 60).message


def test_mean_alpha_per_head_fills_missing_heads() -> None:
    samples = [{"heads": [0, 2], "alphas": [0.25, 0.75]}, {"heads": [2, 3], "alphas": [0.5, 0.5]},
               {"heads": [1], "alphas": []}]  # malformed: skipped
    assert mean_alpha_per_head(samples) == {0: 0.125, 1: 0.0, 2: 0.625, 3: 0.25}
    assert mean_alpha_per_head([]) == {}


def test_ticks_and_values() -> None:
    assert nice_ticks(1, 300, 4) == [100, 200, 300]
    assert nice_ticks(1, 8, 4) == [2, 4, 6, 8]
    assert nice_ticks(5, 5, 4) == [5]
    assert tick_label(120_000) == "120k" and tick_label(3_000_000) == "3M" and tick_label(0.5) == "0.5"
    assert fmt_value(0.5, "%") == "0.5%" and fmt_value(16_364.7) == "16.4k" and fmt_value(2e-4) == "2.00e-04"
    assert fmt_value(None) == "-" and fmt_value(float("nan")) == "nan"


def test_spread_is_a_faint_band_around_its_base(store: RunStore) -> None:
    prepared = prepare(PLOTS_BY_ID["entropy"], [("main", store)], PlotView(), 60, background=(0, 0, 0))
    faint = blend((86, 180, 233), (0, 0, 0), 0.6)
    upper, lower = [line for line in prepared.lines if line.color == faint]
    entropy = next(line for line in prepared.lines if line.color == (86, 180, 233))
    assert upper.y.max() > entropy.y.max() and lower.y.min() < entropy.y.min()
    assert "± std" in [item.label for item in prepared.legend]
