"""The supervisor against real trainer processes: death, hang, always-crashing, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from toy import ToyRunConfig
from train_helpers import HERE, TOY_WORKER, child_env, events, wait_until

from hrm.config import load_config
from hrm.rundir import RunDir, run_status
from hrm.train import checkpoint
from hrm.train.supervisor import Supervisor


def supervisor(run: RunDir, command=None, **kw) -> Supervisor:
    cfg = load_config(ToyRunConfig, run.config)
    command = command or (lambda: [sys.executable, *TOY_WORKER, str(run.path)])
    return Supervisor(run, cfg, command, env=child_env(), poll_s=kw.pop("poll_s", 0.2), config_cls=ToyRunConfig,
                      echo=lambda _line: None, **kw)


def heartbeat_of_child(run: RunDir, min_step: int = 0) -> dict | None:
    sup, hb = run.read_supervisor() or {}, run.read_heartbeat() or {}
    if sup.get("child_pid") and hb.get("pid") == sup["child_pid"] and hb.get("step", 0) >= min_step:
        return hb
    return None


def restart_latency(run: RunDir, old_pid: int, since: float) -> float:
    hb = wait_until(lambda: (h := run.read_heartbeat()) and h["pid"] != old_pid and h, timeout=120, interval=0.02)
    return hb["t"] - since


def test_supervisor_survives_a_kill_a_hang_and_forwards_checkpoint_and_stop_signals(write_run):
    """One supervised run, three attempts: attempt 1 is SIGKILLed, attempt 2 frozen with SIGSTOP (alive
    but silent), attempt 3 gets SIGUSR1 then SIGTERM through the supervisor (this test process)."""
    stall = 2.0
    run = write_run("supervised", train={"max_steps": 100000, "checkpoint_every": 20},
                    reliability={"heartbeat_s": 0.2, "stall_timeout_s": stall, "backoff_s": 0.5, "max_restarts": 3})
    found: dict = {}

    def supervised_and_running(min_step: int) -> dict | None:
        hb = heartbeat_of_child(run, min_step)
        return hb if hb and (run.read_supervisor() or {}).get("state") == "running" else None

    def scenario():
        hb = wait_until(lambda: supervised_and_running(30), timeout=120, interval=0.02)
        found["kill_t"] = time.time()
        os.kill(hb["pid"], signal.SIGKILL)
        found["restart_latency"] = restart_latency(run, hb["pid"], found["kill_t"])

        # let attempt 2 write a checkpoint of its own: progress, so the next back-off starts afresh
        resumed = wait_until(lambda: [e for e in events(run, "checkpoint") if e.get("resumed")], timeout=120)[0]
        wait_until(lambda: [e for e in events(run, "checkpoint")
                            if e.get("reason") == "scheduled" and e["t"] > resumed["t"]], timeout=120, interval=0.02)
        hb = run.read_heartbeat()
        found["stop_t"] = time.time()
        os.kill(hb["pid"], signal.SIGSTOP)
        stall_event = wait_until(lambda: events(run, "stall"), timeout=60, interval=0.02)[0]
        found["stall_detected"] = stall_event["t"] - found["stop_t"]

        hb = wait_until(lambda: (h := supervised_and_running(0)) and h["pid"] != hb["pid"] and h["step"] >= 10 and h,
                        timeout=120, interval=0.02)
        os.kill(os.getpid(), signal.SIGUSR1)  # the supervisor runs in this process's main thread
        wait_until(lambda: [e for e in events(run, "checkpoint") if e.get("reason") == "requested"], timeout=60)
        found["term_t"] = time.time()
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=scenario)
    t.start()
    code = supervisor(run).run_supervised()
    found["exit_t"] = time.time()
    t.join()
    assert code == 0

    crashed = events(run, "crashed")
    assert crashed[0]["reason"] == "killed" and crashed[0]["exit_code"] == -signal.SIGKILL
    restarts = events(run, "restart")
    assert [(r["attempt"], r["reason"]) for r in restarts] == [(2, "killed"), (3, "stall")]
    assert [r["delay_s"] for r in restarts] == [0.5, 0.5]  # attempt 2 checkpointed: failures counted afresh
    (stall_event,) = events(run, "stall")
    assert "heartbeat stopped" in stall_event["message"]
    assert found["stall_detected"] <= stall + 0.2 + 1.0  # timeout + poll interval (+ slack for a busy machine)
    assert len([e for e in events(run, "checkpoint") if e.get("resumed")]) == 2

    (stopped,) = events(run, "stopped")
    newest = checkpoint.load_newest(run.checkpoints)[1]
    assert stopped["step"] == newest.step  # steps lost to SIGTERM: 0
    assert run.read_supervisor()["state"] == "stopped" and run_status(run).state == "stopped"
    print(f"\nSIGKILL -> new trainer heart-beating after {found['restart_latency']:.1f} s (back-off 0.5 s + start-up); "
          f"SIGSTOP -> stall detected after {found['stall_detected']:.2f} s (timeout {stall} s, poll 0.2 s); "
          f"SIGTERM -> durable checkpoint, exit 0 after {found['exit_t'] - found['term_t']:.2f} s, steps lost 0")


def test_always_crashing_trainer_backs_off_exponentially_then_gives_up(write_run):
    run = write_run("crashes", reliability={"backoff_s": 0.05, "max_restarts": 3})
    code = supervisor(run, command=lambda: [sys.executable, "-c", "import sys; sys.exit(1)"]).run_supervised()
    assert code == 1
    assert [e["delay_s"] for e in events(run, "restart")] == [0.05, 0.1, 0.2]
    assert len(events(run, "crashed")) == 4
    (gave_up,) = events(run, "gave_up")
    assert gave_up["level"] == "error" and gave_up["hint"] and gave_up["attempts"] == 4
    assert run.read_supervisor()["state"] == "gave_up"


FAKE_TRAINER = """
import json, sys, time
run, reason = sys.argv[1], sys.argv[2]
counter = run + "/attempts"
try:
    n = int(open(counter).read())
except OSError:
    n = 0
open(counter, "w").write(str(n + 1))
if n == 0:
    with open(run + "/events.jsonl", "a") as f:
        f.write(json.dumps({"t": time.time(), "event": "crashed", "level": "error", "message": "x", "hint": "y",
                            "reason": reason, "micro_batch_size": 8}) + "\\n")
    sys.exit(1)
sys.exit(int(sys.argv[3]))
"""


def test_oom_halves_the_batch_and_divergence_the_learning_rate_before_the_restart(write_run):
    for reason, check in (("oom", lambda c: c.train.micro_batch_size == 4), ("diverged", lambda c: c.optim.lr == 5e-3)):
        run = write_run(reason, reliability={"backoff_s": 0.01})
        cmd = lambda run=run, reason=reason: [sys.executable, "-c", FAKE_TRAINER, str(run.path), reason, "0"]  # noqa: E731
        assert supervisor(run, command=cmd).run_supervised() == 0
        assert check(load_config(ToyRunConfig, run.config)), reason
        assert events(run, "restart")[0]["change"]


def test_user_error_and_gate_failure_are_not_restarted(write_run):
    for code in (2, 3):
        run = write_run(f"exit{code}", reliability={"backoff_s": 0.01})
        cmd = lambda run=run, code=code: [sys.executable, "-c", f"import sys; sys.exit({code})"]  # noqa: E731
        assert supervisor(run, command=cmd).run_supervised() == code
        assert not events(run, "restart")


@pytest.mark.slow
def test_signals_to_the_supervisor_process_reach_the_trainer(write_run, tmp_path):
    cfg = write_run("src", train={"max_steps": 100000, "checkpoint_every": 0}).config
    proc = subprocess.Popen([sys.executable, str(HERE / "toy_cli.py"), str(cfg), "--supervise", "--run-id", "sup",
                             "--logs-dir", str(tmp_path / "logs")], env=child_env(), stdout=subprocess.DEVNULL)
    run = RunDir(tmp_path / "logs" / "sup")
    wait_until(lambda: heartbeat_of_child(run, 10), timeout=120, interval=0.05)
    proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: [e for e in events(run, "checkpoint") if e.get("reason") == "requested"], timeout=60)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert events(run, "stopped") and not events(run, "restart")
    assert run.read_supervisor()["state"] == "stopped"
    assert yaml.safe_load(run.config.read_text())["preset"] == "config"
