"""GPT-2 baseline: a decoder-only transformer that reads a puzzle and writes its answer token by token.

Architecture as GPT-2 (Radford et al. 2019): learned absolute position embeddings, pre-LayerNorm
blocks (LayerNorm -> causal self-attention -> residual, LayerNorm -> GELU MLP -> residual), a final
LayerNorm, the output head tied to the token embedding; weights ~ N(0, 0.02) with the residual
output projections scaled by 1/sqrt(2 * n_layer); biases zero. Layer names follow Hugging Face's
(wte, wpe, h.N.attn.c_attn, ...) so its GPT-2 weights map on directly (`load_hf_gpt2`).

A puzzle of S tokens becomes one sequence `puzzle, SEP, answer` (SEP is a token added after the
dataset's vocabulary). Training is teacher-forced: the loss is cross-entropy on the S answer
tokens. The answer target is the label where the dataset has one and the input token where it
does not (givens, padding), so a generated answer is complete and can be verified as is. With
`loss_on: changed` (HRM's CPU recipe) the loss covers only the cells to fill, and generation
writes every non-blank input cell as given, so the model only ever chooses the blanks.
`predict` decodes greedily or samples with a temperature, with a preallocated key/value cache
(one forward call per generated token: S calls per answer).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from hrm.config import StrictModel
from hrm.errors import UserError
from hrm.models.base import (
    Batch,
    ModelConfigError,
    Prediction,
    StatelessCarry,
    StepOutput,
    TaskModel,
    TaskShape,
    check_overrides,
    stateless_carry,
)
from hrm.models.targets import LossOn
from hrm.ops.losses import IGNORE_INDEX

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


class GPT2Config(StrictModel):
    arch: Literal["gpt2"] = "gpt2"
    n_layer: int = Field(4, ge=1)
    n_head: int = Field(4, ge=1)
    d_model: int = Field(128, ge=8)
    d_mlp: int = Field(0, ge=0, description="0 = 4 * d_model, as GPT-2")
    dropout: float = Field(0.0, ge=0, lt=1)
    layer_norm_eps: float = Field(1e-5, gt=0)
    init_std: float = Field(0.02, gt=0)
    loss_on: LossOn = "all"
    blank_token: int = Field(1, ge=0, description="with loss_on: changed, the input token of cells to fill")
    hf_weights: str | None = Field(None, description="local folder with Hugging Face GPT-2 weights (never downloaded)")


# GPT-2 small (124M with its 50257-token vocabulary and 1024 positions).
GPT2_124M = {"n_layer": 12, "n_head": 12, "d_model": 768, "d_mlp": 3072}


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        if cfg.d_model % cfg.n_head:
            raise UserError(f"model.d_model {cfg.d_model} must be divisible by model.n_head {cfg.n_head}")
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.c_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None, start: int = 0):
        """x (B, T, D) at positions start..start+T-1. With `cache` (preallocated key/value buffers of
        shape (B, heads, max_len, head_dim)), this call's keys and values are written into it and the
        queries attend to everything up to their own position."""
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            cache[0][:, :, start:start + t] = k
            cache[1][:, :, start:start + t] = v
            k, v = cache[0][:, :, :start + t], cache[1][:, :, :start + t]
        # Causal within the new tokens; a single new token attends to everything before it.
        causal = t > 1
        if causal and start > 0:
            raise ValueError("several new tokens after a cached prefix are not supported: decode one at a time")
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=self.dropout if self.training else 0.0)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        width = cfg.d_mlp or 4 * cfg.d_model
        self.c_fc = nn.Linear(cfg.d_model, width)
        self.c_proj = nn.Linear(width, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache=None, start: int = 0) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln_1(x), cache, start))
        return x + self.drop(self.mlp(self.ln_2(x)))


class GPT2LM(nn.Module):
    """The language model alone: tokens (B, T) -> logits (B, T, vocab), with an optional cache."""

    def __init__(self, cfg: GPT2Config, vocab_size: int, n_positions: int):
        super().__init__()
        self.cfg, self.vocab_size, self.n_positions = cfg, vocab_size, n_positions
        self.wte = nn.Embedding(vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(n_positions, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=self.cfg.init_std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        # Each block adds two residual branches: scale their output projections so the residual
        # stream's variance does not grow with depth (GPT-2 paper, section 2.3).
        for block in self.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                nn.init.normal_(proj.weight, mean=0.0, std=self.cfg.init_std / math.sqrt(2 * self.cfg.n_layer))

    def new_cache(self, batch_size: int, max_len: int, device, dtype: torch.dtype) -> KVCache:
        """Empty key/value buffers for decoding up to max_len tokens (written in place, no concatenation)."""
        shape = (batch_size, self.cfg.n_head, max_len, self.cfg.d_model // self.cfg.n_head)
        return [(torch.empty(shape, device=device, dtype=dtype), torch.empty(shape, device=device, dtype=dtype))
                for _ in self.h]

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None, start: int = 0) -> torch.Tensor:
        """Logits (B, T, vocab) for `tokens` placed at positions start..start+T-1."""
        t = tokens.shape[1]
        if start + t > self.n_positions:
            raise ValueError(f"sequence of {start + t} tokens exceeds the model's {self.n_positions} positions")
        pos = torch.arange(start, start + t, device=tokens.device)
        x = self.drop(self.wte(tokens) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, None if cache is None else cache[i], start)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied output head

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, n_tokens: int, temperature: float = 0.0,
                 generator: torch.Generator | None = None, banned: list[int] | None = None,
                 forced: torch.Tensor | None = None) -> torch.Tensor:
        """Continue `prompt` (B, T) by n_tokens: greedy at temperature 0, else sampled. `forced`
        (B, n_tokens) holds tokens to write instead of the model's choice (-1: the model chooses)."""
        b, t = prompt.shape
        dtype = torch.get_autocast_dtype(prompt.device.type) if torch.is_autocast_enabled(prompt.device.type) \
            else self.wte.weight.dtype
        cache = self.new_cache(b, t + n_tokens - 1, prompt.device, dtype)
        logits = self(prompt, cache)
        out = torch.empty(b, n_tokens, dtype=prompt.dtype, device=prompt.device)
        for i in range(n_tokens):
            step = logits[:, -1, :].float()
            if banned:
                step[:, banned] = float("-inf")
            if temperature > 0:
                nxt = torch.multinomial(torch.softmax(step / temperature, dim=-1), 1, generator=generator)
            else:
                nxt = step.argmax(dim=-1, keepdim=True)
            if forced is not None:
                nxt = torch.where(forced[:, i:i + 1] >= 0, forced[:, i:i + 1], nxt)
            out[:, i:i + 1] = nxt
            if i + 1 < n_tokens:
                logits = self(nxt, cache, start=t + i)
        return out


EVAL_OVERRIDES = ("temperature", "generator")


class GPT2(TaskModel):
    """The GPT-2 baseline behind the TaskModel protocol (stateless: one forward per training step)."""

    carry_type = StatelessCarry
    autoregressive = True  # the evaluator samples it with a temperature instead of augmenting puzzles

    def __init__(self, cfg: GPT2Config, shape: TaskShape):
        super().__init__()
        if cfg.loss_on == "changed" and not 0 <= cfg.blank_token < shape.vocab_size:
            raise ModelConfigError(
                f"model.blank_token {cfg.blank_token} is not a token of this dataset (vocab_size {shape.vocab_size})"
            )
        self.cfg, self.shape = cfg, shape
        self.sep = shape.vocab_size  # the separator between puzzle and answer: one token past the dataset's
        self.lm = GPT2LM(cfg, vocab_size=shape.vocab_size + 1, n_positions=2 * shape.seq_len)
        if cfg.hf_weights:
            load_hf_gpt2(self.lm, cfg.hf_weights)

    def _autocast(self, device: torch.device):
        low = self.forward_dtype != torch.float32
        return torch.autocast(device.type, dtype=self.forward_dtype, enabled=low)

    def _prompt(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat((inputs, torch.full_like(inputs[:, :1], self.sep)), dim=1)

    def initial_carry(self, batch_size: int, device: torch.device | str) -> StatelessCarry:
        return stateless_carry(batch_size, device)

    def forward(self, carry: StatelessCarry, batch: Batch) -> tuple[StatelessCarry, StepOutput]:
        self.check_batch(batch, rows=carry.halted)
        inputs, labels = batch["inputs"], batch["labels"]
        s = self.shape.seq_len
        # The answer to write: the label where there is one, the input elsewhere (givens, padding).
        target = torch.where(labels == IGNORE_INDEX, inputs, labels)
        with self._autocast(inputs.device):
            logits = self.lm(torch.cat((self._prompt(inputs), target[:, :-1]), dim=1))
        logits = logits[:, s:].float()  # position s + i (SEP, then answer token i-1) predicts answer token i
        # loss_on all: every answer token (copying the givens too); changed: only the cells to fill,
        # as HRM's recipe, and predict() writes the givens itself.
        loss_target = target if self.cfg.loss_on == "all" else torch.where(target == inputs, IGNORE_INDEX, target)
        per_cell = F.cross_entropy(logits.transpose(1, 2), loss_target, reduction="none", ignore_index=IGNORE_INDEX)
        lm_loss = (per_cell.sum(1) / (loss_target != IGNORE_INDEX).sum(1).clamp_min(1)).mean()
        with torch.no_grad():
            mask = labels != IGNORE_INDEX
            right = (logits.argmax(-1) == labels) & mask
            counts = mask.sum(-1)
            has = counts > 0
            n = has.sum().clamp_min(1)
            # Teacher-forced figures (each cell sees the true cells before it); `hrm eval` measures
            # generated answers.
            metrics = {
                "count": has.sum().float(),
                "lm_loss": lm_loss.detach(),
                "accuracy": ((right.sum(-1) / counts.clamp_min(1)) * has).sum() / n,
                "exact_accuracy": ((right.sum(-1) == counts) & has).sum() / n,
                "act_steps": torch.tensor(1.0, device=inputs.device),
            }
        return stateless_carry(inputs.shape[0], inputs.device), StepOutput(loss=lm_loss, metrics=metrics)

    @torch.no_grad()
    def predict(self, batch: Batch, **eval_overrides) -> Prediction:
        """Greedy answers, or sampled with `temperature` > 0 (seeded by `generator`)."""
        check_overrides(EVAL_OVERRIDES, eval_overrides)
        self.check_batch(batch)
        inputs = batch["inputs"]
        was_training = self.training
        self.eval()
        try:
            with self._autocast(inputs.device):
                forced = None
                if self.cfg.loss_on == "changed":  # givens are written as given, the model fills the blanks
                    forced = torch.where(inputs == self.cfg.blank_token, -1, inputs)
                tokens = self.lm.generate(self._prompt(inputs), self.shape.seq_len,
                                          temperature=float(eval_overrides.get("temperature", 0.0)),
                                          generator=eval_overrides.get("generator"), banned=[self.sep],
                                          forced=forced)
        finally:
            self.train(was_training)
        steps = torch.full((inputs.shape[0],), self.shape.seq_len, dtype=torch.int32, device=inputs.device)
        return Prediction(tokens=tokens, steps=steps)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"encoder": list(self.parameters()), "controller": []}

    def flops_per_example(self, train: bool) -> float:
        """Matmul FLOPs: per token the qkv/out projections (8 d^2), the MLP (4 d m) and the tied head
        (2 d V) per layer; causal attention over t earlier tokens costs 4 d t. A training step runs
        2S tokens forward and backward (3x); generation with the cache costs the same as one forward."""
        cfg, s = self.cfg, self.shape.seq_len
        d, m, v, t = cfg.d_model, cfg.d_mlp or 4 * cfg.d_model, self.lm.vocab_size, 2 * s
        per_token = cfg.n_layer * (8 * d * d + 4 * d * m) + 2 * d * v
        attention = cfg.n_layer * 4 * d * (t * (t + 1) / 2)
        forward = t * per_token + attention
        return 3.0 * forward if train else forward


def load_hf_gpt2(lm: GPT2LM, folder: str | Path) -> list[str]:
    """Copy Hugging Face GPT-2 weights from a local folder into `lm`; returns the names loaded.

    Reads `model.safetensors` (needs the `safetensors` package) or `pytorch_model.bin`; never
    downloads. Hugging Face stores linear weights as Conv1D (in, out): they are transposed here.
    The token embedding is loaded only when the vocabularies agree (a puzzle vocabulary never
    matches GPT-2's 50257 tokens, so it stays freshly initialised); positions are cut to fit.
    """
    folder = Path(folder)
    if (folder / "model.safetensors").is_file():
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise UserError(f"{folder}/model.safetensors: reading it needs `pip install safetensors`") from None
        state = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").is_file():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise UserError(f"model.hf_weights: {folder} holds neither model.safetensors nor pytorch_model.bin")
    state = {k.removeprefix("transformer."): v for k, v in state.items()}
    own = lm.state_dict()
    loaded = []
    with torch.no_grad():
        for name, value in state.items():
            if name not in own:
                continue
            target = own[name]
            if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
                value = value.t()
            if name == "wpe.weight":
                value = value[: target.shape[0]]
            if value.shape != target.shape:
                if name == "wte.weight":
                    continue
                raise UserError(f"model.hf_weights: {name} has shape {tuple(value.shape)} in {folder} but the "
                                f"model expects {tuple(target.shape)}; set n_layer/n_head/d_model to match")
            target.copy_(value)
            loaded.append(name)
    return loaded
