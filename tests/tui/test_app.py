"""Pilot tests of the dashboard against canned runs and the fake trainer / fake `hrm`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from textual.widgets import DataTable, Input, SelectionList, TabbedContent

from hrm.rundir import RunDir
from hrm_tui.launch import LaunchPlan
from hrm_tui.screens.alert_detail import AlertDetailScreen
from hrm_tui.screens.build_data import BuildDataScreen
from hrm_tui.screens.confirm import ConfirmScreen
from hrm_tui.screens.dashboard import DashboardScreen
from hrm_tui.screens.help import HelpScreen
from hrm_tui.screens.plot_filter import PlotFilterScreen
from hrm_tui.screens.quit import QuitScreen
from hrm_tui.screens.run_picker import RunPickerScreen
from hrm_tui.widgets.alerts_panel import AlertsPanel
from hrm_tui.widgets.log_tail import LogTail
from hrm_tui.widgets.metric_plot import MetricPlot
from hrm_tui.widgets.run_header import RunHeader
from hrm_tui.widgets.system_panel import SystemPanel
from tui import fake_trainer
from tui.conftest import FAKE_HRM, SMALL, T0, make_app, sync, text_of, wait_for


def dash(app) -> DashboardScreen:  # type: ignore[no-untyped-def]
    return app.dashboard


def loaded(app, steps: int) -> bool:  # type: ignore[no-untyped-def]
    d = dash(app)
    return d.store.table("train") is not None and d.store.table("train").rows == steps


@sync
async def test_replay_fills_every_panel(finished_run: Path, logs: Path) -> None:
    app = make_app(LaunchPlan(mode="replay", logs_dir=logs, run=finished_run), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: loaded(app, 300))
        d = dash(app)
        await wait_for(pilot, lambda: d.status is not None and d.query_one(RunHeader).info.state == "finished")
        info = d.query_one(RunHeader).info
        assert (info.step, info.total_steps, info.mode, info.device) == (300, 300, "replay", "cpu float32")
        assert info.elapsed_s == 150.0  # a finished run's time ends at its last event, not now
        # Both plot pages: every plot has something to draw.
        for page in ("page-training", "page-internals"):
            d.query_one(TabbedContent).active = page
            await pilot.pause(0.1)
            for plot in d.visible_plots():
                await wait_for(pilot, lambda p=plot: not p.stale)
                assert not plot._prepared.empty, plot.spec.id
        assert len(list(d.query(MetricPlot))) == 12
        alerts = d.query_one(AlertsPanel)
        assert [e["event"] for e in alerts.events][:2] == ["started", "checkpoint"]
        assert alerts.events[-1]["event"] == "finished"
        assert "fake trainer: 300 steps" in list(d.query_one(LogTail).lines)[0]
        await wait_for(pilot, lambda: d.query_one(SystemPanel).sample is not None)
        text = str(d.query_one(SystemPanel).render_panel().renderables)
        assert "NVIDIA H100" in text


@sync
async def test_attach_to_a_finished_run_replays_it(finished_run: Path, logs: Path) -> None:
    app = make_app(LaunchPlan(mode="attach", logs_dir=logs, run=finished_run), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: loaded(app, 300))
        await wait_for(pilot, lambda: dash(app).query_one(RunHeader).info.state == "finished")
        assert dash(app).run_mode == "attached"
        await pilot.press("p")  # nothing to pause: says so instead of writing a control file
        await pilot.pause(0.1)
        assert not RunDir(finished_run).control.exists()


@sync
async def test_plot_controls_and_help(finished_run: Path, logs: Path) -> None:
    app = make_app(LaunchPlan(mode="replay", logs_dir=logs, run=finished_run), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: loaded(app, 300))
        d = dash(app)
        for key in "xlez":
            await pilot.press(key)
        assert (d.view.x_axis, d.view.log_y, d.view.ema, d.view.last_n) == ("time", True, 0.6, 1000)
        assert "wall time" in str(d.query_one("#view-strip").render())
        await pilot.press("x", "x")
        assert d.view.x_axis == "step"  # cycles step -> time -> examples -> step
        await pilot.press("right_square_bracket")
        assert d.query_one(TabbedContent).active == "page-internals"
        await pilot.press("left_square_bracket")
        assert d.query_one(TabbedContent).active == "page-training"

        d.query_one("#plot-accuracy").focus()
        await pilot.press("f")
        assert d.maximized is d.query_one("#plot-accuracy")
        assert d.visible_plots() == [d.query_one("#plot-accuracy")]
        await pilot.press("f")
        assert d.maximized is None

        await pilot.press("m")
        assert isinstance(app.screen, PlotFilterScreen)
        await pilot.press(*"routing")
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        shown = {p.spec.id for p in d.query(MetricPlot) if p.display}
        assert shown == {"entropy", "heads", "routing"}
        assert "plots: 3/12" in str(d.query_one("#view-strip").render())
        await pilot.press("m")
        await pilot.click("#all")
        await pilot.click("#apply")
        assert all(p.display for p in d.query(MetricPlot))

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {b.id for b in app.screen.listed}
        assert {"dashboard.pause", "dashboard.checkpoint", "dashboard.stop", "dashboard.restart", "app.quit"} <= ids
        assert "solved completely" in text_of(app.screen.query("Static")[2])
        everywhere = text_of(app.screen.query("Static")[1])
        assert "?, f1" in everywhere and "^q" in everywhere and "question_mark" not in everywhere
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


@sync
async def test_overlay_another_run(finished_run: Path, logs: Path) -> None:
    other = fake_trainer.write_run(logs / "baseline-20231114-230000", steps=120, t0=T0)
    app = make_app(LaunchPlan(mode="replay", logs_dir=logs, run=finished_run), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: loaded(app, 300))
        await pilot.press("o")
        assert isinstance(app.screen, RunPickerScreen)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)  # the open run is not offered
        await pilot.press("enter")
        d = dash(app)
        await wait_for(pilot, lambda: bool(d.overlays))
        assert d.overlays[0][0] == other.path.name
        await wait_for(pilot, lambda: not d.query_one("#plot-loss").stale)
        labels = [i.label for i in d.query_one("#plot-loss", MetricPlot)._prepared.legend]
        assert f"train ({other.path.name})" in labels
        await pilot.press("O")
        assert d.overlays == []


@sync
async def test_crash_shows_traceback_and_restart_countdown(logs: Path) -> None:
    run = fake_trainer.write_run(logs / "crashy", steps=80, t0=T0, ending="crashed")
    app = make_app(LaunchPlan(mode="attach", logs_dir=logs, run=run.path), clock=T0 + 80 * 0.5 + 3)
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.query_one(RunHeader).info.state == "restarting")
        assert d.query_one(RunHeader).info.detail == "restart in 4 s, attempt 1"
        alerts = d.query_one(AlertsPanel)
        crashed = [e for e in alerts.events if e["event"] == "crashed"][0]
        assert "RuntimeError" in crashed["traceback"]
        alerts.focus()
        await pilot.press("home", "enter")
        assert isinstance(app.screen, AlertDetailScreen)
        text = " ".join(text_of(s) for s in app.screen.query("Static"))
        assert "hrm/models/hrm_act.py" in text and "restarts from the last checkpoint" in text
        await pilot.press("escape")


@pytest.fixture
def live(logs: Path):  # type: ignore[no-untyped-def]
    """A fake trainer started elsewhere (as `hrm train` in another terminal would be)."""
    proc = subprocess.Popen([*FAKE_HRM, "train", "cfg.yaml", "fake.steps=100000", "fake.rate=40", "--supervise",
                             "--run-id", "elsewhere", "--logs-dir", str(logs)], stdout=subprocess.DEVNULL)
    yield proc, RunDir(logs / "elsewhere")
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@sync
async def test_bindings_pause_checkpoint_stop_reach_an_attached_trainer(live, logs: Path) -> None:  # type: ignore[no-untyped-def]
    proc, run = live
    app = make_app(LaunchPlan(mode="attach", logs_dir=logs, run=run.path))
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        await pilot.press("p")
        assert run.read_control()["pause"] is True
        await wait_for(pilot, lambda: d.status.state == "paused")
        await pilot.press("p")
        assert run.read_control()["pause"] is False
        await wait_for(pilot, lambda: d.status.state == "running")
        checkpoints = sum(e.get("event") == "checkpoint" for e in run.read_events())
        await pilot.press("c")  # SIGUSR1
        await wait_for(pilot, lambda: sum(e.get("event") == "checkpoint" for e in run.read_events()) > checkpoints)
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")  # SIGTERM
        assert proc.wait(timeout=10) == 0
        await wait_for(pilot, lambda: d.status.state == "stopped")
        await pilot.press("q")  # nothing of ours is running: quits without asking


@sync
async def test_live_demo_builds_data_trains_and_asks_on_quit(logs: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(yaml.safe_dump({"name": "demo", "data": {"path": "data/demo", "build": "sudoku --out data/demo"}}))
    plan = LaunchPlan(mode="config", logs_dir=logs, config=str(cfg), overrides=["fake.steps=100000", "fake.rate=40"],
                      run_name="demo", data_path=Path("data/demo"), data_build="sudoku --out data/demo")
    app = make_app(plan)
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildDataScreen) or d.run is not None)
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and d.run is not None, timeout=20)
        assert (tmp_path / "data" / "demo" / "train" / "dataset.json").is_file()
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        await wait_for(pilot, lambda: d.store.table("train") is not None and d.store.table("train").rows > 5)
        assert d.run.run_id.startswith("demo-") and d.run_mode == "live"
        assert any("hrm train" in line for line in list(d.query_one(LogTail).lines))
        proc = d.launched
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")
        await pilot.press("s")
        assert proc.wait(timeout=10) == 0
    assert "stopped" in app.exit_note
    assert [e["event"] for e in d.run.read_events()][-1] == "stopped"


@sync
async def test_declining_the_build_says_what_to_do(logs: Path, tmp_path: Path) -> None:
    plan = LaunchPlan(mode="demo", logs_dir=logs, config="demo.yaml", run_name="demo", data_path=Path("data/x"),
                      data_build="sudoku --out data/x")
    app = make_app(plan)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        alerts = dash(app).query_one(AlertsPanel)
        assert "data/x is missing" in alerts.events[-1]["message"]
        assert "hrm build-data sudoku --out data/x" in alerts.events[-1]["hint"]
        assert dash(app).query_one(RunHeader).info.state == "failed"


@sync
async def test_a_failing_hrm_train_shows_its_error(logs: Path, tmp_path: Path) -> None:
    plan = LaunchPlan(mode="config", logs_dir=logs, config="bad.yaml", overrides=["fake.fail=config"], run_name="bad")
    app = make_app(plan)
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.launch_failed is not None)
        await wait_for(pilot, lambda: d.query_one(RunHeader).info.state == "failed")
        alert = d.query_one(AlertsPanel).events[-1]
        assert alert["event"] == "hrm train failed" and alert["message"] == "- train.lr: must be > 0"
        assert "1 problem(s) in the config" in "\n".join(list(d.query_one(LogTail).lines))


@sync
async def test_restart_resumes_a_stopped_run(logs: Path) -> None:
    run = fake_trainer.write_run(logs / "again", steps=60, t0=T0, ending="stopped")
    (run.checkpoints / "step_50.json").write_text('{"step": 50}')
    app = make_app(LaunchPlan(mode="replay", logs_dir=logs, run=run.path))
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "stopped")
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        assert d.run_mode == "live" and d.launched is not None
        await wait_for(pilot, lambda: d.store.table("train") is not None and d.store.last["train"]["step"] > 60)
        # Steps 51..60 were redone after the resume: the plot keeps the new ones only.
        steps = d.store.table("train").get("step")
        assert list(steps[:60]) == list(range(1, 61)) and (steps[1:] > steps[:-1]).all()
        os.kill(d.launched.pid, signal.SIGTERM)
        assert d.launched.wait(timeout=10) == 0


@sync
async def test_runs_screen_open_and_delete(finished_run: Path, logs: Path) -> None:
    other = fake_trainer.write_run(logs / "old-20200101-000000", steps=20, t0=T0 - 10_000)
    os.utime(other.config, (T0 - 10_000, T0 - 10_000))
    app = make_app(LaunchPlan(mode="none", logs_dir=logs), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        assert dash(app).query_one(RunHeader).info.state == "waiting"
        await pilot.press("2")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert table.get_row_at(0)[0] == finished_run.name  # newest first
        await pilot.press("down", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not other.path.exists() and table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: loaded(app, 300))
        assert dash(app).run_mode == "replay"


@sync
async def test_environment_runs_doctor_and_applies_a_fix(logs: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HRM_DATA", "data/fake-sudoku")
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("3")
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 5)
        assert "1 ok" not in str(screen.query_one("#env-status").render())
        assert "(f: fix)" in str(table.get_row_at(4)[3])
        table.move_cursor(row=4)
        await pilot.pause()
        shown = str(screen.query_one("#env-hint").render())  # the whole hint, however narrow the table
        assert "hint: " in shown and "hrm build-data" in shown
        await pilot.press("f")
        assert isinstance(app.screen, BuildDataScreen)
        await wait_for(pilot, lambda: app.screen is screen, timeout=20)
        await wait_for(pilot, lambda: table.row_count == 5 and "ok" in str(table.get_row_at(4)[0]))
        assert (tmp_path / "data" / "fake-sudoku" / "hrm.json").is_file()
        table.move_cursor(row=0)
        await pilot.press("f")  # python is fine: nothing to fix
        assert app.screen is screen


@sync
async def test_environment_shows_a_doctor_that_fails(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HRM_DOCTOR", "crash")
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("3")
        status = app.screen.query_one("#env-status")
        await wait_for(pilot, lambda: "did not report" in str(status.render()))
        assert "No module named 'hrm.data'" in str(status.render())


@sync
async def test_data_wizard_builds_with_progress(logs: Path, tmp_path: Path) -> None:
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        screen = app.screen
        screen.query_one("#data-out", Input).value = "data/wizard"
        screen.query_one("#data-options", Input).value = "--seed 3"
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "Usage: hrm build-data sudoku" in str(screen.query_one("#data-help-text").render()))
        await pilot.press("ctrl+b")
        progress = screen.query_one("#data-progress")
        await wait_for(pilot, lambda: not progress.running and progress.summary is not None)
        assert progress.summary["train"] == 1000
        assert "built" in str(progress.query_one(".build-stage").render())
        assert json.loads((tmp_path / "data" / "wizard" / "hrm.json").read_text())["options"][:2] == ["--seed", "3"]


@sync
async def test_data_wizard_reports_a_failed_build(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HRM_BUILD", "fail")
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        await pilot.click("#data-build")
        progress = app.screen.query_one("#data-progress")
        await wait_for(pilot, lambda: not progress.running and "failed" in str(progress.query_one(".build-stage").render()))
        assert "pass --force" in str(progress.query_one(".build-stage").render())


async def compare_with_all_runs(pilot, count: int):  # type: ignore[no-untyped-def]
    """Open the Compare screen and pick every run in logs/."""
    await pilot.press("5")
    screen = pilot.app.screen
    runs = screen.query_one(SelectionList)
    await wait_for(pilot, lambda: runs.option_count == count)
    runs.select_all()
    await pilot.pause()
    return screen


@sync
async def test_compare_wizard_runs_and_loads_results(finished_run: Path, logs: Path, tmp_path: Path) -> None:
    gpt2 = fake_trainer.write_run(logs / "gpt2-20231114-230000", steps=50, t0=T0)
    cfg = yaml.safe_load(gpt2.config.read_text())
    gpt2.config.write_text(yaml.safe_dump({**cfg, "model": {"arch": "gpt2"}}))
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        screen = await compare_with_all_runs(pilot, 2)
        assert screen.picked_models() == {"hrm_act": [str(finished_run)], "gpt2": [str(gpt2.path)]}
        screen.query_one("#compare-ks").value = "1, 5"
        await pilot.press("ctrl+r")
        models = screen.query_one("#compare-models", DataTable)
        await wait_for(pilot, lambda: models.row_count == 2)
        assert [str(c.label) for c in models.columns.values()][-2:] == ["Pass@1", "Pass@5"]
        assert screen.query_one("#compare-stats", DataTable).row_count == 1
        assert "gate passed" in str(screen.query_one("#compare-status").render())
        assert screen.chart_k == 1
        await pilot.press("ctrl+k")
        assert screen.chart_k == 5
        results = next((logs / ".tui").glob("compare-*/results.json"))
        screen.query_one("#compare-path", Input).value = str(results)
        await pilot.press("ctrl+l")
        assert "results.json" in str(screen.query_one("#compare-status").render())
        bad = tmp_path / "bad.json"
        bad.write_text('{"ks": [1]}')
        screen.query_one("#compare-path", Input).value = str(bad)
        await pilot.press("ctrl+l")
        assert "no 'models'" in str(screen.query_one("#compare-status").render())


@sync
async def test_compare_needs_two_models_and_sane_k(finished_run: Path, logs: Path) -> None:
    fake_trainer.write_run(logs / "again-20231114-230000", steps=5)  # a second seed of the same arch
    app = make_app(LaunchPlan(mode="none", logs_dir=logs))
    async with app.run_test(size=SMALL) as pilot:
        screen = await compare_with_all_runs(pilot, 2)
        await pilot.press("ctrl+r")
        assert not screen.running  # two runs, but one model (hrm_act with two seeds)
        screen.query_one("#compare-extra", Input).value = "--config gpt2=gpt2_small"
        screen.query_one("#compare-ks").value = "1,16"
        await pilot.press("ctrl+r")
        assert not screen.running  # 16 > 8 samples per puzzle


def test_keymap_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hrm_tui.app import load_keymap

    keys = tmp_path / "keys.yaml"
    keys.write_text("dashboard.pause: space\napp.help: f2\n")
    monkeypatch.setenv("HRM_TUI_KEYMAP", str(keys))
    assert load_keymap() == {"dashboard.pause": "space", "app.help": "f2"}
    keys.write_text("- not a mapping\n")
    assert load_keymap() == {}
    monkeypatch.setenv("HRM_TUI_KEYMAP", str(tmp_path / "missing.yaml"))
    assert load_keymap() == {}


@sync
async def test_remapped_key_and_command_palette(live, logs: Path) -> None:  # type: ignore[no-untyped-def]
    _, run = live
    app = make_app(LaunchPlan(mode="attach", logs_dir=logs, run=run.path), keymap={"dashboard.pause": "space"})
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        await pilot.press("space")
        assert run.read_control()["pause"] is True
        titles = [c.title for c in app.get_system_commands(d)]
        assert {"Pause/resume", "Checkpoint", "Go to Runs", "Go to Compare"} <= set(titles)
        await pilot.press("space")
        assert run.read_control()["pause"] is False


@sync
async def test_full_log_and_overlay_from_the_runs_screen(finished_run: Path, logs: Path) -> None:
    other = fake_trainer.write_run(logs / "older-20231101-000000", steps=30, t0=T0 - 5000)
    os.utime(other.config, (T0 - 5000, T0 - 5000))
    app = make_app(LaunchPlan(mode="replay", logs_dir=logs, run=finished_run), clock=T0 + 1000)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: loaded(app, 300))
        await pilot.press("L")
        from textual.widgets import Log

        from hrm_tui.screens.log_viewer import LogViewerScreen

        assert isinstance(app.screen, LogViewerScreen)
        assert app.screen.query_one(Log).lines[-1] == "step 300: loss 0.1782"
        await pilot.press("escape")
        await pilot.press("r")  # the run list
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=1)
        await pilot.press("o")
        d = dash(app)
        await wait_for(pilot, lambda: app.screen is d and bool(d.overlays))
        assert d.overlays[0][0] == other.path.name


@sync
async def test_restart_of_a_live_run_stops_it_first(live, logs: Path) -> None:  # type: ignore[no-untyped-def]
    proc, run = live
    app = make_app(LaunchPlan(mode="attach", logs_dir=logs, run=run.path))
    async with app.run_test(size=SMALL) as pilot:
        d = dash(app)
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        await pilot.press("R", "y")
        assert proc.wait(timeout=10) == 0  # stopped with a checkpoint ...
        await wait_for(pilot, lambda: d.launched is not None)  # ... then resumed by `hrm train --resume`
        await wait_for(pilot, lambda: d.status is not None and d.status.state == "running")
        events = [e["event"] for e in run.read_events()]
        assert "stopped" in events and events[-1] in ("started", "checkpoint")
        os.kill(d.launched.pid, signal.SIGTERM)
        assert d.launched.wait(timeout=10) == 0


@sync
async def test_a_second_demo_offers_to_watch_the_one_still_training(logs: Path) -> None:
    proc = subprocess.Popen([*FAKE_HRM, "train", "demo.yaml", "fake.steps=100000", "fake.rate=20", "--supervise",
                             "--run-id", "demo-20240101-000000", "--logs-dir", str(logs)], stdout=subprocess.DEVNULL)
    try:
        run = RunDir(logs / "demo-20240101-000000")
        deadline = time.monotonic() + 15
        while not run.heartbeat.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        plan = LaunchPlan(mode="demo", logs_dir=logs, config="demo.yaml", run_name="demo")
        app = make_app(plan)
        async with app.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            d = dash(app)
            assert d.run is not None and d.run.run_id == "demo-20240101-000000" and d.run_mode == "attached"
            assert d.launched is None and not d.started
    finally:
        proc.kill()
        proc.wait()
