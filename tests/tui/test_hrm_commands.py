"""Driving `hrm` subprocesses: argv builders, JSON and JSON-lines readers, detached launches."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from hrm_tui import hrm_commands as hc
from tui.conftest import FAKE_HRM


def test_argv_builders_follow_the_documented_commands(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    assert hc.train_args("configs/x.yaml", ["train.lr=1e-3"], "x-1", logs) == [
        "train", "configs/x.yaml", "train.lr=1e-3", "--supervise", "--run-id", "x-1", "--logs-dir", str(logs)]
    assert hc.resume_args("x-1", logs) == ["train", "--resume", "x-1", "--supervise", "--logs-dir", str(logs)]
    assert hc.doctor_args(logs) == ["doctor", "--json", "--logs-dir", str(logs)]
    assert hc.build_data_args("sudoku --out 'data/my set'") == [
        "build-data", "sudoku", "--out", "data/my set", "--progress", "jsonl"]
    models = {"hrm_act": ["logs/a", "logs/b"], "gpt2": ["logs/c"]}
    assert hc.compare_args(models, [1, 5], 8, Path("out"), "--data d", seeds=3) == [
        "compare", "--model", "hrm_act=logs/a,logs/b", "--model", "gpt2=logs/c", "--k", "1,5", "--n-samples", "8",
        "--data", "d", "--out", "out", "--json"]
    assert hc.compare_args({}, [1], 4, Path("o"), "--config hrm=demo --config gpt2=gpt2", seeds=3)[:6] == [
        "compare", "--k", "1", "--n-samples", "4", "--seeds"]


def test_default_command_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hc.HRM_ENV, raising=False)
    assert hc.default_hrm_command() == [sys.executable, "-m", "hrm.cli"]
    monkeypatch.setenv(hc.HRM_ENV, "python3 'my fake.py'")
    assert hc.default_hrm_command() == ["python3", "my fake.py"]


def test_parse_json_output_variants() -> None:
    assert hc.parse_json_output('{"a": 1}') == {"a": 1}
    assert hc.parse_json_output('warning: slow\n{\n "a": 2\n}\n') == {"a": 2}
    assert hc.parse_json_output('{"progress": 1}\nnoise\n{"b": 3}\n') == {"b": 3}
    assert hc.parse_json_output("") is None
    assert hc.parse_json_output("no json here") is None


def test_run_json_reads_doctor_and_reports_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    data, result = hc.run_json([*FAKE_HRM, "doctor", "--json"])
    assert result.ok and data["status"] == "warn" and data["checks"][0]["name"] == "python"
    monkeypatch.setenv("FAKE_HRM_DOCTOR", "crash")
    data, result = hc.run_json([*FAKE_HRM, "doctor", "--json"])
    assert data is None and not result.ok
    assert result.error_line() == "ModuleNotFoundError: No module named 'hrm.data'"
    data, result = hc.run_json(["/nonexistent/hrm"])
    assert data is None and result.returncode == 127 and "cannot run" in result.error_line()
    data, result = hc.run_json([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)
    assert result.returncode == 124 and "longer than" in result.error_line()
    assert hc.CommandResult([], 3, []).error_line() == "exit status 3"
    boxed = ["Usage: hrm [OPTIONS] COMMAND", "╭─ Error ──────╮", "│ No such command 'train'.  │", "╰──────────────╯", ""]
    assert hc.CommandResult([], 2, boxed).error_line() == "No such command 'train'."


def test_stream_jsonl_reports_progress_then_summary(tmp_path: Path) -> None:
    seen: list[dict] = []
    result = hc.stream_jsonl([*FAKE_HRM, "build-data", "sudoku", "--out", str(tmp_path / "d"), "--progress", "jsonl"],
                             seen.append)
    assert result.ok
    assert seen[0] == {"stage": "generate", "done": 0, "total": 4}
    assert seen[-1]["summary"]["train"] == 1000
    assert result.output_tail == ["note: 3 duplicate puzzles dropped"]
    assert (tmp_path / "d" / "train" / "dataset.json").is_file()
    assert hc.stream_jsonl(["/nonexistent/hrm"], seen.append).returncode == 127


def test_stream_jsonl_can_be_cancelled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAKE_HRM_BUILD_DELAY", "0.2")
    seen: list[dict] = []
    start = time.monotonic()
    result = hc.stream_jsonl([*FAKE_HRM, "build-data", "sudoku", "--out", str(tmp_path / "d")], seen.append,
                             cancelled=lambda: len(seen) >= 2)
    assert len(seen) == 2 and result.returncode != 0
    assert time.monotonic() - start < 5
    assert not (tmp_path / "d").exists()


def test_launch_detached_writes_a_log_and_outlives_nothing(tmp_path: Path) -> None:
    log = tmp_path / "sub" / "launch.log"
    proc = hc.launch_detached([sys.executable, "-c", "print('hello from the child')"], log)
    assert proc.wait(timeout=10) == 0
    assert log.read_text() == "hello from the child\n"
    assert __import__("os").getsid(0) != proc.pid  # it had its own session
