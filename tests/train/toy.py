"""A tiny model that implements the trainer's model protocol (docs/ARCHITECTURE.md "Models"), with
an ACT-style carry, random exploration and dropout (so random state matters for exact resume),
and switches that inject faults (NaN, loss spikes, out-of-memory) for the reliability tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from hrm.config import StrictModel
from hrm.data.format import DatasetMetadata, write_split
from hrm.train.config import RunConfig


class ToyConfig(StrictModel):
    arch: Literal["toy"] = "toy"
    hidden: int = Field(16, ge=1)
    segments: int = Field(2, ge=1)
    explore: float = 0.2
    dropout: float = 0.1


class ToyRunConfig(RunConfig):
    model: ToyConfig = ToyConfig()


@dataclass
class ToyCarry:
    z: torch.Tensor
    steps: torch.Tensor
    halted: torch.Tensor
    limit: torch.Tensor
    inputs: torch.Tensor
    labels: torch.Tensor


@dataclass
class StepOutput:
    loss: torch.Tensor
    metrics: dict[str, torch.Tensor]
    diag: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    tokens: torch.Tensor
    steps: torch.Tensor
    diag: dict[str, Any] = field(default_factory=dict)


class ToyModel(nn.Module):
    def __init__(self, cfg: ToyConfig, meta: DatasetMetadata):
        super().__init__()
        self.cfg = cfg
        self.seq_len, h = meta.seq_len, cfg.hidden
        self.embed = nn.Embedding(meta.vocab_size, h)
        self.pos = nn.Parameter(torch.randn(meta.seq_len, h) * 0.1)
        self.mix = nn.Linear(h, h)
        self.head = nn.Linear(h, meta.vocab_size)
        self.halt = nn.Linear(h, 1)
        self.drop = nn.Dropout(cfg.dropout)
        # fault switches, set by tests
        self.calls = 0
        self.nan_calls: set[int] = set()
        self.spike_calls: dict[int, float] = {}
        self.oom_above: int | None = None

    def initial_carry(self, batch_size: int, device: Any) -> ToyCarry:
        z = torch.zeros(batch_size, self.cfg.hidden, device=device)
        ones = torch.ones(batch_size, dtype=torch.bool, device=device)
        zeros = torch.zeros(batch_size, dtype=torch.long, device=device)
        seq = torch.zeros(batch_size, self.seq_len, dtype=torch.long, device=device)
        return ToyCarry(z, zeros, ones, zeros.clone(), seq, seq.clone())

    def rows_to_fill(self, carry: ToyCarry) -> torch.Tensor:
        return carry.halted

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"encoder": [self.embed.weight, self.pos, *self.mix.parameters(), *self.head.parameters()],
                "controller": list(self.halt.parameters())}

    def _segment(self, inputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.mix(self.drop(self.embed(inputs) + self.pos + z[:, None, :])))

    def forward(self, carry: ToyCarry, batch: dict[str, torch.Tensor]) -> tuple[ToyCarry, StepOutput]:
        self.calls += 1
        if self.oom_above is not None and batch["inputs"].shape[0] > self.oom_above:
            raise torch.OutOfMemoryError(f"toy: {batch['inputs'].shape[0]} rows > {self.oom_above}")
        fill = carry.halted
        inputs, labels = carry.inputs.clone(), carry.labels.clone()
        inputs[fill], labels[fill] = batch["inputs"], batch["labels"]
        z = torch.where(fill[:, None], torch.zeros_like(carry.z), carry.z)
        steps = torch.where(fill, torch.zeros_like(carry.steps), carry.steps)
        extra = (torch.rand(fill.shape, device=fill.device) < self.cfg.explore).long()
        limit = torch.where(fill, self.cfg.segments + extra, carry.limit)
        h = self._segment(inputs, z)
        logits = self.head(h)
        mask = labels != -100
        per_cell = F.cross_entropy(logits.transpose(1, 2), labels.clamp(min=0), reduction="none") * mask
        lm = per_cell.sum(1) / mask.sum(1).clamp(min=1)
        correct = ((logits.argmax(-1) == labels) | ~mask).all(1)
        q = self.halt(h.mean(1)).squeeze(-1)
        q_loss = F.binary_cross_entropy_with_logits(q, correct.float(), reduction="none")
        loss = (lm + 0.1 * q_loss).mean()
        if self.calls in self.nan_calls:
            loss = loss * float("nan")
        if self.calls in self.spike_calls:
            loss = loss * self.spike_calls[self.calls]
        steps = steps + 1
        halted = steps >= limit
        with torch.no_grad():
            hf = halted.float()
            count = hf.sum()
            acc = ((logits.argmax(-1) == labels) & mask).sum(1) / mask.sum(1).clamp(min=1)
            metrics = {
                "count": count,
                "lm_loss": (lm * hf).sum() / count.clamp(min=1),
                "accuracy": (acc * hf).sum() / count.clamp(min=1),
                "exact_accuracy": (correct.float() * hf).sum() / count.clamp(min=1),
                "act_steps": (steps.float() * hf).sum() / count.clamp(min=1),
            }
        new = ToyCarry(h.mean(1).detach(), steps, halted, limit, inputs, labels)
        return new, StepOutput(loss, metrics, {"residual_l": [float(h.detach().norm())]})

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], **_: Any) -> Prediction:
        inputs = batch["inputs"]
        z = torch.zeros(inputs.shape[0], self.cfg.hidden, device=inputs.device)
        for _ in range(self.cfg.segments):
            h = self._segment(inputs, z)
            z = h.mean(1)
        steps = torch.full((inputs.shape[0],), self.cfg.segments, device=inputs.device)
        return Prediction(self.head(h).argmax(-1), steps)


def build_toy(cfg: ToyConfig, meta: DatasetMetadata) -> ToyModel:
    return ToyModel(cfg, meta)


def write_toy_dataset(root: Path, groups: int = 48, per_group: int = 2, test: int = 32, seq_len: int = 8,
                      vocab: int = 6, seed: int = 0) -> Path:
    """A learnable puzzle: label = input shifted by one token value (1 = a "blank" kept as is)."""
    rng = np.random.default_rng(seed)

    def split(n_groups: int, per: int) -> tuple[DatasetMetadata, dict[str, np.ndarray]]:
        n = n_groups * per
        inputs = rng.integers(1, vocab, size=(n, seq_len)).astype(np.int32)
        labels = np.where(inputs == 1, 1, (inputs % (vocab - 2)) + 2).astype(np.int32)
        arrays = {
            "inputs": inputs, "labels": labels,
            "puzzle_identifiers": np.zeros(n, dtype=np.int32),
            "puzzle_indices": np.arange(n + 1, dtype=np.int32),
            "group_indices": np.arange(0, n + 1, per, dtype=np.int32),
        }
        meta = DatasetMetadata(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=vocab, seq_len=seq_len,
                               num_puzzle_identifiers=1, total_groups=n_groups, mean_puzzle_examples=1.0, sets=["all"])
        return meta, {"all": arrays}

    for name, (n_groups, per) in {"train": (groups, per_group), "test": (test, 1)}.items():
        meta, sets = split(n_groups, per)
        write_split(root / name, meta, sets)
    return root
