"""Configs and a subprocess runner for the sweep / OOD tests (a module with a unique name, so tests
import it directly instead of importing `conftest`, which names a different file per folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent.parent


def tiny_config(data: Path, task: str, **model) -> dict:
    """A routed model of a few thousand parameters that trains 12 steps in about a second."""
    return {
        "name": "tiny",
        "data": {"path": str(data), "task": task, "build": "", "eval_examples": 48},
        "model": {"arch": "routed", "controller": "hrm", "hidden_size": 16, "num_heads": 4, "controller_size": 8,
                  "inner_steps": 2, "puzzle_emb_ndim": 0, **model},
        "train": {"max_steps": 12, "global_batch_size": 16, "eval_every": 0, "log_every": 4, "checkpoint_every": 0,
                  "checkpoint_minutes": 0, "system_every_s": 0, "threads": 1},
        "optim": {"name": "adamw", "lr": 3e-3, "warmup_steps": 2},
    }


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def train_run(config: dict, logs: Path, run_id: str) -> Path:
    """`hrm train` in a subprocess, as a user would run it."""
    path = logs / f"{run_id}.yaml"
    logs.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "hrm.cli", "train", str(path), "--run-id", run_id, "--logs-dir",
                           str(logs)], capture_output=True, text=True, env=child_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return logs / run_id
