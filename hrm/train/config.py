"""The run configuration: what `hrm train` reads from a preset in `configs/` plus `key=value` overrides.

Every field has a default, so a preset names only what differs; unknown keys, wrong types and
out-of-range values are all reported at once with their key paths (hrm.config.ConfigError).
The resolved config, every default spelled out, is written to `<run>/config.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hrm.config import StrictModel, load_config, resolve_config_path
from hrm.models import HRMActConfig, ModelConfig

TASKS = ("sudoku", "maze", "arc", "sort")


class DataConfig(StrictModel):
    path: str = "data/sudoku-demo"
    task: Literal["sudoku", "maze", "arc", "sort"] = "sudoku"
    # The `hrm build-data` arguments that create `path` when it is missing, e.g. "sudoku --out data/x".
    build: str = ""
    eval_split: str = "test"
    eval_examples: int = Field(0, ge=0, description="0 = the whole split")
    eval_batch_size: int = Field(0, ge=0, description="0 = the training micro-batch")


class TrainConfig(StrictModel):
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    compile: bool = False
    global_batch_size: int = Field(64, ge=1)
    micro_batch_size: int = Field(0, ge=0, description="0 = autotune (largest that fits)")
    max_steps: int = Field(0, ge=0)
    max_minutes: float = Field(0.0, ge=0)
    epochs: float = Field(0.0, ge=0)
    eval_every: int = Field(500, ge=0, description="steps; 0 = only at the end")
    log_every: int = Field(10, ge=1)
    diag_every: int = Field(100, ge=0, description="steps between diag records; 0 = none")
    system_every_s: float = Field(10.0, ge=0)
    checkpoint_every: int = Field(500, ge=0, description="steps; 0 = only by time and at the end")
    checkpoint_minutes: float = Field(10.0, ge=0)
    keep_checkpoints: int = Field(3, ge=2, description="the newest may be mid-write: keep at least 2")
    threads: int = Field(0, ge=0, description="CPU threads per process; 0 = cores / local ranks")
    deterministic: bool = False
    grad_checkpointing: bool = False

    @model_validator(mode="after")
    def _has_a_stop(self) -> TrainConfig:
        if not (self.max_steps or self.max_minutes or self.epochs):
            raise ValueError("set at least one of max_steps, max_minutes, epochs so the run ends")
        if self.micro_batch_size and self.micro_batch_size > self.global_batch_size:
            raise ValueError(
                f"micro_batch_size {self.micro_batch_size} exceeds global_batch_size {self.global_batch_size}"
            )
        return self


class EncoderGroup(StrictModel):
    lr: float | None = Field(None, gt=0, description="None = optim.lr")
    clip: float = Field(1.0, ge=0, description="max grad norm of this group; 0 = no clipping")


class ControllerGroup(StrictModel):
    lr: float | None = Field(None, gt=0)
    clip: float = Field(0.5, ge=0)
    frozen_epochs: float = Field(0.0, ge=0, description="controller learning rate 0 for this many epochs")


class Groups(StrictModel):
    encoder: EncoderGroup = EncoderGroup()
    controller: ControllerGroup = ControllerGroup()


class PuzzleEmbOptim(StrictModel):
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(0.1, ge=0)


class OptimConfig(StrictModel):
    name: Literal["adamatan2", "adamw"] = "adamatan2"
    lr: float = Field(1e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = Field(0.1, ge=0)
    warmup_steps: int = Field(100, ge=0)
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    clip: float = Field(1.0, ge=0, description="max grad norm of groups not configured below; 0 = none")
    groups: Groups = Groups()
    # The sparse puzzle-embedding table is trained by sign-SGD (the reference's), on the same schedule.
    puzzle_emb: PuzzleEmbOptim = PuzzleEmbOptim()

    @model_validator(mode="after")
    def _betas_in_range(self) -> OptimConfig:
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas {self.betas} must lie in [0, 1)")
        return self


class ReliabilityConfig(StrictModel):
    nan_skip: bool = True
    rollback_after: int = Field(5, ge=1, description="bad steps in a row before rolling back")
    max_rollbacks: int = Field(3, ge=0, description="rollbacks without progress before the run counts as diverged")
    rollback_lr_factor: float = Field(0.5, gt=0, le=1)
    spike_sigma: float = Field(6.0, ge=0, description="0 = no loss-spike detection")
    spike_window: int = Field(128, ge=2)
    spike_warmup: int = Field(64, ge=2)
    grad_explosion_factor: float = Field(10.0, ge=0, description="0 = no gradient-explosion detection")
    heartbeat_s: float = Field(2.0, gt=0)
    stall_timeout_s: float = Field(300.0, gt=0)
    startup_timeout_s: float = Field(600.0, gt=0)
    attempt_timeout_s: float = Field(0.0, ge=0, description="wall-clock cap per supervised attempt; 0 = none")
    max_restarts: int = Field(5, ge=0)
    backoff_s: float = Field(5.0, ge=0)
    pg_timeout_s: float = Field(600.0, gt=0, description="torch.distributed process-group timeout")


class GateConfig(StrictModel):
    step: int = Field(ge=1)
    metric: Literal["exact_accuracy", "accuracy"] = "exact_accuracy"
    min: float = Field(ge=0, le=1)


class RunConfig(StrictModel):
    name: str = "run"
    preset: str = ""
    seed: int = 0
    data: DataConfig = DataConfig()
    model: ModelConfig = Field(default_factory=HRMActConfig)
    train: TrainConfig = TrainConfig(max_steps=1000)
    optim: OptimConfig = OptimConfig()
    reliability: ReliabilityConfig = ReliabilityConfig()
    gate: GateConfig | None = None


def load_run_config(
    name_or_path: str | Path, overrides: list[str] | None = None, config_cls: type[RunConfig] = RunConfig
) -> RunConfig:
    """A preset (name in configs/ or a path) with overrides, validated; `preset` is the file's stem."""
    path = resolve_config_path(name_or_path)
    cfg = load_config(config_cls, path, overrides)
    if not cfg.preset:
        cfg.preset = path.stem
    return cfg
