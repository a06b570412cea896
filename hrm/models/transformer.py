"""The paper's direct-prediction baseline: HRM's blocks stacked once, no recurrence, no ACT.

The HRM paper compares against "a Transformer with the same size as HRM, trained under the same
settings", which answers every cell in one pass. Here that is H_layers + L_layers of HRM's
post-norm blocks (RMSNorm, RoPE or grid positions, SwiGLU, non-causal attention) over the same
input embedding, the same output head, loss and scoring; only the two-level recurrence, the
carried states and the halting head are gone. With the defaults (8 layers, hidden 512) it has the
parameters of HRM-ACT less its 2-logit Q-head.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from hrm.config import StrictModel
from hrm.models.base import (
    Batch,
    Prediction,
    StatelessCarry,
    StepOutput,
    TaskModel,
    TaskShape,
    check_overrides,
    stateless_carry,
)
from hrm.models.embedding import InputEmbedding, PosEncoding, check_head_layout
from hrm.models.hrm_act import HRMBlock
from hrm.models.targets import (
    LossKind,
    LossOn,
    answer_tokens,
    check_blank_token,
    correctness,
    loss_labels,
    sequence_loss,
)
from hrm.ops.casted import CastedLinear


class TransformerConfig(StrictModel):
    """Fields mean what they mean in HRMActConfig; num_layers replaces H_layers + L_layers."""

    arch: Literal["transformer"] = "transformer"
    hidden_size: int = Field(512, ge=8)
    num_heads: int = Field(8, ge=1)
    expansion: float = Field(4.0, gt=0)
    num_layers: int = Field(8, ge=1)
    pos_encodings: PosEncoding = "rope"
    grid_shape: tuple[int, int] = (9, 9)
    box_shape: tuple[int, int] | None = (3, 3)
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    norm: Literal["post", "pre"] = "post"
    puzzle_emb_ndim: int = Field(512, ge=0, description="0 = no puzzle embedding")
    loss: LossKind = "stablemax"
    loss_on: LossOn = "all"
    blank_token: int = Field(1, ge=0, description="with loss_on: changed, the input token of cells to fill")

    @model_validator(mode="after")
    def _check(self) -> TransformerConfig:
        check_head_layout(self.hidden_size, self.num_heads, self.pos_encodings, None)
        return self


class DirectTransformer(TaskModel):
    carry_type = StatelessCarry

    def __init__(self, cfg: TransformerConfig, shape: TaskShape):
        super().__init__()
        check_blank_token(cfg.loss_on, cfg.blank_token, shape.vocab_size)
        self.cfg, self.shape = cfg, shape
        self.embed = InputEmbedding(shape, cfg.hidden_size, cfg.num_heads, cfg.pos_encodings, cfg.puzzle_emb_ndim,
                                    cfg.grid_shape, cfg.box_shape, cfg.rope_theta)
        self.puzzle_len = self.embed.puzzle_len
        # HRMBlock reads hidden_size, num_heads, expansion, rms_norm_eps and norm, which this config shares.
        self.layers = nn.ModuleList(HRMBlock(cfg) for _ in range(cfg.num_layers))  # type: ignore[arg-type]
        self.lm_head = CastedLinear(cfg.hidden_size, shape.vocab_size)

    def _logits(self, batch: Batch) -> torch.Tensor:
        x = self.embed(batch["inputs"], batch["puzzle_identifiers"], self.forward_dtype)
        cos_sin = self.embed.cos_sin()
        for layer in self.layers:
            x = layer(x, cos_sin)
        return self.lm_head(self.layers[-1].readout(x)[:, self.puzzle_len:])

    def initial_carry(self, batch_size: int, device: torch.device | str) -> StatelessCarry:
        return stateless_carry(batch_size, device)

    def forward(self, carry: StatelessCarry, batch: Batch) -> tuple[StatelessCarry, StepOutput]:
        cfg = self.cfg
        self.check_batch(batch, rows=carry.halted)
        inputs, labels = batch["inputs"], batch["labels"]
        logits = self._logits(batch)
        lm_loss = sequence_loss(logits, loss_labels(labels, inputs, cfg.loss_on), cfg.loss).mean()
        with torch.no_grad():
            tokens = answer_tokens(logits, inputs, cfg.loss_on, cfg.blank_token)
            cell_acc, exact, has = correctness(tokens, labels)
            n = has.sum().clamp_min(1)
            metrics = {
                "count": has.sum().float(),
                "lm_loss": lm_loss.detach(),
                "accuracy": (cell_acc * has).sum() / n,
                "exact_accuracy": (exact & has).sum() / n,
                "act_steps": torch.tensor(1.0, device=inputs.device),
            }
        return stateless_carry(inputs.shape[0], inputs.device), StepOutput(loss=lm_loss, metrics=metrics)

    @torch.no_grad()
    def predict(self, batch: Batch, **eval_overrides) -> Prediction:
        check_overrides((), eval_overrides)
        self.check_batch(batch)
        was_training = self.training
        self.eval()
        try:
            logits = self._logits(batch).float()
        finally:
            self.train(was_training)
        tokens = answer_tokens(logits, batch["inputs"], self.cfg.loss_on, self.cfg.blank_token)
        steps = torch.ones(tokens.shape[0], dtype=torch.int32, device=tokens.device)
        return Prediction(tokens=tokens, steps=steps, logits=logits)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"encoder": list(self.parameters()), "controller": []}

    def flops_per_example(self, train: bool) -> float:
        tokens = self.embed.total_len
        body = sum(layer.flops_per_token(tokens) for layer in self.layers) * tokens
        head = 2.0 * self.cfg.hidden_size * self.shape.vocab_size * self.shape.seq_len
        return 3.0 * (body + head) if train else body + head
