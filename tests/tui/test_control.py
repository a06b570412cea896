"""Pause by control file, checkpoint by SIGUSR1, stop by SIGTERM: against the fake trainer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hrm.rundir import RunDir, atomic_write_json
from hrm_tui.control import ControlError, RunControl
from tui.conftest import FAKE_HRM


def wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def events(run: RunDir) -> list[str]:
    return [e["event"] for e in run.read_events()]


@pytest.fixture
def live_run(logs: Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen([*FAKE_HRM, "train", "cfg.yaml", "fake.steps=100000", "fake.rate=50", "--supervise",
                             "--run-id", "live", "--logs-dir", str(logs)], stdout=subprocess.DEVNULL)
    run = RunDir(logs / "live")
    wait(lambda: (run.read_heartbeat() or {}).get("state") == "running")
    yield proc, run
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_pause_checkpoint_and_stop_reach_the_trainer(live_run) -> None:  # type: ignore[no-untyped-def]
    proc, run = live_run
    control = RunControl(run, launched_pid=proc.pid)
    assert control.target_pid() == proc.pid  # the supervisor's pid (one process plays both here)

    control.set_paused(True)
    assert control.paused()
    wait(lambda: (run.read_heartbeat() or {}).get("state") == "paused")
    control.set_paused(False)
    wait(lambda: (run.read_heartbeat() or {}).get("state") == "running")

    before = events(run).count("checkpoint")
    assert control.checkpoint() == proc.pid
    wait(lambda: events(run).count("checkpoint") > before)

    control.stop()
    assert proc.wait(timeout=10) == 0
    assert events(run)[-1] == "stopped"
    with pytest.raises(ControlError, match="no live trainer"):
        control.checkpoint()


def test_target_prefers_supervisor_then_heartbeat_then_launched(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r").create()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        control = RunControl(run, launched_pid=sleeper.pid)
        assert control.target_pid() == sleeper.pid
        atomic_write_json(run.heartbeat, {"pid": 999_999_999, "step": 1, "t": 0})  # no such process
        assert control.target_pid() == sleeper.pid
        run.write_heartbeat(3)  # this test process
        assert control.target_pid() == __import__("os").getpid()
        atomic_write_json(run.supervisor, {"pid": sleeper.pid, "state": "running"})
        assert control.target_pid() == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.raises(ControlError, match="does not exist"):
        RunControl(RunDir(tmp_path / "missing")).set_paused(True)
