"""Helpers for the trainer tests: toy configs, in-process and subprocess runners, polling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toy import ToyRunConfig, build_toy  # noqa: E402

from hrm.rundir import RunDir  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TOY_WORKER = [str(HERE / "toy_worker.py")]

def toy_config_dict(data_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "toy",
        "data": {"path": str(data_path)},
        "train": {"max_steps": 40, "global_batch_size": 8, "eval_every": 0, "log_every": 5, "checkpoint_every": 10,
                  "checkpoint_minutes": 0, "system_every_s": 0, "threads": 1},
        "optim": {"name": "adamw", "lr": 1e-2, "warmup_steps": 3},
        "reliability": {"heartbeat_s": 0.2},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return base


def train_in_process(cfg: ToyRunConfig, run: RunDir, model_hook: Callable[[Any], None] | None = None) -> int:
    from hrm.train.loop import Trainer

    def build(model_cfg, meta):
        model = build_toy(model_cfg, meta)
        if model_hook is not None:
            model_hook(model)
        return model

    return Trainer(cfg, run, build, echo=False, install_signals=False).run()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def start_worker(run: RunDir, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *TOY_WORKER, str(run.path), *extra], env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; fails the test after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def events(run: RunDir, name: str | None = None) -> list[dict[str, Any]]:
    return [e for e in run.read_events() if name is None or e.get("event") == name]


def final_weights(run: RunDir):
    import torch

    from hrm.train import checkpoint

    state, ckpt, _ = checkpoint.load_newest(run.checkpoints)
    return ckpt.step, {k: v.clone() for k, v in state["model"].items()}


def max_abs_diff(a: dict, b: dict) -> float:
    import torch

    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a) if a else 0.0


def write_config(run: RunDir, cfg: ToyRunConfig) -> RunDir:
    run.create()
    run.config.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return run
