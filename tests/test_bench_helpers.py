"""The pure parts of the benchmark scripts: reading figures out of run records and the summary table."""

from __future__ import annotations

import pytest

from bench.summary import Row, runs_line, summary_rows, to_markdown
from bench.time_to_accuracy import best_eval, crossings, describe
from bench.tui import overhead, phase_order, phase_rate

START = 1000.0


def evals(*figures: tuple[float, int, float]) -> list[dict]:
    """eval records from (seconds after START, step, exact_accuracy)."""
    return [{"t": START + s, "step": step, "kind": "eval", "exact_accuracy": exact} for s, step, exact in figures]


def test_crossings_take_the_first_record_at_or_above_each_threshold():
    records = evals((60, 50, 0.2), (120, 100, 0.5), (180, 150, 0.4), (240, 200, 0.95))
    hits = crossings(records, START, (0.5, 0.9, 0.99))
    assert hits["50"] == {"minutes": 2.0, "step": 100, "exact_accuracy": 0.5}
    assert hits["90"] == {"minutes": 4.0, "step": 200, "exact_accuracy": 0.95}
    assert hits["99"] is None


def test_best_eval_is_the_earliest_highest_and_none_without_figures():
    records = evals((60, 50, 0.7), (120, 100, 0.3), (180, 150, 0.7))
    assert best_eval(records, START) == {"minutes": 1.0, "step": 50, "exact_accuracy": 0.7}
    assert best_eval([{"t": START, "step": 1, "kind": "eval"}], START) is None


def test_describe_reports_the_time_or_what_was_reached():
    records = evals((90, 50, 0.6), (300, 200, 0.71))
    result = {"crossings": crossings(records, START), "best": best_eval(records, START), "wall_minutes": 10.04}
    assert describe(result, 0.5) == "1.5 min (step 50)"
    assert describe(result, 0.9) == "not reached in 10.0 min (best 71.0% at 5.0 min)"
    assert describe({**result, "crossings": {"90": None}, "best": None}, 0.9) == "not reached in 10.0 min (no evaluation)"


def train(t: float, step: int, examples: int) -> dict:
    return {"t": t, "step": step, "kind": "train", "examples": examples}


def test_phase_rate_uses_the_records_inside_the_interval():
    records = [train(0, 0, 0), train(10, 100, 6400), train(20, 300, 12800), train(30, 500, 19200),
               {"t": 25, "step": 400, "kind": "eval"}, train(40, 1000, 40000)]
    rate = phase_rate(records, 5, 35)
    assert rate == {"steps_per_s": 20.0, "examples_per_s": 640.0, "seconds": 20}
    assert phase_rate(records, 11, 29) is None  # one record inside


def test_overhead_compares_mean_step_rates_without_and_with_the_dashboard():
    phases = [
        {"dashboard": False, "rate": {"steps_per_s": 10.0, "examples_per_s": 100.0}},
        {"dashboard": True, "rate": {"steps_per_s": 9.0, "examples_per_s": 95.0}},
        {"dashboard": False, "rate": {"steps_per_s": 12.0, "examples_per_s": 120.0}},
        {"dashboard": True, "rate": None},
    ]
    result = overhead(phases)
    assert result is not None
    assert result["steps_per_s_without"] == 11.0 and result["steps_per_s_with"] == 9.0
    assert result["overhead"] == pytest.approx(1 - 9 / 11)
    assert result["examples_per_s_with"] == 95.0
    assert overhead(phases[:1]) is None  # no phase with the dashboard


def test_phases_alternate_abba():
    assert phase_order(1) == [False, True]
    assert phase_order(3) == [False, True, True, False, False, True]


def speed_row(preset: str, examples_per_s: float, mfu: float) -> dict:
    return {"preset": preset, "params": 27_270_000, "batch": 32, "examples_per_s": examples_per_s,
            "tokens_per_s": examples_per_s * 81, "model_gflop_s": 80 * mfu / 0.88, "mfu": mfu, "mfu_step": mfu - 0.05,
            "matmul_gflop_s_before_after": [88.0, 90.9]}


def test_summary_checks_targets_and_says_when_no_gpu_was_measured():
    results = {
        "model_speed": {"device": "cpu", "dtype": "float32", "auto_dtype": "float32", "cpu_native_bf16": False,
                        "matmul_gflop_s": {"float32": 90.0, "bfloat16": 6.0},
                        "rows": [speed_row("paper", 2.0, 0.80), speed_row("paper-trm", 3.2, 0.81)]},
        "data_build": {
            "generation": [{"difficulty": "easy", "puzzles_per_s": 480.0}],
            "hardness": {"hard_mean_rating": 18.0, "baseline_mean_rating": 0.5},
            "augmentation": {"puzzles": 1000, "augmentations": 1000, "examples": 1_001_000, "vectorised_s": 2.0,
                             "per_puzzle_loop_s": 70.0, "speedup": 35.0, "whole_build_s": 9.0},
        },
    }
    rows = summary_rows(results)
    by_figure = {(r.area.split(" (")[0], r.figure): r for r in rows}
    mfu = by_figure[("training, paper preset", "model FLOP/s in forward + backward vs plain matmul (MFU)")]
    assert mfu.met is False and "= 80% (75% with the optimizer step)" in mfu.value
    assert by_figure[("training, paper-trm preset", "model FLOP/s in forward + backward vs plain matmul (MFU)")].met is None
    ratio = by_figure[("training, paper preset", "examples/s, act_continue false vs true")]
    assert ratio.value == "1.60x" and ratio.met is True
    assert by_figure[("dtype", "train.dtype auto picks")].met is True
    assert any(r.area == "training on a GPU" and "not measured" in r.value for r in rows)
    assert [r.met for r in rows if r.figure.startswith("augmentation")] == [True]
    assert rows[0].area == "dataset build"  # in the order of the benchmarks
    assert not any("GPU" in r.area for r in summary_rows({"data_build": results["data_build"]}))


def test_markdown_writes_each_area_once_and_marks_missed_targets():
    rows = [Row("a", "x", "1"), Row("a", "y", "2", ">= 3", False), Row("b", "z", "3", "< 4", True)]
    lines = to_markdown(rows).splitlines()
    assert lines[:2] == ["| area | figure | measured | target |", "|---|---|---|---|"]
    assert lines[2] == "| a | x | 1 |  |"
    assert lines[3] == "|  | y | 2 | >= 3 **not met** |"
    assert lines[4] == "| b | z | 3 | < 4 met |"


def test_runs_line_names_each_command_with_its_minutes():
    day = 1_795_000_000.0  # 2026-11-18 UTC
    full = {"command": "python -m bench", "returncode": 0}
    again = {"command": "python -m bench --only tui", "returncode": 0}
    runs = {"data_build": {**full, "seconds": 60.0, "finished": day},
            "tui": {**again, "seconds": 30.0, "finished": day + 900},
            "model_speed": {**full, "seconds": 120.0, "finished": day + 180}}
    assert runs_line(runs) == ("Commands: `python -m bench`, 3.0 min in all (2026-11-18); "
                               "then `python -m bench --only tui`, 0.5 min in all (2026-11-18).")
    assert runs_line({"tui": runs["tui"]}) == "Command: `python -m bench --only tui`, 0.5 min in all (2026-11-18)."
