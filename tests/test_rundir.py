from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hrm import rundir as rd


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "heartbeat"
    rd.atomic_write_json(target, {"step": 1})
    rd.atomic_write_json(target, {"step": 2})
    assert json.loads(target.read_text()) == {"step": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["heartbeat"]


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "config.yaml"
    target.write_text("old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rd.os, "replace", fail)
    with pytest.raises(OSError):
        rd.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_jsonl_tail_holds_back_torn_line_until_finished(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = rd.JsonlTail(path)
    assert tail.read_new() == []  # file not there yet
    path.write_text('{"step": 1}\n{"step": 2')
    assert tail.read_new() == [{"step": 1}]
    with open(path, "a") as f:
        f.write(', "loss": 0.5}\n')
    assert tail.read_new() == [{"step": 2, "loss": 0.5}]
    assert tail.read_new() == []


def test_jsonl_tail_counts_bad_lines_and_rereads_shrunk_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\nnot json\n[1, 2]\n{"b": 2}\n')
    tail = rd.JsonlTail(path)
    assert tail.read_new() == [{"a": 1}, {"b": 2}]
    assert tail.bad_lines == 2
    path.write_text('{"c": 3}\n')  # rewritten smaller: start again
    assert tail.read_new() == [{"c": 3}]


WRITER = """
import sys
from hrm.rundir import JsonlWriter
w = JsonlWriter(sys.argv[1])
i = 0
while True:
    w.write({"step": i, "payload": "x" * (i % 4000)})
    i += 1
"""


def test_reader_never_sees_a_broken_record_from_a_killed_writer(tmp_path):
    path = tmp_path / "metrics.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    tail = rd.JsonlTail(path)
    steps = []
    deadline = time.monotonic() + 30
    while len(steps) < 2000 and time.monotonic() < deadline:
        steps += [r["step"] for r in tail.read_new()]
    proc.kill()
    proc.wait()
    steps += [r["step"] for r in tail.read_new()]
    assert tail.bad_lines == 0
    assert steps == list(range(len(steps))) and len(steps) >= 2000
    # Linux may cut a write() short when SIGKILL lands mid-copy, so the file can end in a fragment
    # without a newline; every complete line parses, and the next writer cuts the fragment off.
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1].splitlines()
    assert all(json.loads(line)["step"] == i for i, line in enumerate(complete))
    rd.JsonlWriter(path).close()
    assert path.read_text() == "".join(line + "\n" for line in complete)


def test_new_run_id_is_unique_and_safe(tmp_path):
    now = time.mktime((2026, 11, 23, 18, 0, 0, 0, 0, -1))
    first = rd.new_run_id("sudoku demo/1", tmp_path, now)
    assert first == "sudoku-demo-1-20261123-180000"
    (tmp_path / first).mkdir()
    assert rd.new_run_id("sudoku demo/1", tmp_path, now) == first + "-2"


def make_run(tmp_path, name="r1"):
    run = rd.RunDir(tmp_path / name).create()
    run.config.write_text("preset: demo\nmodel:\n  arch: hrm_act\n")
    return run


def write_events(run, *events):
    with rd.JsonlWriter(run.events) as w:
        for e in events:
            w.write(e)


def test_status_running_paused_and_stale(tmp_path):
    run = make_run(tmp_path)
    write_events(run, rd.event_record("started", step=0))
    run.write_heartbeat(step=5)
    status = rd.run_status(run)
    assert (status.state, status.step, status.alive) == ("running", 5, True)
    run.write_heartbeat(step=6, state="paused")
    assert rd.run_status(run).state == "paused"
    assert rd.run_status(run, now=time.time() + rd.HEARTBEAT_STALE_S + 1).state == "stale"


def test_status_terminal_events_win(tmp_path):
    run = make_run(tmp_path)
    write_events(run, rd.event_record("started"), rd.event_record("finished", step=100))
    status = rd.run_status(run)
    assert status.state == "finished" and status.terminal and status.step == 100
    write_events(run, rd.event_record("gave_up", "error", "3 restarts failed", hint="see stdout.log"))
    assert rd.run_status(run).state == "crashed"


def test_status_crashed_with_live_supervisor_is_restarting(tmp_path):
    run = make_run(tmp_path)
    write_events(run, rd.event_record("started"), rd.event_record("crashed", "error", "boom"))
    assert rd.run_status(run).state == "crashed"
    rd.atomic_write_json(run.supervisor, {"pid": os.getpid(), "state": "restarting", "restart_at": 1.0})
    status = rd.run_status(run)
    assert status.state == "restarting" and status.extra["restart_at"] == 1.0 and status.errors == 1


def test_event_record_rejects_unknown_level():
    with pytest.raises(ValueError, match="level"):
        rd.event_record("nan", level="fatal")


def test_summarize_and_find_run(tmp_path):
    run = make_run(tmp_path, "sudoku-20261123-180000")
    write_events(run, {**rd.event_record("started"), "t": 1000.0}, {**rd.event_record("finished"), "t": 1100.0})
    with rd.JsonlWriter(run.metrics) as w:
        w.write({"t": 1010.0, "step": 10, "kind": "train", "loss": 1.5})
        w.write({"t": 1050.0, "step": 50, "kind": "eval", "exact_accuracy": 0.4, "accuracy": 0.9})
        w.write({"t": 1090.0, "step": 90, "kind": "eval", "exact_accuracy": 0.3, "accuracy": 0.8})
        w.write({"t": 1095.0, "step": 95, "kind": "train", "loss": 0.5})
    s = rd.summarize(run)
    assert (s.state, s.step, s.arch, s.preset) == ("finished", 95, "hrm_act", "demo")
    assert (s.train_loss, s.eval_exact, s.eval_accuracy) == (0.5, 0.4, 0.9)
    assert s.elapsed_s == pytest.approx(95.0)
    assert rd.find_run("sudoku", tmp_path).path == run.path
    assert rd.find_run(str(run.path)).path == run.path
    newer = make_run(tmp_path, "sudoku-20261123-190000")
    os.utime(newer.config, (time.time() + 60, time.time() + 60))
    with pytest.raises(FileNotFoundError, match="ambiguous"):
        rd.find_run("sudoku", tmp_path)
    with pytest.raises(FileNotFoundError, match="no run 'maze'"):
        rd.find_run("maze", tmp_path)
    assert [r.run_id for r in rd.list_runs(tmp_path)][0] == "sudoku-20261123-190000"
    assert rd.list_runs(tmp_path / "missing") == []


def test_list_runs_survives_a_run_deleted_while_listing(tmp_path, monkeypatch):
    for name, mtime in (("old", 100), ("new", 200), ("gone", 300)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("{}")
        os.utime(tmp_path / name / "config.yaml", (mtime, mtime))
    (tmp_path / "not-a-run").mkdir()
    doomed = tmp_path / "gone" / "config.yaml"
    real_stat = Path.stat

    def stat_then_delete(self, *args, **kwargs):
        result = real_stat(self, *args, **kwargs)
        if self == doomed:  # another process removes the run right after we looked at it
            shutil.rmtree(doomed.parent)
        return result

    monkeypatch.setattr(Path, "stat", stat_then_delete)
    assert [r.path.name for r in rd.list_runs(tmp_path)] == ["gone", "new", "old"]
    assert [r.path.name for r in rd.list_runs(tmp_path)] == ["new", "old"]
