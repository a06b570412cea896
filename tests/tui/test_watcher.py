"""Tailing a run directory: torn lines, a concurrent writer, shrinking files, the launcher log."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from hrm.rundir import JsonlTail, RunDir
from hrm_tui.watcher import RunWatcher, TextTail
from tui import fake_trainer


def test_text_tail_holds_back_partial_lines_and_rereads_a_shrunk_file(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    tail = TextTail(log)
    assert tail.read_new() == []
    log.write_text("one\ntw")
    assert tail.read_new() == ["one"]
    with open(log, "a") as f:
        f.write("o\nprogress 10%\rprogress 90%\n")
    assert tail.read_new() == ["two", "progress 90%"]
    log.write_text("new\n")  # rewritten shorter: read from the start
    assert tail.read_new() == ["new"]


def test_text_tail_starts_near_the_end_of_a_big_log(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    log.write_text("".join(f"line {i}\n" for i in range(20_000)))
    lines = TextTail(log, first_read_bytes=1000).read_new()
    assert lines[-1] == "line 19999"
    assert len(lines) < 200 and all(line.startswith("line ") for line in lines)


WRITER = textwrap.dedent("""
    import json, os, sys, time
    path, n = sys.argv[1], int(sys.argv[2])
    with open(path, "ab", buffering=0) as f:
        for i in range(n):
            line = (json.dumps({"step": i, "kind": "train", "loss": 1.0 / (i + 1), "pad": "x" * (i % 300)}) + "\\n").encode()
            cut = len(line) // 2
            f.write(line[:cut])      # a torn line is on disk now
            if i % 50 == 0:
                time.sleep(0.001)
            f.write(line[cut:])
""")


def test_jsonl_tail_under_a_concurrent_writer(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.touch()
    n = 20_000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n)])
    tail = JsonlTail(path)
    steps: list[int] = []
    polls = 0
    while writer.poll() is None or tail.offset < path.stat().st_size:
        steps += [r["step"] for r in tail.read_new()]
        polls += 1
        time.sleep(0.0005)
    steps += [r["step"] for r in tail.read_new()]
    assert writer.returncode == 0
    assert polls > 1
    assert tail.bad_lines == 0
    assert steps == list(range(n))


def test_watcher_reports_news_status_and_config(tmp_path: Path) -> None:
    run = fake_trainer.write_run(tmp_path / "run", steps=60, t0=1000.0)
    launch_log = tmp_path / "launch.log"
    launch_log.write_text("launcher says hi\n")
    clock = [1000.0 + 60 * 0.5]
    watcher = RunWatcher(RunDir(run.path), clock=lambda: clock[0], extra_log=launch_log)
    first = watcher.poll()
    assert first.has_news and first.exists
    assert first.batch.rows["train"] == 60
    assert first.config and first.config["model"]["arch"] == "hrm_act"
    assert [e["event"] for e in first.events][:2] == ["started", "checkpoint"]
    assert first.status.state == "finished"
    # stdout.log exists, so the launcher's copy of the same output is not shown twice.
    assert "launcher says hi" not in first.log_lines and first.log_lines[0].startswith("fake trainer")
    second = watcher.poll()
    assert not second.has_news and second.config is None
    with open(run.metrics, "a") as f:
        f.write(json.dumps({"t": 1031.0, "step": 61, "kind": "train", "loss": 0.1}) + "\n")
        f.write('{"t": 1031.5, "step": 62, "ki')  # torn
    third = watcher.poll()
    assert third.batch.rows == {"train": 1}


def test_watcher_shows_the_launcher_output_until_the_run_writes_its_own(tmp_path: Path) -> None:
    launch_log = tmp_path / "launch.log"
    launch_log.write_text("error: configs/x.yaml: 1 problem(s)\n")
    watcher = RunWatcher(RunDir(tmp_path / "never-created"), extra_log=launch_log)
    update = watcher.poll()
    assert not update.exists
    assert update.log_lines == ["error: configs/x.yaml: 1 problem(s)"]
    assert update.status.state == "starting"
