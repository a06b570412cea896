"""From `hrm train` arguments to a running trainer: resolve the config, prepare the run directory,
build the dataset if it is missing, then train in-process, under torchrun, or under the supervisor.

Modes:
  plain                       the trainer runs in this process
  --nproc-per-node N (N > 1)  one `torchrun --max-restarts 0` attempt, signals forwarded
  --supervise                 the supervisor runs attempts (single process or torchrun) with restarts
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrm.config import dump_yaml, load_config
from hrm.errors import UserError
from hrm.rundir import RunDir, atomic_write_text, find_run, new_run_id, run_status
from hrm.train.config import RunConfig, load_run_config

WORKER = ["-m", "hrm.train.worker"]


@dataclass
class LaunchOptions:
    config: str | None = None
    overrides: list[str] = field(default_factory=list)
    name: str | None = None
    seed: int | None = None
    device: str | None = None
    run_id: str | None = None
    logs_dir: Path = Path("logs")
    resume: str | None = None
    supervise: bool = False
    max_restarts: int | None = None
    nproc_per_node: int = 1
    nnodes: str = "1"
    node_rank: int | None = None
    rdzv_endpoint: str = ""
    rdzv_id: str = ""
    prometheus_port: int | None = None

    def all_overrides(self) -> list[str]:
        extra = list(self.overrides)
        if self.name is not None:
            extra.append(f"name={self.name}")
        if self.seed is not None:
            extra.append(f"seed={self.seed}")
        if self.device is not None:
            extra.append(f"train.device={self.device}")
        if self.max_restarts is not None:
            extra.append(f"reliability.max_restarts={self.max_restarts}")
        return extra


class RunInUseError(UserError):
    pass


def prepare_run(opts: LaunchOptions, config_cls: type[RunConfig] = RunConfig,
                echo: Callable[[str], None] = print) -> tuple[RunDir, RunConfig]:
    """Validate the config and create (or reopen, for --resume) the run directory with config.yaml."""
    if opts.resume:
        if opts.run_id:
            raise UserError("--resume and --run-id name two runs; give one of them")
        try:
            run = find_run(opts.resume, opts.logs_dir)
        except FileNotFoundError as exc:
            raise UserError(str(exc)) from None
        status = run_status(run)
        if status.alive and not status.terminal:
            raise RunInUseError(f"{run.path}: a trainer (pid {status.pid}) is still running this run; stop it first")
        if opts.config and "=" not in opts.config:
            echo(f"resuming {run.run_id}: its config.yaml is used, {opts.config} is ignored")
        overrides = opts.all_overrides()
        cfg = load_config(config_cls, run.config, overrides)
        if overrides:
            atomic_write_text(run.config, dump_yaml(cfg))
        return run, cfg
    if not opts.config:
        raise UserError("give a config (a preset name such as sudoku_demo_cpu, or a YAML path) or --resume RUN")
    cfg = load_run_config(opts.config, opts.all_overrides(), config_cls)
    logs = Path(opts.logs_dir)
    run_id = opts.run_id or new_run_id(cfg.name, logs)
    run = RunDir(logs / run_id)
    if opts.node_rank:  # other nodes of a multi-node run: node 0 writes the run directory
        _wait_for(run.config, 120.0)
        return run, load_config(config_cls, run.config)
    if run.config.exists() or any(run.checkpoints.glob("step-*")):
        raise UserError(f"{run.path}: this run already exists; continue it with --resume {run_id}")
    _ensure_dataset(cfg, echo)
    run.create()
    atomic_write_text(run.config, dump_yaml(cfg))
    return run, cfg


def _wait_for(path: Path, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while not path.exists():
        if time.time() > deadline:
            raise UserError(f"{path}: not written by node 0 within {timeout_s:.0f} s; is the logs folder shared?")
        time.sleep(0.5)


def _ensure_dataset(cfg: RunConfig, echo: Callable[[str], None]) -> None:
    """Build the dataset with `hrm build-data <data.build>` when its folder is missing."""
    path = Path(cfg.data.path)
    if path.exists():
        return
    if not cfg.data.build:
        raise UserError(f"data.path: {path} does not exist; build it with `hrm build-data` or set data.build")
    args = shlex.split(cfg.data.build)
    if "--out" not in args:
        args += ["--out", str(path)]
    cmd = [sys.executable, "-m", "hrm.cli", "build-data", *args]
    echo(f"building the dataset: hrm build-data {shlex.join(args)}")
    if subprocess.run(cmd).returncode != 0:
        raise UserError(f"data.build: `hrm build-data {shlex.join(args)}` failed; fix data.build or build it by hand")


def worker_command(run: RunDir, opts: LaunchOptions, entry: list[str]) -> list[str]:
    from hrm.train.distributed import torchrun_command

    args = [str(run.path)]
    if opts.prometheus_port is not None:
        args += ["--prometheus-port", str(opts.prometheus_port)]
    if opts.nproc_per_node > 1 or opts.rdzv_endpoint:
        return torchrun_command(entry, args, opts.nproc_per_node, opts.nnodes, opts.node_rank,
                                opts.rdzv_endpoint, opts.rdzv_id)
    return [sys.executable, *entry, *args]


def launch(opts: LaunchOptions, config_cls: type[RunConfig] = RunConfig,
           build_model: Callable[[Any, Any], Any] | None = None, entry: list[str] | None = None,
           echo: Callable[[str], None] = print) -> int:
    """Run `hrm train` as the options say; returns the exit code."""
    from hrm.train.distributed import torchrun_env
    from hrm.train.supervisor import Supervisor, run_once

    entry = entry or WORKER
    run, cfg = prepare_run(opts, config_cls, echo)
    echo(f"run {run.run_id}: {run.path}")
    distributed = opts.nproc_per_node > 1 or bool(opts.rdzv_endpoint)
    env = torchrun_env() if distributed else None
    if opts.supervise:
        sup = Supervisor(run, cfg, lambda: worker_command(run, opts, entry), env=env, distributed=distributed,
                         config_cls=config_cls, echo=echo)
        return sup.run_supervised()
    if distributed:
        return run_once(worker_command(run, opts, entry), env, distributed=True)
    from hrm.train.loop import Trainer

    if build_model is None:
        from hrm.models import build_model
    return Trainer(cfg, run, build_model, prometheus_port=opts.prometheus_port).run()

