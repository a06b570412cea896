"""Snapshot tests (pytest-textual-snapshot): fixed terminal size, canned runs with fixed times, a
fixed clock and an injected system sample, relative paths. Update with `--snapshot-update` after
checking the new pictures (snapshot_report.html shows the differences)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from textual.widgets import DataTable, Input, SelectionList

from hrm_tui.launch import LaunchPlan
from hrm_tui.widgets.metric_plot import MetricPlot
from hrm_tui.widgets.run_header import RunHeader
from tui import fake_trainer
from tui.conftest import SIZE, T0, make_app, wait_for
from tui.test_compare_results import RESULTS

LOGS = Path("logs")  # relative: the tests run inside their tmp folder, so no path varies


def canned(name: str = "sudoku_demo_cpu-20231114-221320", **kwargs: object) -> Path:
    run = fake_trainer.write_run(LOGS / name, t0=T0, **kwargs)  # type: ignore[arg-type]
    os.utime(run.config, (T0, T0))
    return run.path


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until the dashboard read its run and every visible plot is drawn."""
    d = pilot.app.dashboard
    await wait_for(pilot, lambda: d.status is not None and d.store.records > 0)
    d._redraw(force=True)
    await wait_for(pilot, lambda: all(not p.stale for p in d.visible_plots()))
    await pilot.pause(0.1)


def replay_app(run: Path, clock: float = T0 + 1000):  # type: ignore[no-untyped-def]
    return make_app(LaunchPlan(mode="replay", logs_dir=LOGS, run=run), clock=clock, redraw_interval=3600.0)


def test_dashboard_training_page(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(replay_app(canned(steps=300)), terminal_size=SIZE, run_before=settle)


def test_dashboard_internals_page(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)

    assert snap_compare(replay_app(canned(steps=300)), terminal_size=SIZE, run_before=run_before)


def test_dashboard_smoothed_log_zoomed(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("e", "e", "l", "z")  # EMA 0.9 with raw faint behind, log-y, last 1000
        await settle(pilot)

    assert snap_compare(replay_app(canned(steps=1500)), terminal_size=SIZE, run_before=run_before)


def test_dashboard_crash_with_restart_countdown(snap_compare) -> None:  # type: ignore[no-untyped-def]
    run = canned("crashy-20231114-221320", steps=80, ending="crashed")

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await wait_for(pilot, lambda: pilot.app.dashboard.query_one(RunHeader).info.state == "restarting")

    app = make_app(LaunchPlan(mode="attach", logs_dir=LOGS, run=run), clock=T0 + 40 + 3, redraw_interval=3600.0)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(replay_app(canned(steps=50)), terminal_size=(120, 40), run_before=run_before)


def test_runs_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    canned(steps=300)
    old = fake_trainer.write_run(LOGS / "baseline-20231110-080000", steps=40, t0=T0 - 86_400, ending="stopped")
    os.utime(old.config, (T0 - 86_400, T0 - 86_400))

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("2")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(DataTable).row_count == 2)

    app = make_app(LaunchPlan(mode="none", logs_dir=LOGS), clock=T0 + 1000)
    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


def test_environment_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("3")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(DataTable).row_count == 5)

    app = make_app(LaunchPlan(mode="none", logs_dir=LOGS), clock=T0)
    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


def test_data_screen_after_a_build(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("4")
        screen = pilot.app.screen
        screen.query_one("#data-out", Input).value = "data/wizard"
        await pilot.press("ctrl+b")
        progress = screen.query_one("#data-progress")
        await wait_for(pilot, lambda: not progress.running and progress.summary is not None)
        screen.set_focus(None)

    app = make_app(LaunchPlan(mode="none", logs_dir=LOGS), clock=T0)
    assert snap_compare(app, terminal_size=(140, 40), run_before=run_before)


def test_compare_results(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    canned(steps=30)
    Path("results.json").write_text(json.dumps(RESULTS))

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("5")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query_one(SelectionList).option_count == 1)
        screen.query_one("#compare-path", Input).value = "results.json"
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: screen.query_one("#compare-models", DataTable).row_count == 2)
        screen.set_focus(None)
        await pilot.pause(0.2)

    app = make_app(LaunchPlan(mode="none", logs_dir=LOGS), clock=T0)
    assert snap_compare(app, terminal_size=(150, 44), run_before=run_before)


def test_a_plot_filling_the_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        d = pilot.app.dashboard
        d.query_one("#plot-accuracy", MetricPlot).focus()
        await pilot.press("f")
        await settle(pilot)

    assert snap_compare(replay_app(canned(steps=300)), terminal_size=(100, 30), run_before=run_before)
