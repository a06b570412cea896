"""Kill -9 and signals against a real trainer process (the toy model through the worker entry)."""

from __future__ import annotations

import shutil
import signal
import threading
import time

import pytest
import torch
from toy import ToyRunConfig
from train_helpers import events, final_weights, max_abs_diff, start_worker, train_in_process, wait_until

from hrm.config import load_config
from hrm.rundir import JsonlTail, RunDir
from hrm.train import checkpoint

LONG = {"max_steps": 300, "log_every": 1, "checkpoint_every": 20}


def newest_step(run: RunDir) -> int:
    done = checkpoint.complete(run.checkpoints)
    return done[0].step if done else -1


def strip_rng_and_carry(run: RunDir) -> None:
    """The control: the same checkpoint without random state and ACT carry (what a naive trainer saves)."""
    state, ckpt, _ = checkpoint.load_newest(run.checkpoints)
    for rank_state in state["ranks"]:
        rank_state.pop("rng")
        rank_state.pop("carries")
    checkpoint.save(run.checkpoints, ckpt.step, state, keep=5)


def test_kill_9_then_resume_matches_a_straight_run_bit_for_bit(write_run, tmp_path):
    straight = write_run("straight", train=LONG)
    cfg = load_config(ToyRunConfig, straight.config)
    assert train_in_process(cfg, straight) == 0

    killed = write_run("killed", train=LONG)
    tail, bad, stop = JsonlTail(killed.metrics), [], threading.Event()

    def read_while_writing():
        while not stop.is_set():
            tail.read_new()
            time.sleep(0.002)
        tail.read_new()
        bad.append(tail.bad_lines)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    proc = start_worker(killed)
    wait_until(lambda: newest_step(killed) >= 100, timeout=120, interval=0.01)
    last_train_step = lambda: (list(killed.iter_metrics("train")) or [{"step": 0}])[-1]["step"]  # noqa: E731
    wait_until(lambda: last_train_step() >= newest_step(killed) + 5, timeout=60, interval=0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    reader.join()
    killed_at = list(killed.iter_metrics("train"))[-1]["step"]
    assert 100 < killed_at < 300, "the kill must land mid-training"
    control = RunDir(tmp_path / "control")
    shutil.copytree(killed.path, control.path)

    assert train_in_process(cfg, killed) == 0  # the restart: a new trainer that knows only the files
    step, w_resumed = final_weights(killed)
    _, w_straight = final_weights(straight)
    exact = max_abs_diff(w_resumed, w_straight)

    strip_rng_and_carry(control)
    assert train_in_process(cfg, control) == 0
    _, w_control = final_weights(control)
    naive = max_abs_diff(w_control, w_straight)
    resumed = [e for e in events(killed, "checkpoint") if e.get("resumed")][0]
    print(f"\nkill -9 at step {killed_at}, resumed from step {resumed['step']}: "
          f"max |dw| = {exact} (control without RNG/carry restore: {naive:.2e}); "
          f"metrics reader parse errors during the kill: {bad[0]}")
    assert step == 300 and exact == 0.0 and resumed["step"] < killed_at
    assert naive > 0.0
    assert any("not exact" in e.get("message", "") for e in events(control, "checkpoint"))
    assert bad == [0]
    assert JsonlTail(killed.metrics).read_new() and JsonlTail(killed.metrics).bad_lines == 0
    steps = [r["step"] for r in killed.iter_metrics("train")]
    assert steps[-1] == 300


@pytest.mark.slow
def test_sigusr1_checkpoints_and_sigterm_stops_durably_with_exit_0(write_run):
    run = write_run("signals", train={**LONG, "max_steps": 100000, "checkpoint_every": 0})
    proc = start_worker(run)
    wait_until(lambda: (run.read_heartbeat() or {}).get("step", 0) >= 20, timeout=120, interval=0.01)
    proc.send_signal(signal.SIGUSR1)
    requested = wait_until(lambda: [e for e in events(run, "checkpoint") if e.get("reason") == "requested"], 30)
    assert proc.poll() is None  # still training
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    seconds = time.time() - t0
    (stopped,) = events(run, "stopped")
    assert code == 0 and stopped["signal"] == "SIGTERM"
    state, ckpt, _ = checkpoint.load_newest(run.checkpoints)
    lost = stopped["step"] - ckpt.step
    print(f"\nSIGTERM -> durable checkpoint and exit 0 in {seconds:.2f} s, steps lost {lost}; "
          f"SIGUSR1 checkpoint at step {requested[0]['step']}")
    assert lost == 0 and state["step"] == stopped["step"] > requested[0]["step"]
    assert torch.isfinite(state["model"]["mix.weight"]).all()
