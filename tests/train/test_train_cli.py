"""`hrm train` end to end with the real model registry (a tiny HRM-ACT) through the CLI."""

from __future__ import annotations

import pytest
import yaml
from toy import write_toy_dataset
from train_helpers import events
from typer.testing import CliRunner

from hrm.cli import app
from hrm.errors import UserError
from hrm.rundir import RunDir

runner = CliRunner()

TINY = {
    "name": "tiny",
    "model": {"arch": "hrm_act", "hidden_size": 32, "num_heads": 2, "expansion": 2, "H_layers": 1, "L_layers": 1,
              "H_cycles": 1, "L_cycles": 1, "pos_encodings": "learned", "puzzle_emb_ndim": 32, "halt_max_steps": 2,
              "route_heads": True},
    "train": {"global_batch_size": 8, "max_steps": 6, "eval_every": 3, "log_every": 2, "checkpoint_every": 3,
              "checkpoint_minutes": 0, "system_every_s": 0, "threads": 1},
    "optim": {"name": "adamatan2", "lr": 1e-3, "warmup_steps": 2},
    "reliability": {"heartbeat_s": 0.2},
}


@pytest.fixture
def tiny_preset(tmp_path):
    data = write_toy_dataset(tmp_path / "data", groups=16, per_group=1, test=8, seq_len=16, vocab=11)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "data": {"path": str(data), "task": "sudoku", "build": "sudoku"}}))
    return path


class Result:
    """What `hrm train` shows: hrm.cli.main prints a UserError as one line and exits 2."""

    def __init__(self, result):
        self.exit_code, self.output = result.exit_code, result.output
        if isinstance(result.exception, UserError):
            self.exit_code, self.output = 2, self.output + f"error: {result.exception}"
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception


def train(*args) -> Result:
    return Result(runner.invoke(app, ["train", *map(str, args)]))


def test_hrm_train_then_resume_with_a_real_model(tiny_preset, tmp_path):
    logs = tmp_path / "logs"
    result = train(tiny_preset, "train.max_steps=4", "--run-id", "r1", "--logs-dir", logs, "--seed", 3)
    assert result.exit_code == 0, result.output
    run = RunDir(logs / "r1")
    cfg = yaml.safe_load(run.config.read_text())
    assert cfg["preset"] == "tiny" and cfg["seed"] == 3 and cfg["train"]["max_steps"] == 4
    assert cfg["model"]["arch"] == "hrm_act" and cfg["reliability"]["stall_timeout_s"] == 300.0  # defaults written out
    (started,) = events(run, "started")
    assert started["params"] > 0 and started["dtype"] == "float32"
    train_rec = list(run.iter_metrics("train"))[-1]
    for key in ("q_halt_loss", "routing_entropy", "head_concentration", "top1_share", "tflops_per_s"):
        assert key in train_rec, key
    assert list(run.iter_metrics("eval"))[-1]["examples"] == 8

    again = train(tiny_preset, "--run-id", "r1", "--logs-dir", logs)
    assert again.exit_code == 2 and "already exists; continue it with --resume r1" in again.output

    resumed = train("--resume", "r1", "train.max_steps=6", "--logs-dir", logs)
    assert resumed.exit_code == 0, resumed.output
    assert yaml.safe_load(run.config.read_text())["train"]["max_steps"] == 6
    assert [e["step"] for e in events(run, "finished")] == [4, 6]
    assert any(e.get("resumed") and e["step"] == 4 for e in events(run, "checkpoint"))


def test_config_mistakes_are_one_clear_error(tiny_preset, tmp_path):
    result = train(tiny_preset, "train.max_step=5", "optim.lr=fast", "reliability.backoff_s=-1", "--logs-dir", tmp_path)
    assert result.exit_code == 2
    out = result.output
    assert "3 problem(s)" in out and "train.max_step: unknown key; did you mean 'max_steps'?" in out
    assert "optim.lr: Input should be a valid number" in out and "reliability.backoff_s" in out
    assert "Traceback" not in out
    missing = train("no_such_preset", "--logs-dir", tmp_path)
    assert missing.exit_code == 2 and "presets: " in missing.output and "sudoku_demo_cpu" in missing.output
    assert train("--logs-dir", tmp_path).exit_code == 2
    assert "no run 'nope'" in train("--resume", "nope", "--logs-dir", tmp_path).output


def test_a_missing_dataset_is_built_from_data_build(tmp_path):
    preset = tmp_path / "sort.yaml"
    out = tmp_path / "sortdata"
    preset.write_text(yaml.safe_dump({**TINY, "data": {"path": str(out), "task": "sort",
                                                          "build": "sort --num-train 32 --num-test 8 --progress quiet"}}))
    result = train(preset, "train.max_steps=1", "--logs-dir", tmp_path / "logs")
    assert result.exit_code == 0, result.output
    assert (out / "train" / "dataset.json").exists() and "building the dataset: hrm build-data sort" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**TINY, "data": {"path": str(tmp_path / "nothing"), "task": "sort", "build": ""}}))
    result = train(bad, "--logs-dir", tmp_path / "logs")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_resume_refuses_a_run_that_a_live_trainer_is_writing(tiny_preset, tmp_path):
    import subprocess
    import sys

    logs = tmp_path / "logs"
    assert train(tiny_preset, "train.max_steps=1", "--run-id", "busy", "--logs-dir", logs).exit_code == 0
    run = RunDir(logs / "busy")
    (run.events).write_text("")  # no terminal event: the run looks in progress
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run.heartbeat.write_text(f'{{"pid": {other.pid}, "step": 1, "t": {__import__("time").time()}, "state": "running"}}')
        result = train("--resume", "busy", "--logs-dir", logs)
        assert result.exit_code == 2 and f"a trainer (pid {other.pid}) is still running this run" in result.output
    finally:
        other.kill()
        other.wait()


def test_torchrun_command_lines():
    from hrm.train.distributed import DistContext, cpu_threads, torchrun_command

    single = torchrun_command(["-m", "hrm.train.worker"], ["logs/r"], 2)
    assert single[1:] == ["-m", "torch.distributed.run", "--max-restarts", "0", "--nproc-per-node", "2",
                          "--standalone", "--nnodes", "1", "--module", "hrm.train.worker", "logs/r"]
    multi = torchrun_command(["w.py"], ["logs/r"], 4, nnodes="2", node_rank=1, rdzv_endpoint="h:29500", rdzv_id="x")
    assert multi[6:] == ["4", "--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", "h:29500", "--rdzv-id", "x",
                         "--node-rank", "1", "w.py", "logs/r"]
    assert cpu_threads(3, DistContext()) == 3
    assert cpu_threads(0, DistContext(world_size=64, local_world_size=64)) == 1
