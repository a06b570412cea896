"""torchrun with 2 CPU ranks (gloo). Every test has a short process-group timeout and an outer
wall-clock timeout, and they run one at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from train_helpers import HERE, child_env, events, wait_until

from hrm.rundir import RunDir
from hrm.train import checkpoint

pytestmark = pytest.mark.distributed


def toy_cli(tmp_path, run_cfg, *args):
    return [sys.executable, str(HERE / "toy_cli.py"), str(run_cfg), "--nproc-per-node", "2", "--run-id", "ddp",
            "--logs-dir", str(tmp_path / "logs"), *args]


def test_two_gloo_ranks_train_with_one_metrics_stream(write_run, tmp_path):
    src = write_run("src", train={"max_steps": 30, "log_every": 5, "eval_every": 15, "checkpoint_every": 10},
                    reliability={"pg_timeout_s": 30})
    t0 = time.time()
    result = subprocess.run(toy_cli(tmp_path, src.config), env=child_env(), capture_output=True, text=True, timeout=150)
    seconds = time.time() - t0
    assert result.returncode == 0, result.stderr[-3000:]
    run = RunDir(tmp_path / "logs" / "ddp")
    (started,) = events(run, "started")
    assert started["world_size"] == 2 and started["threads"] == 1  # one thread per rank on 2 cores
    steps = [r["step"] for r in run.iter_metrics("train")]
    assert steps == [5, 10, 15, 20, 25, 30]  # rank 0 alone writes: no duplicates
    evals = list(run.iter_metrics("eval"))
    assert [e["step"] for e in evals] == [15, 30] and evals[-1]["examples"] == 32  # both shards counted
    (finished,) = events(run, "finished")
    assert finished["ranks_in_sync"] is True
    state, _, _ = checkpoint.load_newest(run.checkpoints)
    assert len(state["ranks"]) == 2 and state["ranks"][0]["sampler"]["rank"] == 0
    print(f"\n2-rank gloo run of 30 steps: {seconds:.1f} s including torchrun start-up")


@pytest.mark.slow
def test_killing_rank_1_is_recovered_by_a_fresh_torchrun(write_run, tmp_path):
    src = write_run("src", train={"max_steps": 100000, "log_every": 5, "checkpoint_every": 10},
                    reliability={"pg_timeout_s": 20, "backoff_s": 1, "heartbeat_s": 0.5, "stall_timeout_s": 30})
    proc = subprocess.Popen(toy_cli(tmp_path, src.config, "--supervise"), env=child_env())
    run = RunDir(tmp_path / "logs" / "ddp")
    try:
        wait_until(lambda: (run.read_heartbeat() or {}).get("step", 0) >= 20, timeout=150, interval=0.1)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "toy_worker" in " ".join(p.cmdline())]
        rank1 = next(p for p in workers if p.environ().get("RANK") == "1")
        t_kill = time.time()
        rank1.kill()
        wait_until(lambda: events(run, "restart"), timeout=120, interval=0.1)
        first_pid = run.read_heartbeat()["pid"]
        wait_until(lambda: (h := run.read_heartbeat()) and h["pid"] != first_pid and h["state"] == "running",
                   timeout=150, interval=0.1)
        recovered = time.time() - t_kill
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    resumed = [e for e in events(run, "checkpoint") if e.get("resumed")]
    assert resumed and events(run, "stopped")
    print(f"\nrank 1 killed -> fresh torchrun training again after {recovered:.1f} s")
