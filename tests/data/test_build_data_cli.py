from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hrm.cli import app
from hrm.data.format import read_build_info, validate_dataset
from hrm.data.progress import JsonlReporter, QuietReporter, make_reporter
from hrm.errors import UserError

runner = CliRunner()
SMALL_SUDOKU = ["build-data", "sudoku", "--num-train", "12", "--num-test", "4", "--num-aug", "1", "--workers", "1"]


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_jsonl_progress_lines_and_summary(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(app, [*SMALL_SUDOKU, "--out", str(out), "--progress", "jsonl"])
    assert result.exit_code == 0, result.output
    lines = jsonl(result.stdout)
    stages = [line for line in lines if "stage" in line]
    assert all(set(s) == {"stage", "done", "total"} and 0 <= s["done"] <= s["total"] for s in stages)
    names = [s["stage"] for s in stages]
    assert names.index("generate test") < names.index("generate train") < names.index("validate")
    finals = {s["stage"]: s for s in stages}
    assert all(s["done"] == s["total"] for s in finals.values())
    summary = lines[-1]["summary"]
    assert summary["task"] == "sudoku" and summary["counts"]["train"]["examples"] == 24
    assert summary["out"] == str(out) and summary["seconds"] > 0
    assert read_build_info(out)["args"]["num_train"] == 12 and validate_dataset(out).splits["test"] == 4


def test_rich_progress_prints_a_summary_table(tmp_path):
    result = runner.invoke(app, [*SMALL_SUDOKU, "--out", str(tmp_path / "ds")], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in ("hrm build-data sudoku", "train givens", "46-54", "seconds", "24 examples"):
        assert text in result.stdout


def test_refuses_to_overwrite_and_says_how(tmp_path):
    out = tmp_path / "ds"
    args = [*SMALL_SUDOKU, "--out", str(out), "--progress", "quiet"]
    assert runner.invoke(app, args).exit_code == 0
    before = (out / "hrm.json").read_text()
    proc = subprocess.run([sys.executable, "-m", "hrm.cli", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {out}: already exists; pass --force to rebuild it, or choose another --out"
    assert (out / "hrm.json").read_text() == before
    result = runner.invoke(app, [*args, "--force", "--seed", "5"])
    assert result.exit_code == 0 and read_build_info(out)["seed"] == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["sudoku", "--givens", "many"], "--givens 'many'"),
        (["sudoku", "--givens", "1-2-3"], "--givens '1-2-3'"),
        (["sudoku", "--source", "s3:bucket"], "--source 's3:bucket'"),
        (["sort", "--test-lengths", "8,x"], "--test-lengths '8,x'"),
        (["maze", "--min-path", "0"], "--min-path 0"),
    ],
)
def test_user_mistakes_are_user_errors(tmp_path, args, message):
    result = runner.invoke(app, ["build-data", *args, "--out", str(tmp_path / "x"), "--progress", "quiet"])
    assert isinstance(result.exception, UserError) and message in str(result.exception)
    assert not (tmp_path / "x").exists()


def test_maze_arc_and_sort_commands(tmp_path):
    cases = {
        "maze": ["--num-train", "2", "--num-test", "2", "--min-path", "30", "--aug"],
        "arc": ["--num-aug", "1", "--max-puzzles", "1", "--version", "2"],
        "sort": ["--length", "3-5", "--test-lengths", "7", "--num-train", "40", "--num-test", "5"],
    }
    for task, extra in cases.items():
        out = tmp_path / task
        result = runner.invoke(app, ["build-data", task, *extra, "--out", str(out), "--progress", "jsonl"])
        assert result.exit_code == 0, result.output
        summary = jsonl(result.stdout)[-1]["summary"]
        assert summary["task"] == task and read_build_info(out)["task"] == task
    assert read_build_info(tmp_path / "maze")["counts"]["train"]["examples"] == 16
    assert read_build_info(tmp_path / "arc")["args"]["version"] == 2
    assert "test_len7" in read_build_info(tmp_path / "sort")["splits"]


def test_jsonl_reporter_throttles_but_always_reports_the_end():
    stream = io.StringIO()
    reporter = JsonlReporter(stream, interval_s=3600)
    reporter.stage("work", 1000)
    for _ in range(1000):
        reporter.advance(1)
    reporter.stage("more", 2)
    reporter.advance(1)
    reporter.summary({"task": "x"}, [("a", "b")])
    lines = jsonl(stream.getvalue())
    assert lines == [
        {"stage": "work", "done": 0, "total": 1000},
        {"stage": "work", "done": 1000, "total": 1000},
        {"stage": "more", "done": 0, "total": 2},
        {"stage": "more", "done": 2, "total": 2},  # closed when the summary comes
        {"summary": {"task": "x"}},
    ]


def test_reporter_modes():
    assert isinstance(make_reporter("quiet"), QuietReporter)
    with pytest.raises(ValueError):
        make_reporter("loud")


@pytest.mark.slow
def test_default_build_is_the_demo_dataset(tmp_path):
    """`hrm build-data sudoku` with no options: the CPU demo set in data/sudoku-demo."""
    proc = subprocess.run([sys.executable, "-m", "hrm.cli", "build-data", "sudoku"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    info = read_build_info(tmp_path / "data" / "sudoku-demo")
    assert info["counts"]["train"]["examples"] == 4000 and info["counts"]["test"]["examples"] == 500
    assert info["args"]["difficulty"] == "easy" and info["seconds"] < 60
