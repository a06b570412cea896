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
    log_ticks,
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


def test_log_ticks_are_round_and_few() -> None:
    assert log_ticks(0.3, 40, 20) == [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    assert log_ticks(1e-6, 10, 10) == [1e-06, 1e-4, 1e-2, 1.0]  # many decades: every other power
    assert log_ticks(2.2, 2.76, 10) == [2.2, 2.76]  # no round value inside: the ends
    assert log_ticks(100.0, 100.0, 10) == [100.0]  # a flat series: no 99.99999999999994
    assert log_ticks(0.0, 1.0, 10) == []


def test_log_axis_labels_stay_short() -> None:
    """A flat percentage on the right of a log plot used to get 17-character tick labels."""
    from hrm_tui.plot_draw import Line, Prepared

    x = np.arange(1.0, 41.0)
    halt_acc = np.full(40, 100.0)
    halt_acc[::3] = 99.99999999999994  # a mean of ones, as the trainer logs it
    for log in (True, False):
        prepared = Prepared(lines=[Line(x, np.geomspace(6e-3, 5e-5, 40), (255, 0, 0)),
                                   Line(x, halt_acc, (0, 0, 255), yside="right")],
                            log_left=log, log_right=log)
        plt = Plot()
        plt.plotsize(60, 16)
        plt._set_size(60, 16)
        paint(plt, prepared, 60, 16)
        text = plt.build()
        assert "9999" not in text and "0000000" not in text
        assert "100" in text


def test_legend_keeps_each_label_with_its_value() -> None:
    from hrm_tui.plot_draw import LegendItem, Prepared
    from hrm_tui.widgets.metric_plot import MetricPlot

    plot = MetricPlot(PLOTS_BY_ID["loss"])
    plot._prepared = Prepared(legend=[LegendItem("train", (0, 0, 255), "2.202"), LegendItem("eval", (0, 0, 0), "2.2"),
                                      LegendItem("LM part", (0, 255, 0), "2.201")])
    lines = plot.legend(36).plain.splitlines()
    assert lines == ["━ train 2.202  ━ eval 2.2", "━ LM part 2.201"]
    assert plot.legend(80).plain.count("\n") == 0


def test_one_or_two_points_are_dots_not_a_row_of_them() -> None:
    from hrm_tui.plot_draw import Line, Prepared

    prepared = Prepared(lines=[Line(np.array([50.0, 100.0]), np.array([1.0, 1.0]), (255, 0, 0))])
    plt = Plot()
    plt.plotsize(60, 10)
    plt._set_size(60, 10)
    paint(plt, prepared, 60, 10)
    assert plt.build().count("●") == 2
