"""The routed controller: one shared transformer block iterated `inner_steps` times, whose attention
heads are mixed each iteration by weights alphas that a small recurrent controller picks.

    x = embed(inputs);  y = x
    for i in 1..inner_steps:
        alphas_i = router(controller state) / temperature        # a distribution over heads
        heads    = heads(x) once per input  if cache_heads       # cheap: attention runs once
                   heads(y + x) each iteration otherwise          # attention sees the current state
        y = norm(y + o_proj(sum_h alphas_i[h] * heads[h]));  y = norm(y + mlp(y))
        controller reads mean_over_cells(y)
    answer = lm_head(y)

Controllers (`controller`):
- `classical`: one flat recurrent state z (a GRU cell) updated every iteration; it routes.
- `hrm`: a fast state z_L updated every iteration from (summary of y, z_H), a slow state z_H
  updated from z_L every `hrm_T` iterations; z_H routes (the slow level picks the heads).
- `hrm_act`: like `hrm`, but z_H updates when a learned halting gate p = sigmoid(w . z_H + b),
  accumulated per sample, reaches 1 (then 1 is taken off), at most `max_ponders` times; the loss
  adds `ponder_cost * sum_i p_i` (mean over samples). The update is a hard switch in the forward
  pass with a straight-through gradient to the gate.

The model is stateless across training steps (no ACT carry: every row takes a new example each
step) and backpropagates through all iterations. Controller arithmetic runs in fp32 (it is tiny).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
    Trace,
    check_overrides,
    stateless_carry,
)
from hrm.models.embedding import InputEmbedding, PosEncoding, check_head_layout
from hrm.models.routing import HeadRouter, RoutingConfig, RoutingSamples, routing_entropy, routing_metrics
from hrm.models.targets import (
    LossKind,
    LossOn,
    answer_tokens,
    check_blank_token,
    correctness,
    loss_labels,
    masked_mean,
    sequence_loss,
)
from hrm.ops.attention import Attention
from hrm.ops.casted import CastedLinear
from hrm.ops.norm import rms_norm
from hrm.ops.rope import CosSin
from hrm.ops.swiglu import SwiGLU


class RoutedConfig(StrictModel):
    arch: Literal["routed"] = "routed"
    controller: Literal["classical", "hrm", "hrm_act"] = "hrm_act"
    hidden_size: int = Field(128, ge=8)
    num_heads: int = Field(8, ge=1)
    expansion: float = Field(2.0, gt=0)
    controller_size: int = Field(128, ge=1)
    inner_steps: int = Field(8, ge=1)
    cache_heads: bool = False
    hrm_T: int = Field(2, ge=1, description="hrm: z_H updates every hrm_T iterations")
    max_ponders: int = Field(4, ge=1, description="hrm_act: at most this many z_H updates per sample")
    ponder_cost: float = Field(0.01, ge=0)
    halt_bias_init: float = Field(0.0, description="hrm_act: gate bias at init; 0 -> p = 0.5, an update every 2 steps")
    pos_encodings: PosEncoding = "learned"
    grid_shape: tuple[int, int] = (9, 9)
    box_shape: tuple[int, int] | None = (3, 3)
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    puzzle_emb_ndim: int = Field(0, ge=0)
    loss: LossKind = "softmax"
    loss_on: LossOn = "all"
    blank_token: int = Field(1, ge=0)
    routing: RoutingConfig = RoutingConfig()

    @model_validator(mode="after")
    def _check(self) -> RoutedConfig:
        check_head_layout(self.hidden_size, self.num_heads, self.pos_encodings, self.routing.top_k)
        return self


@dataclass
class _Run:
    """What one pass leaves behind: the answer logits, per-row counters and the diagnostics."""

    logits: torch.Tensor
    h_updates: torch.Tensor  # (B,)
    ponder: torch.Tensor  # (B,) sum of halting probabilities (zeros unless hrm_act)
    trace: Trace


def _residual(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """Per-row ||new - old|| (B,)."""
    return (new.detach() - old.detach()).flatten(1).norm(dim=1)


class Controller(nn.Module):
    """The recurrent state(s) that pick alphas; see the module docstring for the three kinds."""

    def __init__(self, cfg: RoutedConfig):
        super().__init__()
        self.kind, self.hrm_T, self.max_ponders = cfg.controller, cfg.hrm_T, cfg.max_ponders
        size = self.size = cfg.controller_size
        self.summary = CastedLinear(cfg.hidden_size, size)
        if cfg.controller == "classical":
            self.cell = nn.GRUCell(size, size)
        else:
            self.L_cell = nn.GRUCell(2 * size, size)
            self.H_cell = nn.GRUCell(size, size)
        if cfg.controller == "hrm_act":
            self.halt = CastedLinear(size, 1, bias=True)
            with torch.no_grad():
                self.halt.weight.zero_()
                self.halt.bias.fill_(cfg.halt_bias_init)
        self.router = HeadRouter(size, cfg.num_heads, cfg.routing)

    def init_state(self, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
        zeros = torch.zeros(batch, self.size, device=device)
        return {"z_L": zeros, "z_H": zeros, "accum": zeros[:, 0], "updates": zeros[:, 0], "ponder": zeros[:, 0]}

    def route(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.router(state["z_L"] if self.kind == "classical" else state["z_H"])

    def update(self, state: dict[str, torch.Tensor], y: torch.Tensor, iteration: int, trace: Trace) -> None:
        """Read the block state y (B, T, hidden) after `iteration` (1-based) and step the controller."""
        summary = self.summary(y.mean(dim=1)).float()
        z_L, z_H = state["z_L"], state["z_H"]
        if self.kind == "classical":
            new_L = self.cell(summary, z_L)
            trace.residual_l.append(_residual(new_L, z_L).mean())
            state["z_L"] = new_L
            return
        new_L = self.L_cell(torch.cat((summary, z_H), dim=-1), z_L)
        trace.residual_l.append(_residual(new_L, z_L).mean())
        state["z_L"] = new_L
        candidate = self.H_cell(new_L, z_H)
        if self.kind == "hrm":
            if iteration % self.hrm_T == 0:
                trace.residual_h.append(_residual(candidate, z_H).mean())
                state["z_H"] = candidate
                state["updates"] = state["updates"] + 1
            return
        p = torch.sigmoid(self.halt(z_H)).squeeze(-1)
        state["ponder"] = state["ponder"] + p
        accum = state["accum"] + p
        fire = (accum >= 1) & (state["updates"] < self.max_ponders)
        switch = fire.float() + p - p.detach()  # 0/1 forward, d/dp backward (straight-through)
        new_H = z_H + switch[:, None] * (candidate - z_H)
        fired = fire.sum()
        trace.residual_h.append((_residual(new_H, z_H) * fire).sum() / fired.clamp_min(1))  # over rows that updated
        state["z_H"] = new_H
        state["accum"] = torch.where(fire, accum - 1, accum)
        state["updates"] = state["updates"] + fire.float()

    def flops_per_iteration(self, hidden: int) -> float:
        size = self.size
        gru = (lambda inp: 2.0 * 3 * (inp * size + size * size))  # noqa: E731
        cells = gru(size) if self.kind == "classical" else gru(2 * size) + gru(size)
        return 2.0 * hidden * size + cells + self.router.flops_per_call() + (2.0 * size if self.kind == "hrm_act" else 0)


class RoutedModel(TaskModel):
    def __init__(self, cfg: RoutedConfig, shape: TaskShape):
        super().__init__()
        check_blank_token(cfg.loss_on, cfg.blank_token, shape.vocab_size)
        self.cfg, self.shape = cfg, shape
        self.embed = InputEmbedding(
            shape, cfg.hidden_size, cfg.num_heads, cfg.pos_encodings, cfg.puzzle_emb_ndim, cfg.grid_shape,
            cfg.box_shape, cfg.rope_theta,
        )
        self.puzzle_len = self.embed.puzzle_len
        self.attn = Attention(cfg.hidden_size, cfg.num_heads)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.expansion)
        self.controller = Controller(cfg)
        self.lm_head = CastedLinear(cfg.hidden_size, shape.vocab_size)

    def _run(self, batch: Batch) -> _Run:
        cfg, eps, dtype = self.cfg, self.cfg.rms_norm_eps, self.forward_dtype
        x = self.embed(batch["inputs"], batch["puzzle_identifiers"], dtype)
        cos_sin: CosSin | None = self.embed.cos_sin()
        cached = self.attn.head_outputs(x, cos_sin) if cfg.cache_heads else None
        state = self.controller.init_state(x.shape[0], x.device)
        trace = Trace()
        y = x
        for i in range(1, cfg.inner_steps + 1):
            alphas = self.controller.route(state)
            trace.alphas.append(alphas)
            heads = cached if cached is not None else self.attn.head_outputs(y + x, cos_sin)
            y = rms_norm(y + self.attn.project(heads, alphas), eps)
            y = rms_norm(y + self.mlp(y), eps)
            self.controller.update(state, y, i, trace)
        return _Run(self.lm_head(y[:, self.puzzle_len :]), state["updates"], state["ponder"], trace)

    def _diag(self, run: _Run) -> dict[str, Any]:
        trace = run.trace
        return {
            "residual_l": trace.residual_l,
            "residual_h": trace.residual_h,
            "routing_samples": RoutingSamples(trace.alphas[-1], self.cfg.routing.samples, self.cfg.routing.top_k),
        }

    # ---- protocol ---------------------------------------------------------------------------------
    def initial_carry(self, batch_size: int, device: torch.device | str) -> StatelessCarry:
        return stateless_carry(batch_size, device)

    def forward(self, carry: StatelessCarry, batch: Batch) -> tuple[StatelessCarry, StepOutput]:
        cfg = self.cfg
        self.check_batch(batch, rows=carry.halted)
        run = self._run(batch)
        inputs, labels = batch["inputs"], batch["labels"]
        lm_loss = sequence_loss(run.logits, loss_labels(labels, inputs, cfg.loss_on), cfg.loss).mean()
        entropy = torch.stack([routing_entropy(a).mean() for a in run.trace.alphas]).mean()
        ponder = run.ponder.mean()
        loss = lm_loss + cfg.routing.entropy_reg * entropy + cfg.ponder_cost * ponder
        with torch.no_grad():
            tokens = answer_tokens(run.logits, inputs, cfg.loss_on, cfg.blank_token)
            cell_acc, exact, rows = correctness(tokens, labels)
            count = rows.sum()
            metrics = {
                "lm_loss": lm_loss.detach(),
                "count": count.float(),
                "accuracy": masked_mean(cell_acc, rows, count),
                "exact_accuracy": masked_mean(exact, rows, count),
                "act_steps": torch.ones((), device=inputs.device),
                "h_updates": masked_mean(run.h_updates, rows, count),
                "ponder": ponder.detach(),
                **routing_metrics(run.trace.alphas, self.controller.router.temperature),
            }
        return carry, StepOutput(loss=loss, metrics=metrics, raw_diag=self._diag(run))

    @torch.no_grad()
    def predict(self, batch: Batch, **eval_overrides: Any) -> Prediction:
        check_overrides((), eval_overrides)
        self.check_batch(batch)
        was_training = self.training
        self.eval()
        try:
            run = self._run(batch)
        finally:
            self.train(was_training)
        inputs = batch["inputs"]
        tokens = answer_tokens(run.logits, inputs, self.cfg.loss_on, self.cfg.blank_token)
        raw_diag = self._diag(run)
        raw_diag["h_updates"] = run.h_updates.mean()
        raw_diag.update(routing_metrics(run.trace.alphas, self.controller.router.temperature))
        steps = torch.ones(inputs.shape[0], dtype=torch.int32, device=inputs.device)
        return Prediction(tokens=tokens, steps=steps, logits=run.logits.float(), raw_diag=raw_diag)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """controller: the recurrent controller, its router and halting gate; encoder: the rest."""
        controller = list(self.controller.parameters())
        ids = {id(p) for p in controller}
        return {"encoder": [p for p in self.parameters() if id(p) not in ids], "controller": controller}

    def flops_per_example(self, train: bool) -> float:
        cfg, tokens = self.cfg, self.embed.total_len
        attn_heads = self.attn.flops_per_token(tokens) - 2.0 * cfg.hidden_size**2  # without o_proj
        per_iter = tokens * (2.0 * cfg.hidden_size**2 + self.mlp.flops_per_token())
        per_iter += self.controller.flops_per_iteration(cfg.hidden_size)
        attention = tokens * attn_heads * (1 if cfg.cache_heads else cfg.inner_steps)
        forward = attention + cfg.inner_steps * per_iter + 2.0 * cfg.hidden_size * self.shape.vocab_size * self.shape.seq_len
        return 3.0 * forward if train else forward  # backward through every iteration ~ 2x forward
