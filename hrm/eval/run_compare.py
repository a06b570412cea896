"""The steps of `hrm compare` before the statistics: name the runs, train them if asked, evaluate.

Training goes through `hrm train` subprocesses, exactly as a user (or the dashboard) would run
it, one after another so runs of different models get the same machine to themselves.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hrm.errors import UserError
from hrm.eval.outcomes import ModelOutcomes
from hrm.eval.settings import EvalSettings


def _split_spec(spec: str, option: str) -> tuple[str, str]:
    name, sep, value = spec.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UserError(f"{option} {spec!r}: expected NAME=VALUE, e.g. {option} hrm=logs/hrm-demo-1")
    return name.strip(), value.strip()


def parse_model_specs(specs: list[str]) -> dict[str, list[str]]:
    """['hrm=a,b', 'gpt2=c'] -> {'hrm': ['a', 'b'], 'gpt2': ['c']}."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        name, runs = _split_spec(spec, "--model")
        if name in out:
            raise UserError(f"--model {name}: named twice; list all its runs once: {name}=RUN1,RUN2")
        out[name] = [r.strip() for r in runs.split(",") if r.strip()]
    return out


def progress_line(text: str) -> None:
    """Progress goes to stderr, so `--json` keeps stdout to results.json alone."""
    print(text, file=sys.stderr, flush=True)


def train_configs(
    specs: list[str], seeds: int, minutes: float, overrides: list[str], logs_dir: Path, existing: set[str]
) -> dict[str, list[str]]:
    """Train each NAME=CONFIG for seeds 0..seeds-1 with `hrm train`; returns NAME -> run directories."""
    from hrm.rundir import new_run_id

    out: dict[str, list[str]] = {}
    for spec in specs:
        name, config = _split_spec(spec, "--config")
        if name in existing or name in out:
            raise UserError(f"--config {name}: this model name is already used")
        out[name] = []
        for seed in range(seeds):
            run_id = new_run_id(f"{name}-s{seed}", logs_dir)
            cmd = [sys.executable, "-m", "hrm.cli", "train", config, f"seed={seed}", *overrides]
            if minutes > 0:
                cmd.append(f"train.max_minutes={minutes}")
            cmd += ["--run-id", run_id, "--logs-dir", str(logs_dir)]
            progress_line(f"training {name} seed {seed} ({seed + 1}/{seeds}) -> {logs_dir / run_id}")
            t0 = time.time()
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
                raise UserError(f"training {name} seed {seed} failed (exit {proc.returncode}); see "
                                f"{logs_dir / run_id / 'stdout.log'}\n{tail}")
            progress_line(f"trained {name} seed {seed} in {time.time() - t0:.0f} s")
            out[name].append(str(Path(logs_dir) / run_id))
    return out


def evaluate_models(
    specs: dict[str, list[str]], data: Path | None, settings: EvalSettings
) -> tuple[list[ModelOutcomes], list[int], dict[str, Any]]:
    """Evaluate every run of every model on the same puzzles with the same settings."""
    from hrm.data.format import read_task
    from hrm.data.tasks import get_task
    from hrm.device import probe, select_device
    from hrm.eval.evaluate import evaluate_run, load_run
    from hrm.eval.sampling import load_eval_set

    if sum(len(r) for r in specs.values()) == 0:
        raise UserError("no runs to evaluate")
    device = select_device(settings.device, probe())
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    models, root, eval_set, task = [], data, None, None
    for name, sources in specs.items():
        if not sources:
            raise UserError(f"--model {name}: no runs listed")
        runs, arch = [], None
        for source in sources:
            run = load_run(source, device=device, data_root=root)
            if root is None:
                root = Path(run.config.data.path)
            if eval_set is None:
                eval_set = load_eval_set(root, settings.split, settings.max_puzzles)
                task = get_task(read_task(root))
            if arch is not None and run.arch != arch:
                raise UserError(f"--model {name}: runs mix architectures ({arch} and {run.arch}); one model per name")
            arch = run.arch
            progress_line(f"evaluating {name}: {source} ({eval_set.n_puzzles} puzzles x "
                          f"{1 + settings.n_samples} attempts)")
            runs.append(evaluate_run(run, eval_set, task, settings))
            del run
        models.append(ModelOutcomes(name, arch, runs))
    meta = {"data": str(root), "split": settings.split, "settings": settings.to_dict(), "device": device}
    return models, eval_set.puzzle_ids.tolist(), meta
