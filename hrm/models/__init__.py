"""Model registry: one line per architecture in `_REGISTRY` (config class, model class).

`ModelConfig` is the pydantic union of the config classes, discriminated by their `arch` field,
so a config section `model: {arch: routed, hidden_size: 128}` validates against the right class;
without `arch` it is the first architecture here (hrm_act).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag
from torch import nn

from hrm.models.base import (
    BatchMismatchError,
    ModelConfigError,
    Prediction,
    StatelessCarry,
    StepOutput,
    TaskModel,
    TaskShape,
)
from hrm.models.hrm_act import HRMAct, HRMActConfig
from hrm.models.routed import RoutedConfig, RoutedModel
from hrm.ops.puzzle_embedding import SparsePuzzleEmbedding

_REGISTRY: list[tuple[type, type[TaskModel]]] = [
    (HRMActConfig, HRMAct),
    (RoutedConfig, RoutedModel),
]

ARCHITECTURES: dict[str, type[TaskModel]] = {cfg.model_fields["arch"].default: model for cfg, model in _REGISTRY}
DEFAULT_ARCH = next(iter(ARCHITECTURES))


def _arch_of(value: Any) -> str:
    return value.get("arch", DEFAULT_ARCH) if isinstance(value, dict) else getattr(value, "arch", DEFAULT_ARCH)


ModelConfig = Annotated[
    Union[tuple(Annotated[cfg, Tag(cfg.model_fields["arch"].default)] for cfg, _ in _REGISTRY)],  # noqa: UP007
    Discriminator(_arch_of),
]


def build_model(cfg: Any, metadata: Any) -> TaskModel:
    """The model for `cfg` sized for a dataset (`metadata`: vocab_size, seq_len, num_puzzle_identifiers,
    e.g. `hrm.data.format.DatasetMetadata`). Weights are fp32 on the CPU; move with `.to(device)`."""
    for cfg_class, model_class in _REGISTRY:
        if isinstance(cfg, cfg_class):
            return model_class(cfg, TaskShape.of(metadata))
    known = ", ".join(ARCHITECTURES)
    raise ModelConfigError(f"model.arch: no architecture for {type(cfg).__name__}; known: {known}")


def count_parameters(model: nn.Module, exclude_puzzle_emb: bool = True) -> int:
    """Trainable parameters; with exclude_puzzle_emb=False the sparse puzzle-embedding tables too."""
    total = sum(p.numel() for p in model.parameters())
    if not exclude_puzzle_emb:
        total += sum(m.weight.numel() for m in model.modules() if isinstance(m, SparsePuzzleEmbedding))
    return total


__all__ = [
    "ARCHITECTURES",
    "BatchMismatchError",
    "HRMAct",
    "HRMActConfig",
    "ModelConfig",
    "ModelConfigError",
    "Prediction",
    "RoutedConfig",
    "RoutedModel",
    "StatelessCarry",
    "StepOutput",
    "TaskModel",
    "TaskShape",
    "build_model",
    "count_parameters",
]
