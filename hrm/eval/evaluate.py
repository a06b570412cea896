"""Load a trained run (or one checkpoint) and evaluate it: the glue between runs, models and attempts.

    run = load_run("logs/hrm-demo-1", device="cpu")
    outcome = evaluate_run(run, eval_set, task, settings)     # -> RunOutcomes

The model is rebuilt from the run's resolved config.yaml and the newest checkpoint that verifies
(hrm.train.checkpoint); evaluation never writes into the run directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hrm.errors import UserError
from hrm.eval.outcomes import RunOutcomes
from hrm.eval.sampling import EvalSet, Predictor, run_attempts
from hrm.eval.settings import EvalSettings

IGNORE = -100
_STEP = re.compile(r"^step-(\d+)\.pt$")


@dataclass
class LoadedRun:
    source: str  # what the user named: a run directory or a checkpoint file
    run_dir: Path
    config: Any  # hrm.train.config.RunConfig
    model: torch.nn.Module
    step: int
    train_seconds: float | None
    device: str

    @property
    def arch(self) -> str:
        return self.config.model.arch

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def autoregressive(self) -> bool:
        return bool(getattr(self.model, "autoregressive", False))


def _read_run_config(run_dir: Path):
    from hrm.config import read_yaml, validate
    from hrm.train.config import RunConfig

    path = run_dir / "config.yaml"
    if not path.is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.yaml); name a folder under logs/ or a "
                        "checkpoint file run/checkpoints/step-N.pt")
    return validate(RunConfig, read_yaml(path), str(path))


def _load_state(source: Path) -> tuple[Path, dict[str, Any], int]:
    from hrm.train import checkpoint

    if source.is_file():
        m = _STEP.match(source.name)
        if not m or source.parent.name != "checkpoints":
            raise UserError(f"{source}: expected a checkpoint named run/checkpoints/step-N.pt")
        try:
            state = checkpoint.load(checkpoint.paths_for(source.parent, int(m.group(1))))
        except checkpoint.CheckpointError as exc:
            raise UserError(f"{exc}; name the run directory instead to fall back to an older checkpoint") from None
        return source.parent.parent, state, int(m.group(1))
    if not source.is_dir():
        raise UserError(f"{source}: no such run directory or checkpoint file")
    try:
        found = checkpoint.load_newest(source / "checkpoints")
    except checkpoint.CheckpointError as exc:
        raise UserError(f"{source}: {exc}") from None
    if found is None:
        raise UserError(f"{source}: the run has no checkpoint yet; wait for its first one or train longer")
    state, ckpt, _skipped = found
    return source, state, ckpt.step


def load_run(source: str | Path, device: str = "cpu", data_root: Path | None = None) -> LoadedRun:
    """Rebuild the model of a run (directory or checkpoint file) with its trained weights."""
    from hrm.data.format import read_metadata
    from hrm.models import build_model

    run_dir, state, step = _load_state(Path(source))
    cfg = _read_run_config(run_dir)
    # The model is shaped by the training split's metadata (vocabulary, sequence length, puzzle ids).
    meta_dir = Path(cfg.data.path) / "train"
    if not (meta_dir / "dataset.json").is_file() and data_root is not None:
        meta_dir = Path(data_root) / "train"
    metadata = read_metadata(meta_dir)
    model = build_model(cfg.model, metadata)
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    if missing or unexpected:
        raise UserError(f"{source}: checkpoint does not fit the model in {run_dir / 'config.yaml'} "
                        f"(missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]})")
    model.to(device).eval()
    seconds = state.get("train_seconds")
    return LoadedRun(str(source), run_dir, cfg, model, step, None if seconds is None else float(seconds), device)


def predict_overrides(model: torch.nn.Module, settings: EvalSettings) -> dict[str, Any]:
    """Eval-time options for `model.predict`: those the user set that the model's config has (HRM's
    halt_max_steps_eval and eval_act); a model without them (GPT-2) just runs as it does."""
    wanted: dict[str, Any] = {}
    if settings.halt_max_steps is not None:
        wanted["halt_max_steps_eval"] = settings.halt_max_steps
    if settings.eval_act:
        wanted["eval_act"] = True
    fields = getattr(type(getattr(model, "cfg", None)), "model_fields", {})
    return {k: v for k, v in wanted.items() if k in fields}


def sample_from_logits(pred, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """Sample each cell from softmax(logits / T); cells the model did not take from its logits (givens
    it copies from the input) keep the model's answer."""
    if pred.logits is None:
        raise UserError("--aug-temperature needs a model whose predict returns logits; set it to 0")
    logits = pred.logits.float()
    probs = torch.softmax(logits / temperature, dim=-1).reshape(-1, logits.shape[-1])
    sampled = torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])
    from_logits = pred.tokens == logits.argmax(-1)
    return torch.where(from_logits, sampled, pred.tokens)


def model_predictor(model: torch.nn.Module, device: str, overrides: dict[str, Any]) -> Predictor:
    """Wrap `model.predict` as a numpy function. Labels are never shown to the model."""
    autoregressive = bool(getattr(model, "autoregressive", False))

    def predict(inputs: np.ndarray, puzzle_ids: np.ndarray, temperature: float, seed: int):
        batch = {
            "inputs": torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.int64)).to(device),
            "labels": torch.full(inputs.shape, IGNORE, dtype=torch.int64, device=device),
            "puzzle_identifiers": torch.from_numpy(np.ascontiguousarray(puzzle_ids, dtype=np.int64)).to(device),
        }
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
        if autoregressive and temperature > 0:
            pred = model.predict(batch, **overrides, temperature=temperature, generator=gen)
            tokens = pred.tokens
        else:
            pred = model.predict(batch, **overrides)
            tokens = sample_from_logits(pred, temperature, gen) if temperature > 0 else pred.tokens
        return tokens.cpu().numpy(), pred.steps.float().cpu().numpy()

    return predict


def flops_per_answer(model: torch.nn.Module, overrides: dict[str, Any]) -> float | None:
    """The model's own matmul-FLOP count of one predict call per row, under the eval overrides."""
    count = getattr(model, "flops_per_example", None)
    if count is None:
        return None
    cfg = getattr(model, "cfg", None)
    if not overrides or cfg is None:
        return float(count(train=False))
    model.cfg = cfg.model_copy(update=overrides)
    try:
        return float(count(train=False))
    finally:
        model.cfg = cfg


def evaluate_run(run: LoadedRun, data: EvalSet, task, settings: EvalSettings, progress=None) -> RunOutcomes:
    """Canonical + n attempts per puzzle for one run, verified; see hrm.eval.sampling."""
    from hrm.rundir import RunDir, summarize

    augment = settings.augments(run.autoregressive)
    temperature = settings.temperature if run.autoregressive else settings.aug_temperature
    overrides = predict_overrides(run.model, settings)
    predict = model_predictor(run.model, run.device, overrides)
    with torch.no_grad():
        att = run_attempts(predict, task, data, settings.n_samples, augment=augment, temperature=temperature,
                           seed=settings.seed, batch_size=settings.batch_size, vote=settings.vote, progress=progress)
    train_seconds = run.train_seconds
    if train_seconds is None:
        train_seconds = summarize(RunDir(run.run_dir)).elapsed_s
    return RunOutcomes(
        run=str(run.source), seed=int(run.config.seed), n=att.n, correct=att.correct, label_exact=att.label_exact,
        first_correct=att.first_correct, first_label_exact=att.first_label_exact, first_cell_accuracy=att.first_cell_accuracy, params=run.params,
        forward_passes_per_answer=att.forward_passes_per_answer, train_wall_time_s=train_seconds,
        eval_wall_time_s=att.seconds, vote_rank=att.vote_rank, flops_per_answer=flops_per_answer(run.model, overrides),
        extra={"step": run.step, "augment": augment, "temperature": temperature},
    )
