"""Header figures: total steps, throughput, ETA, best eval, restart countdown."""

from __future__ import annotations

from pathlib import Path

from hrm.rundir import RunDir, RunStatus, read_jsonl
from hrm_tui.runinfo import fmt_duration, fmt_rate, header_info, steps_per_second, total_steps
from hrm_tui.store import RunStore
from tui import fake_trainer


def test_total_steps_prefers_the_started_event() -> None:
    assert total_steps({"train": {"max_steps": 50}}, [{"event": "started", "total_steps": 80}]) == 80
    assert total_steps({"train": {"max_steps": 50}}, []) == 50
    assert total_steps({"total_steps": 7}, []) == 7
    assert total_steps({"train": {"steps": "many"}}, []) is None


def test_header_of_a_running_run_has_eta_and_speed(tmp_path: Path) -> None:
    run = fake_trainer.write_run(tmp_path / "r", steps=100, total=400, t0=0.0, dt=0.5, ending="running")
    store = RunStore()
    store.add_records(read_jsonl(run.metrics))
    status = RunStatus("running", step=100)
    events = run.read_events()
    info = header_info("r", store, status, {"preset": "demo", "model": {"arch": "hrm_act"}}, events, now=55.0)
    assert info.total_steps == 400 and info.step == 100
    assert abs(steps_per_second(store) - 2.0) < 1e-9
    assert abs(info.eta_s - 150.0) < 1e-6  # 300 steps left at 2 steps/s
    assert info.progress == 0.25
    assert info.elapsed_s == 55.0
    assert info.device == "cpu float32" and info.preset == "demo" and info.arch == "hrm_act"
    assert info.eval_exact is not None and 0 <= info.eval_exact <= 1


def test_header_of_a_restarting_run_counts_down(tmp_path: Path) -> None:
    run = fake_trainer.write_run(tmp_path / "r", steps=40, t0=0.0, ending="crashed")
    sup = RunDir(run.path).read_supervisor()
    info = header_info("r", RunStore(), RunStatus("restarting"), {}, run.read_events(), now=20.0 + 2.2,
                       supervisor=sup)
    assert info.detail == "restart in 5 s, attempt 1"  # restart_at = 20 + 7
    crashed = header_info("r", RunStore(), RunStatus("crashed", last_event={"message": "boom"}), {}, [], now=0)
    assert crashed.detail == "boom"
    stale = header_info("r", RunStore(), RunStatus("stale", heartbeat_age_s=42.0), {}, [], now=0)
    assert stale.detail == "no heartbeat for 42 s"


def test_formatting() -> None:
    assert fmt_duration(None) == "-" and fmt_duration(59) == "59s" and fmt_duration(61) == "1m01s"
    assert fmt_duration(3 * 3600 + 120) == "3h02m"
    assert fmt_rate(None) == "-" and fmt_rate(12.345) == "12.3" and fmt_rate(250) == "250"
    assert fmt_rate(16_400) == "16.4k" and fmt_rate(2_500_000) == "2.5M"


def test_a_run_that_ends_by_time_shows_progress_and_eta() -> None:
    events = [{"event": "started", "t": 100.0}]
    info = header_info("r", RunStore(), RunStatus("running"), {"train": {"max_minutes": 10}}, events, now=400.0)
    assert info.total_steps is None and info.time_budget_s == 600.0
    assert info.progress == 0.5 and info.eta_s == 300.0
