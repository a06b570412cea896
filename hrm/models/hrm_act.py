"""HRM-ACT v1: the Hierarchical Reasoning Model with adaptive computation time (arXiv:2506.21734),
faithful to the reference implementation (sapientinc/HRM, models/hrm/hrm_act_v1.py).

One ACT *segment* (one `forward` call) runs H_cycles x L_cycles steps of two recurrent transformer
modules on the carried states z_H (slow) and z_L (fast):

    for each H cycle:  L_cycles times  z_L <- L(z_L, z_H + x)     # the input x goes into L only
                       then            z_H <- H(z_H, z_L)

With `grad: one_step` (the paper's 1-step gradient) every update but the last L and the last H runs
under no_grad, so memory does not grow with the cycles; `bptt` backpropagates through all of them.
The answer is lm_head(z_H); q_head(z_H[:, 0]) gives two logits, halt and continue.

Deep supervision: the states are detached and carried to the next training step, and a row keeps
its example until it halts: by Q (q_halt > q_continue), at `halt_max_steps`, never before a random
minimum with probability `halt_exploration_prob`. The continue target is bootstrapped from a second
no-grad segment (`act_continue: true`, as in the paper); `act_continue: false` is the TRM
simplification: halt when q_halt > 0, no continue loss, no second pass (6 of the 16 module-call
equivalents of a paper step). At evaluation every row runs `halt_max_steps_eval` segments, or halts
by Q with `eval_act: true`.

Loss: cross-entropy (stablemax in float64 as the reference, or softmax) averaged per sequence,
plus 0.5 * (BCE(q_halt, answer exactly right) + BCE(q_continue, target)).

Optional head routing (`route_heads`, off in the paper preset): a router reads the mean of z_H and
gates the L module's attention heads, so runs report where the model routes.

Loading reference checkpoints: `load_reference_state_dict` maps the reference's parameter names
(see `reference_state_dict`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from hrm.config import StrictModel
from hrm.models.base import (
    Batch,
    Prediction,
    StepOutput,
    TaskModel,
    TaskShape,
    Trace,
    check_overrides,
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
from hrm.ops.init import trunc_normal_init_
from hrm.ops.losses import IGNORE_INDEX
from hrm.ops.norm import rms_norm
from hrm.ops.rope import CosSin
from hrm.ops.swiglu import SwiGLU


class HRMActConfig(StrictModel):
    """Defaults are the paper's Sudoku/Maze/ARC architecture (27,275,266 parameters for vocab 11,
    seq 81, one puzzle identifier, without the puzzle-embedding table)."""

    arch: Literal["hrm_act"] = "hrm_act"
    hidden_size: int = Field(512, ge=8)
    num_heads: int = Field(8, ge=1)
    expansion: float = Field(4.0, gt=0)
    H_layers: int = Field(4, ge=1)
    L_layers: int = Field(4, ge=1)
    H_cycles: int = Field(2, ge=1)
    L_cycles: int = Field(2, ge=1)
    pos_encodings: PosEncoding = "rope"
    grid_shape: tuple[int, int] = (9, 9)
    box_shape: tuple[int, int] | None = (3, 3)
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    # post: x <- norm(x + f(x)), the paper's block. pre: x <- x + f(norm(x)) inside each module and
    # the module's output normalised; measured on the CPU demo it leaves the ln 9 plateau that
    # post-norm sits on (README, "The CPU demo").
    norm: Literal["post", "pre"] = "post"
    puzzle_emb_ndim: int = Field(512, ge=0, description="0 = no puzzle embedding")
    halting: Literal["act", "fixed"] = "act"
    halt_max_steps: int = Field(16, ge=1)
    halt_max_steps_eval: int | None = Field(None, ge=1, description="None = halt_max_steps")
    halt_exploration_prob: float = Field(0.1, ge=0, le=1)
    act_continue: bool = True
    eval_act: bool = False
    grad: Literal["one_step", "bptt"] = "one_step"
    loss: LossKind = "stablemax"
    loss_on: LossOn = "all"
    blank_token: int = Field(1, ge=0, description="with loss_on: changed, the input token of cells to fill")
    route_heads: bool = False
    routing: RoutingConfig = RoutingConfig()

    @model_validator(mode="after")
    def _check(self) -> HRMActConfig:
        top_k = self.routing.top_k if self.route_heads else None
        check_head_layout(self.hidden_size, self.num_heads, self.pos_encodings, top_k)
        return self

    @property
    def eval_steps(self) -> int:
        return self.halt_max_steps_eval or self.halt_max_steps


EVAL_OVERRIDES = ("halt_max_steps_eval", "eval_act")


@dataclass
class HRMCarry:
    z_H: torch.Tensor  # (B, T, hidden) in the forward dtype, detached
    z_L: torch.Tensor
    steps: torch.Tensor  # (B,) int32: segments the current example has run
    halted: torch.Tensor  # (B,) bool: the slot takes a new example next step
    current: dict[str, torch.Tensor]  # the examples in the slots: inputs, labels, puzzle_identifiers


class HRMBlock(nn.Module):
    """Transformer block, post-norm (x <- norm(x + attn(x)); x <- norm(x + mlp(x))) as in the paper,
    or pre-norm (x <- x + attn(norm(x)); x <- x + mlp(norm(x)))."""

    def __init__(self, cfg: HRMActConfig):
        super().__init__()
        self.self_attn = Attention(cfg.hidden_size, cfg.num_heads, causal=False)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.expansion)
        self.eps, self.pre_norm = cfg.rms_norm_eps, cfg.norm == "pre"

    def forward(self, x: torch.Tensor, cos_sin: CosSin | None, gates: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.self_attn(rms_norm(x, self.eps), cos_sin, gates)
            return x + self.mlp(rms_norm(x, self.eps))
        x = rms_norm(x + self.self_attn(x, cos_sin, gates), self.eps)
        return rms_norm(x + self.mlp(x), self.eps)

    def readout(self, z: torch.Tensor) -> torch.Tensor:
        """What output heads read: post-norm states are normalised already, pre-norm ones are not."""
        return rms_norm(z, self.eps) if self.pre_norm else z

    def flops_per_token(self, seq_len: int) -> float:
        return self.self_attn.flops_per_token(seq_len) + self.mlp.flops_per_token()


class ReasoningModule(nn.Module):
    """A stack of blocks applied to (state + injection)."""

    def __init__(self, cfg: HRMActConfig, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(HRMBlock(cfg) for _ in range(num_layers))

    def forward(
        self, z: torch.Tensor, injection: torch.Tensor, cos_sin: CosSin | None, gates: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = z + injection
        for layer in self.layers:
            z = layer(z, cos_sin, gates)
        # Pre-norm blocks leave the residual stream unnormalised; normalising each update keeps the
        # carried states bounded over cycles and segments, as the post-norm blocks do.
        return self.layers[-1].readout(z)

    def flops_per_token(self, seq_len: int) -> float:
        return sum(layer.flops_per_token(seq_len) for layer in self.layers)


def _residual(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ||new - old|| (L2 over all cells and features): the paper's forward residual."""
    return (new.detach() - old.detach()).float().flatten(1).norm(dim=1).mean()


class HRMAct(TaskModel):
    carry_type = HRMCarry

    def __init__(self, cfg: HRMActConfig, shape: TaskShape):
        super().__init__()
        check_blank_token(cfg.loss_on, cfg.blank_token, shape.vocab_size)
        self.cfg, self.shape = cfg, shape
        hidden = cfg.hidden_size
        self.embed = InputEmbedding(
            shape, hidden, cfg.num_heads, cfg.pos_encodings, cfg.puzzle_emb_ndim, cfg.grid_shape, cfg.box_shape,
            cfg.rope_theta,
        )
        self.puzzle_len = self.embed.puzzle_len
        self.lm_head = CastedLinear(hidden, shape.vocab_size)
        self.q_head = CastedLinear(hidden, 2, bias=True)
        with torch.no_grad():  # Q starts near "never halt" so early segments are not cut short
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        self.H_level = ReasoningModule(cfg, cfg.H_layers)
        self.L_level = ReasoningModule(cfg, cfg.L_layers)
        # Fixed random initial states (saved, never trained), as in the reference.
        self.register_buffer("H_init", trunc_normal_init_(torch.empty(hidden), std=1.0))
        self.register_buffer("L_init", trunc_normal_init_(torch.empty(hidden), std=1.0))
        self.router = HeadRouter(hidden, cfg.num_heads, cfg.routing) if cfg.route_heads else None

    # ---- the recurrence ---------------------------------------------------------------------------
    def _reason(
        self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor, cos_sin: CosSin | None, trace: Trace | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One segment: H_cycles x L_cycles updates. Only the last L and H update keep a graph unless bptt.
        Residuals and alphas go into `trace` (None: not recorded, e.g. for the target pass)."""
        cfg = self.cfg
        grad_on = torch.is_grad_enabled()
        full_graph = cfg.grad == "bptt"
        gates = None
        for h in range(cfg.H_cycles):
            last_h = h == cfg.H_cycles - 1
            if self.router is not None:
                with torch.set_grad_enabled(grad_on and (full_graph or last_h)):
                    gates = self.router(z_H.mean(dim=1))
                if trace is not None:
                    trace.alphas.append(gates)
            for step in range(cfg.L_cycles):
                keep_graph = full_graph or (last_h and step == cfg.L_cycles - 1)
                with torch.set_grad_enabled(grad_on and keep_graph):
                    new = self.L_level(z_L, z_H + x, cos_sin, gates)
                if trace is not None:
                    trace.residual_l.append(_residual(new, z_L))
                z_L = new
            with torch.set_grad_enabled(grad_on and (full_graph or last_h)):
                new = self.H_level(z_H, z_L, cos_sin)
            if trace is not None:
                trace.residual_h.append(_residual(new, z_H))
            z_H = new
        return z_H, z_L

    def _q_logits(self, z_H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.q_head(z_H[:, 0]).float()
        return q[:, 0], q[:, 1]

    def _wants_halt(self, q_halt: torch.Tensor, q_continue: torch.Tensor) -> torch.Tensor:
        return q_halt > q_continue if self.cfg.act_continue else q_halt > 0

    # ---- protocol ---------------------------------------------------------------------------------
    def initial_carry(self, batch_size: int, device: torch.device | str) -> HRMCarry:
        z = torch.zeros(batch_size, self.embed.total_len, self.cfg.hidden_size, dtype=self.forward_dtype, device=device)
        seq = (batch_size, self.shape.seq_len)
        return HRMCarry(
            z_H=z,
            z_L=z.clone(),
            steps=torch.zeros(batch_size, dtype=torch.int32, device=device),
            halted=torch.ones(batch_size, dtype=torch.bool, device=device),
            current={
                "inputs": torch.zeros(seq, dtype=torch.int64, device=device),
                "labels": torch.full(seq, IGNORE_INDEX, dtype=torch.int64, device=device),
                "puzzle_identifiers": torch.zeros(batch_size, dtype=torch.int64, device=device),
            },
        )

    def forward(self, carry: HRMCarry, batch: Batch) -> tuple[HRMCarry, StepOutput]:
        cfg = self.cfg
        halted = carry.halted
        self.check_batch(batch, rows=halted)
        current = _fill_slots(carry.current, halted, batch)
        dtype = self.forward_dtype
        reset = halted.view(-1, 1, 1)
        z_H = torch.where(reset, self.H_init.to(dtype), carry.z_H.to(dtype))
        z_L = torch.where(reset, self.L_init.to(dtype), carry.z_L.to(dtype))
        steps = torch.where(halted, 0, carry.steps) + 1

        x = self.embed(current["inputs"], current["puzzle_identifiers"], dtype)
        cos_sin = self.embed.cos_sin()
        trace = Trace()
        z_H, z_L = self._reason(z_H, z_L, x, cos_sin, trace)
        logits = self.lm_head(z_H[:, self.puzzle_len :])
        q_halt, q_continue = self._q_logits(z_H)

        with torch.no_grad():
            is_last = steps >= cfg.halt_max_steps
            new_halted = is_last
            target = None
            if self.training and cfg.halting == "act" and cfg.halt_max_steps > 1:
                new_halted = new_halted | self._wants_halt(q_halt, q_continue)
                explore = torch.rand_like(q_halt) < cfg.halt_exploration_prob
                min_steps = explore * torch.randint_like(steps, low=2, high=cfg.halt_max_steps + 1)
                new_halted = new_halted & (steps >= min_steps)
                if cfg.act_continue:
                    # Bootstrapped target from the next segment (no replay buffer: many rows in parallel).
                    next_H, _ = self._reason(z_H, z_L, x, cos_sin, None)
                    next_halt, next_continue = self._q_logits(next_H)
                    target = torch.sigmoid(torch.where(is_last, next_halt, torch.maximum(next_halt, next_continue)))

        new_carry = HRMCarry(z_H.detach(), z_L.detach(), steps, new_halted, current)
        loss, metrics = self._loss_and_metrics(logits, q_halt, q_continue, target, current, steps, new_halted, trace)
        raw_diag: dict[str, Any] = {"residual_l": trace.residual_l, "residual_h": trace.residual_h}
        if trace.alphas:
            raw_diag["routing_samples"] = RoutingSamples(trace.alphas[-1], cfg.routing.samples, cfg.routing.top_k)
        return new_carry, StepOutput(loss=loss, metrics=metrics, raw_diag=raw_diag)

    def _loss_and_metrics(
        self,
        logits: torch.Tensor,
        q_halt: torch.Tensor,
        q_continue: torch.Tensor,
        target: torch.Tensor | None,
        current: Batch,
        steps: torch.Tensor,
        halted: torch.Tensor,
        trace: Trace,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.cfg
        inputs, labels = current["inputs"], current["labels"]
        lm_loss = sequence_loss(logits, loss_labels(labels, inputs, cfg.loss_on), cfg.loss).mean()
        with torch.no_grad():
            tokens = answer_tokens(logits, inputs, cfg.loss_on, cfg.blank_token)
            cell_acc, exact, has_labels = correctness(tokens, labels)
            rows = halted & has_labels
            count = rows.sum()
        loss = lm_loss
        metrics = {"lm_loss": lm_loss.detach()}
        if cfg.halting == "act":
            q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, exact.to(q_halt.dtype))
            loss = loss + 0.5 * q_halt_loss
            metrics["q_halt_loss"] = q_halt_loss.detach()
            if target is not None:
                q_continue_loss = F.binary_cross_entropy_with_logits(q_continue, target)
                loss = loss + 0.5 * q_continue_loss
                metrics["q_continue_loss"] = q_continue_loss.detach()
            metrics["q_halt_accuracy"] = masked_mean((q_halt >= 0) == exact, rows, count)
        if trace.alphas:
            entropy = routing_entropy(trace.alphas[-1]).mean()  # the routing event that carries a graph
            if cfg.routing.entropy_reg:
                loss = loss + cfg.routing.entropy_reg * entropy
            metrics.update(routing_metrics(trace.alphas, self.router.temperature))
        act_steps = masked_mean(steps, rows, count)
        metrics.update(
            count=count.float(),
            accuracy=masked_mean(cell_acc, rows, count),
            exact_accuracy=masked_mean(exact, rows, count),
            act_steps=act_steps,
            h_updates=act_steps * cfg.H_cycles,
            q_halt=q_halt.detach().mean(),
            q_continue=q_continue.detach().mean(),
        )
        return loss, metrics

    @torch.no_grad()
    def predict(self, batch: Batch, **eval_overrides: Any) -> Prediction:
        check_overrides(EVAL_OVERRIDES, eval_overrides)
        cfg = self.cfg.model_copy(update=eval_overrides)
        self.check_batch(batch)
        was_training = self.training
        self.eval()
        try:
            return self._predict(batch, cfg)
        finally:
            self.train(was_training)

    def _predict(self, batch: Batch, cfg: HRMActConfig) -> Prediction:
        inputs = batch["inputs"]
        n, dtype = inputs.shape[0], self.forward_dtype
        x = self.embed(inputs, batch["puzzle_identifiers"], dtype)
        cos_sin = self.embed.cos_sin()
        z_H = self.H_init.to(dtype).expand(n, self.embed.total_len, -1)
        z_L = self.L_init.to(dtype).expand(n, self.embed.total_len, -1)
        max_steps = cfg.eval_steps
        by_q = cfg.eval_act and cfg.halting == "act"
        trace = Trace()
        steps = torch.full((n,), max_steps, dtype=torch.int32, device=inputs.device)
        done = torch.zeros(n, dtype=torch.bool, device=inputs.device)
        logits = q_halt = None
        for segment in range(1, max_steps + 1):
            z_H, z_L = self._reason(z_H, z_L, x, cos_sin, trace)
            seg_halt, seg_continue = self._q_logits(z_H)
            if not by_q:
                q_halt = seg_halt
                if segment == max_steps:
                    logits = self.lm_head(z_H[:, self.puzzle_len :]).float()
                continue
            # Halting by Q: a row keeps the answer and Q of the segment where it halted.
            seg_logits = self.lm_head(z_H[:, self.puzzle_len :]).float()
            stop = ~done & (self._wants_halt(seg_halt, seg_continue) | (segment == max_steps))
            logits = seg_logits if logits is None else torch.where(stop.view(-1, 1, 1), seg_logits, logits)
            q_halt = seg_halt if q_halt is None else torch.where(stop, seg_halt, q_halt)
            steps = torch.where(stop, segment, steps)
            done = done | stop
            if bool(done.all()):  # one host sync per segment, evaluation only
                break
        tokens = answer_tokens(logits, inputs, cfg.loss_on, cfg.blank_token)
        raw_diag: dict[str, Any] = {
            "residual_l": trace.residual_l,
            "residual_h": trace.residual_h,
            "h_updates": steps.float().mean() * cfg.H_cycles,
        }
        if trace.alphas:
            raw_diag.update(routing_metrics(trace.alphas, self.router.temperature))
            raw_diag["routing_samples"] = RoutingSamples(trace.alphas[-1], cfg.routing.samples, cfg.routing.top_k)
        return Prediction(tokens=tokens, steps=steps, q_halt=q_halt, logits=logits, raw_diag=raw_diag)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """controller: the halting head (and the router); encoder: everything else."""
        controller = list(self.q_head.parameters()) + (list(self.router.parameters()) if self.router else [])
        ids = {id(p) for p in controller}
        return {"encoder": [p for p in self.parameters() if id(p) not in ids], "controller": controller}

    def flops_per_example(self, train: bool) -> float:
        cfg, tokens = self.cfg, self.embed.total_len
        L_call = self.L_level.flops_per_token(tokens) * tokens
        H_call = self.H_level.flops_per_token(tokens) * tokens
        router = self.router.flops_per_call() * cfg.H_cycles if self.router else 0.0
        segment = cfg.H_cycles * (cfg.L_cycles * L_call + H_call) + router
        q_head = 2.0 * cfg.hidden_size * 2
        lm_head = 2.0 * cfg.hidden_size * self.shape.vocab_size * self.shape.seq_len
        if not train:
            per_segment = segment + q_head + (lm_head if cfg.eval_act else 0.0)
            return cfg.eval_steps * per_segment + (0.0 if cfg.eval_act else lm_head)
        with_graph = segment if cfg.grad == "bptt" else L_call + H_call
        total = segment + lm_head + q_head + 2.0 * (with_graph + lm_head + q_head)  # backward ~ 2x forward
        if cfg.halting == "act" and cfg.act_continue and cfg.halt_max_steps > 1:
            total += segment + q_head  # the no-grad target segment
        return total

    # ---- reference checkpoints --------------------------------------------------------------------
    def load_reference_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> Any:
        """Load a state dict saved by the reference HRM (names as in `reference_state_dict`)."""
        return self.load_state_dict(reference_state_dict(state_dict), strict=strict)


# The reference names parameters `[_orig_mod.][model.]inner.<name>` (torch.compile and the loss head
# add the first two). Its layers are named like ours except:
#   inner.embed_tokens.embedding_weight  -> embed.embed_tokens.weight
#   inner.embed_pos.embedding_weight     -> embed.embed_pos.weight
#   inner.puzzle_emb.weights             -> embed.puzzle_emb.weight
#   inner.{H,L}_level.layers.N.{self_attn.qkv_proj, self_attn.o_proj, mlp.gate_up_proj, mlp.down_proj}.weight,
#   inner.lm_head.weight, inner.q_head.{weight,bias}, inner.H_init, inner.L_init -> the same without `inner.`
_REFERENCE_PREFIX = re.compile(r"^(_orig_mod\.)?(model\.)?inner\.")
_REFERENCE_RENAMES = {
    "embed_tokens.embedding_weight": "embed.embed_tokens.weight",
    "embed_pos.embedding_weight": "embed.embed_pos.weight",
    "puzzle_emb.weights": "embed.puzzle_emb.weight",
}
_REFERENCE_TRANSIENT = ("puzzle_emb.local_weights", "puzzle_emb.local_ids", "rotary_emb.cos_cached", "rotary_emb.sin_cached")


def reference_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A reference HRM-ACT-v1 state dict with this module's parameter names (transient buffers dropped)."""
    mapped = {}
    for key, value in state_dict.items():
        name = _REFERENCE_PREFIX.sub("", key)
        if name in _REFERENCE_TRANSIENT:
            continue
        mapped[_REFERENCE_RENAMES.get(name, name)] = value
    return mapped


def _fill_slots(current: Batch, halted: torch.Tensor, batch: Batch) -> Batch:
    """Put the batch's rows, in order, into the halted slots; other slots keep their example.

    Gathers by a running count instead of boolean indexing, so no host sync."""
    n = batch["inputs"].shape[0]
    if n == 0:
        return current
    source = (halted.long().cumsum(0) - 1).clamp(0, n - 1)
    filled = {}
    for key, old in current.items():
        new = batch[key].index_select(0, source)
        filled[key] = torch.where(halted.view((-1,) + (1,) * (old.ndim - 1)), new, old)
    return filled
