"""The training loop behind `hrm train`: one process (or one torchrun rank) from start to exit code.

A step, in order:
  1. agree across ranks on the control flags (stop / checkpoint now / pause / done);
  2. set the learning rates (warm-up + cosine, per-group rates, frozen controller, rollback scale)
     and the routing schedules;
  3. for each micro-batch: ask the carry how many rows are free (`rows_to_fill`), draw exactly that
     many examples, forward, backward with 1/accumulation (DDP syncs gradients on the last one);
  4. all-reduce the step's figures, clip each group, and let the guard decide: apply the update,
     skip it (NaN/Inf, loss spike, gradient explosion) or roll back to the last good checkpoint;
  5. log, evaluate, gate, checkpoint, beat the heart.
An out-of-memory error inside step 3 (single process) restores the step's inputs, halves the
micro-batch, doubles the accumulation (global batch kept) and runs the step again.

Exit codes: 0 finished or stopped by a signal, 1 crashed (the `crashed` event says why: error,
oom, diverged), 2 user error (bad config or data), 3 the quality gate failed.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.utils.checkpoint

from hrm.advisor import Advisor
from hrm.errors import UserError
from hrm.rundir import RunDir
from hrm.train import carry as carry_ops
from hrm.train import checkpoint, rng
from hrm.train.config import RunConfig
from hrm.train.data import GroupSampler, PuzzleData, load_data
from hrm.train.distributed import (
    DistContext,
    cpu_threads,
    destroy_process_group,
    env_context,
    init_process_group,
    rank_device,
)
from hrm.train.evaluate import evaluate
from hrm.train.guards import HINTS, StepGuard
from hrm.train.heartbeat import Heartbeat
from hrm.train.optimizer import build_optimizer, clip_groups, group_params, lr_factor, set_learning_rates
from hrm.train.signals import SignalFlags
from hrm.train.sink import Sink
from hrm.train.system import SystemProbe, peak_memory_gb

EXIT_OK, EXIT_CRASH, EXIT_USER, EXIT_GATE = 0, 1, 2, 3
FLAGS = ("stop", "checkpoint", "pause", "done")


class Diverged(RuntimeError):
    """Rollbacks did not help: the supervisor restarts with a lower learning rate."""


class OutOfMemory(RuntimeError):
    """Out of memory at a micro-batch of 1 (or under DDP): the supervisor restarts with a smaller batch."""

    def __init__(self, message: str, micro_batch_size: int):
        super().__init__(message)
        self.micro_batch_size = micro_batch_size


def smaller_divisor(n: int, micro: int) -> int:
    """The largest divisor of `n` that is at most half of `micro` (so the batch splits evenly)."""
    return max(d for d in range(1, max(micro // 2, 1) + 1) if n % d == 0)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@dataclass
class StepResult:
    loss: float
    grad_norm: float
    examples: int
    figures: dict[str, float] = field(default_factory=dict)  # count-weighted sums, plus "count"
    diag_source: Any = None  # the last StepOutput: its `diag` is read (and synced) only when logged
    flags: dict[str, bool] = field(default_factory=dict)


class Trainer:
    def __init__(
        self,
        cfg: RunConfig,
        run: RunDir,
        build_model: Callable[[Any, Any], torch.nn.Module],
        *,
        ctx: DistContext | None = None,
        echo: bool = True,
        prometheus_port: int | None = None,
        install_signals: bool = True,
    ):
        self.cfg, self.rundir, self.build_model = cfg, run, build_model
        self.ctx = ctx or env_context()
        self.echo, self.prometheus_port, self.install_signals = echo, prometheus_port, install_signals
        self.signals = SignalFlags()
        self.step = 0
        self.examples = 0
        self.train_seconds = 0.0
        self.lr_scale = 1.0
        self.rollbacks_without_progress = 0
        self.last_eval_step = -1
        self.sink: Sink | None = None
        self.ranks_in_sync = True
        self.heartbeat: Heartbeat | None = None

    # ---------------------------------------------------------------------------------------------
    # set-up

    def _setup(self) -> None:
        from hrm.device import probe, select_device, select_dtype

        cfg, ctx = self.cfg, self.ctx
        acc = probe()
        device = select_device(cfg.train.device, acc)
        self.dtype_name = select_dtype(cfg.train.dtype, device, acc)
        self.device = rank_device(device, ctx)
        self.device_kind = self.device.split(":")[0]
        torch.set_num_threads(cpu_threads(cfg.train.threads, ctx))
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        init_process_group(ctx, self.device, cfg.reliability.pg_timeout_s)
        if ctx.is_main:
            self.rundir.create()
        self.sink = Sink(self.rundir, enabled=ctx.is_main, echo=self.echo, prometheus_port=self.prometheus_port,
                         advisor=Advisor.from_config(cfg) if ctx.is_main else None)
        self.heartbeat = Heartbeat(self.rundir, cfg.reliability.heartbeat_s, enabled=ctx.is_main).start()
        if self.install_signals:
            self.signals.install()

        self.train_data: PuzzleData = load_data(cfg.data.path, "train")
        self.eval_data: PuzzleData = load_data(cfg.data.path, cfg.data.eval_split)
        if self.eval_data.seq_len != self.train_data.seq_len:
            raise UserError(f"{cfg.data.path}: splits disagree on seq_len; rebuild the dataset")

        rng.seed_all(cfg.seed)  # the same initial weights on every rank
        self.raw_model = self.build_model(cfg.model, self.train_data.metadata).to(self.device)
        self.raw_model.train()
        # Models that cast to their forward dtype themselves (weights fp32) need no autocast.
        self.use_autocast = self.dtype_name != "float32" and not hasattr(self.raw_model, "set_forward_dtype")
        if hasattr(self.raw_model, "set_forward_dtype"):
            self.raw_model.set_forward_dtype(self.dtype_name)
        # Gradient checkpointing: the model's own (per block) when it has one, else the whole training
        # forward is recomputed in backward (activations freed; about one more forward of compute).
        self.checkpoint_forward = False
        if cfg.train.grad_checkpointing:
            setter = getattr(self.raw_model, "set_grad_checkpointing", None)
            if setter is not None:
                setter(True)
            else:
                self.checkpoint_forward = True
        self.groups = group_params(self.raw_model, cfg.optim)
        self.optimizer = build_optimizer(self.groups, cfg.optim)
        sparse = getattr(self.raw_model, "sparse_optimizer", None)
        sparse = sparse(cfg.optim.puzzle_emb.lr, cfg.optim.puzzle_emb.weight_decay) if sparse else None
        self.extra_optimizers = [sparse] if sparse is not None else []
        self.fwd_model: torch.nn.Module = self.raw_model
        self.compiled = False
        if cfg.train.compile:
            self.fwd_model = torch.compile(self.raw_model)
            self.compiled = True
        self.guard = StepGuard(cfg.reliability)
        self.scaler = torch.amp.GradScaler(self.device_kind, enabled=self.dtype_name == "float16")

        if cfg.train.global_batch_size % ctx.world_size:
            raise UserError(
                f"train.global_batch_size {cfg.train.global_batch_size} is not divisible by {ctx.world_size} ranks"
            )
        self.local_batch = cfg.train.global_batch_size // ctx.world_size
        self.micro = cfg.train.micro_batch_size // ctx.world_size if cfg.train.micro_batch_size else 0
        self.sampler = GroupSampler(self.train_data, cfg.seed, ctx.rank, ctx.world_size)
        rng.seed_all(cfg.seed + 1_000_003 * (ctx.rank + 1))  # per-rank randomness from here on

        resumed = self._resume()
        self.heartbeat.progress(self.step)
        if not self.micro:
            self.micro = self._autotune_micro()
        if self.local_batch % self.micro:
            raise UserError(f"train.micro_batch_size: {self.micro} per rank does not divide the {self.local_batch} rows per rank")
        self.accum = self.local_batch // self.micro
        if not resumed or self.carries is None:
            self.carries = [self.raw_model.initial_carry(self.micro, self.device) for _ in range(self.accum)]
        self._wrap_ddp()
        self.horizon = self._horizon()
        self.examples_per_epoch = max(self.train_data.examples_per_epoch, 1.0)
        self.eval_batch = self.cfg.data.eval_batch_size or max(self.micro, 1)
        self.probe = SystemProbe(self.device)
        params = sum(p.numel() for p in self.raw_model.parameters())
        self.sink.event(
            "started", "info",
            f"{type(self.raw_model).__name__}, {params / 1e6:.2f}M parameters on {self.device} ({self.dtype_name}), "
            f"{ctx.world_size} rank(s), micro-batch {self.micro} x {self.accum} accumulation per rank"
            + (f", resumed at step {self.step}" if resumed else ""),
            step=self.step, device=self.device, dtype=self.dtype_name, params=params, world_size=ctx.world_size,
            micro_batch_size=self.micro * ctx.world_size, accumulation=self.accum, resumed=bool(resumed),
            threads=torch.get_num_threads(),
        )
        if not resumed:
            self._save_checkpoint(reason="start")  # a rollback target before the first update

    def _wrap_ddp(self) -> None:
        if self.ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.ctx.local_rank] if self.device_kind == "cuda" else None
            # Buffers (puzzle embeddings, fixed initial states) change identically on every rank:
            # no need to broadcast them before each forward.
            self.fwd_model = DistributedDataParallel(self.fwd_model, device_ids=ids, broadcast_buffers=False)

    def _horizon(self) -> int:
        t = self.cfg.train
        if t.max_steps:
            return t.max_steps
        if t.epochs:
            return int(math.ceil(t.epochs * self.train_data.examples_per_epoch / t.global_batch_size))
        return 0

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.use_autocast:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.dtype_name == "bfloat16" else torch.float16
        return torch.autocast(self.device_kind, dtype=dtype)

    def _autotune_micro(self) -> int:
        """The largest micro-batch (a power-of-two fraction of the rows per rank) that fits. CPUs do
        not raise out-of-memory errors before the OS kills the process, and probing costs a step, so
        CPU and MPS start at the full batch and rely on the in-step halving."""
        micro = self.local_batch
        if self.device_kind != "cuda":
            return micro
        ids = torch.arange(self.train_data.num_examples)
        state = torch.get_rng_state(), torch.cuda.get_rng_state_all()
        while True:
            try:
                carry = self.raw_model.initial_carry(micro, self.device)
                n = int(self.raw_model.rows_to_fill(carry).sum())
                batch = self._to_device(self.train_data.batch(ids[torch.arange(n) % len(ids)].numpy()))
                with self._autocast():
                    _, out = self.fwd_model(carry, batch)
                out.loss.backward()
                break
            except Exception as exc:
                if not is_oom(exc) or micro == 1:
                    raise
                tried, micro = micro, smaller_divisor(self.local_batch, micro)
                self.sink.event("oom", "warn", f"micro-batch autotune: {tried} rows do not fit, trying {micro}",
                                hint="the global batch is kept by gradient accumulation", step=self.step)
            finally:
                self._zero_grad()
                torch.cuda.empty_cache()
        torch.set_rng_state(state[0])
        torch.cuda.set_rng_state_all(state[1])
        # every rank must run the same number of micro-batches per step: take the smallest
        return -int(self.ctx.all_reduce_max(torch.tensor([-micro], device=self._collective_device())).item())

    # ---------------------------------------------------------------------------------------------
    # checkpoints

    def _weights_checksum(self) -> float:
        with torch.no_grad():
            return float(sum(p.double().sum() for p in self.raw_model.parameters()))

    def _rank_state(self) -> dict[str, Any]:
        return {
            "checksum": self._weights_checksum(),
            "rng": rng.capture(),
            "sampler": self.sampler.state_dict(),
            "carries": [[t.detach().cpu() for t in carry_ops.leaves(c)] for c in self.carries],
        }

    def _save_checkpoint(self, reason: str) -> None:
        ranks = self.ctx.all_gather_object(self._rank_state())
        if self.ctx.is_main:
            t0 = time.time()
            sums = [r.pop("checksum") for r in ranks]
            self.ranks_in_sync = all(x == sums[0] for x in sums)
            if not self.ranks_in_sync:
                self.sink.event("checkpoint", "error", f"ranks hold different weights (checksums {sums})", step=self.step,
                                hint="a data-parallel bug or a silent hardware fault; resume from an older checkpoint")
            if not all(torch.isfinite(p).all() for p in self.raw_model.parameters()):
                self.sink.event("checkpoint", "warn", "weights are not finite: checkpoint not written", step=self.step,
                                hint="the last good checkpoint stays the rollback target")
            else:
                state = {
                    "format": 1, "step": self.step, "examples": self.examples, "train_seconds": self._elapsed(),
                    "lr_scale": self.lr_scale, "micro": self.micro, "accum": self.accum,
                    "world_size": self.ctx.world_size, "global_batch_size": self.cfg.train.global_batch_size,
                    "model": self.raw_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "extra_optimizers": [o.state_dict() for o in self.extra_optimizers],
                    "scaler": self.scaler.state_dict(), "guard": self.guard.state_dict(),
                    "last_eval_step": self.last_eval_step, "ranks": ranks,
                }
                try:
                    ckpt = checkpoint.save(self.rundir.checkpoints, self.step, state, self.cfg.train.keep_checkpoints)
                except OSError as exc:
                    self.sink.event(
                        "checkpoint", "error", f"checkpoint at step {self.step} failed: {exc}", step=self.step,
                        hint="free disk space in the logs folder; older checkpoints are intact and training goes on",
                    )
                else:
                    self.sink.event("checkpoint", "info", f"step {self.step} ({reason})", step=self.step,
                                    path=str(ckpt.path), seconds=round(time.time() - t0, 3), reason=reason)
        self.last_checkpoint_t = time.time()
        self.ctx.barrier()

    def _load_newest(self) -> tuple[dict[str, Any], checkpoint.Checkpoint] | None:
        found = None
        if self.ctx.is_main:
            try:
                found = checkpoint.load_newest(self.rundir.checkpoints)
            except checkpoint.CheckpointError as exc:
                self.sink.event("checkpoint", "error", str(exc), step=self.step,
                                hint="every checkpoint failed its checks; the run starts from scratch")
            if found:
                for reason in found[2]:
                    self.sink.event("checkpoint", "warn", f"skipped: {reason}", step=self.step,
                                    hint="a damaged or unfinished checkpoint; resuming from an older one")
        path = self.ctx.broadcast_object(str(found[1].path) if found else "")
        if not path:
            return None
        if self.ctx.is_main:
            return found[0], found[1]
        ckpt = next(c for c in checkpoint.complete(self.rundir.checkpoints) if str(c.path) == path)
        return checkpoint.load(ckpt), ckpt

    def _load_weights(self, state: dict[str, Any]) -> None:
        """Model, optimizers and guard windows from a checkpoint (resume and rollback alike)."""
        self.raw_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for opt, opt_state in zip(self.extra_optimizers, state.get("extra_optimizers", []), strict=False):
            opt.load_state_dict(opt_state)
        self.guard.load_state_dict(state["guard"])

    def _resume(self) -> bool:
        self.carries = None
        self.last_checkpoint_t = time.time()
        loaded = self._load_newest()
        if loaded is None:
            return False
        state, ckpt = loaded
        self._load_weights(state)
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.examples = int(state["step"]), int(state["examples"])
        self.train_seconds, self.lr_scale = float(state["train_seconds"]), float(state["lr_scale"])
        self.last_eval_step = int(state.get("last_eval_step", -1))
        same_layout = (state.get("world_size") == self.ctx.world_size
                       and state.get("global_batch_size") == self.cfg.train.global_batch_size)
        ranks = state.get("ranks") or []
        mine = ranks[self.ctx.rank] if same_layout and len(ranks) > self.ctx.rank else None
        if same_layout and (not self.cfg.train.micro_batch_size or self.micro == state["micro"]):
            self.micro = int(state["micro"])
        missing = []
        if mine is not None and mine.get("sampler"):
            self.sampler.load_state_dict(mine["sampler"])
        else:
            # Another world size or batch: restart the data order at the epoch reached.
            self.sampler.epoch = int(self.examples // max(self.train_data.examples_per_epoch, 1.0))
            missing.append("data order")
        if mine is not None and mine.get("rng"):
            rng.restore(mine["rng"])
        else:
            missing.append("random state")
        carries = mine.get("carries") if mine is not None else None
        if carries and self.micro == int(state["micro"]) and len(carries) == self.local_batch // self.micro:
            self.carries = [carry_ops.restore(self.raw_model.initial_carry(self.micro, self.device), c) for c in carries]
        else:
            missing.append("ACT carry")
        self.sink.event("checkpoint", "info", f"resumed from {ckpt.path.name} at step {self.step}", step=self.step,
                        path=str(ckpt.path), resumed=True)
        if missing:
            self.sink.event(
                "checkpoint", "warn", f"resume is not exact: {', '.join(missing)} not restored", step=self.step,
                hint="the checkpoint lacks them or the world size / batch changed; training continues",
            )
        return True

    def _rollback(self, reason: str, message: str) -> None:
        lost_from = self.step
        loaded = self._load_newest()
        if loaded is None:
            raise Diverged(f"{reason} and no checkpoint to roll back to")
        state, ckpt = loaded
        self._load_weights(state)
        self.step = int(state["step"])
        self.lr_scale *= self.cfg.reliability.rollback_lr_factor
        self.rollbacks_without_progress += 1
        # The sampler is not rewound (PaLM: skip the data that caused it); the carry may hold NaN.
        self.carries = [self.raw_model.initial_carry(self.micro, self.device) for _ in range(self.accum)]
        self._zero_grad()
        self.sink.event(
            "rollback", "warn",
            f"{self.cfg.reliability.rollback_after} bad steps in a row ({reason}: {message}); back to step "
            f"{self.step}, learning rate x{self.lr_scale:g}",
            hint="repeated rollbacks mean the run diverges: lower optim.lr or raise optim.warmup_steps",
            step=self.step, steps_lost=lost_from - self.step, lr_scale=self.lr_scale, reason=reason, path=str(ckpt.path),
        )
        if self.rollbacks_without_progress > self.cfg.reliability.max_rollbacks:
            raise Diverged(f"{self.rollbacks_without_progress} rollbacks without progress ({reason})")

    # ---------------------------------------------------------------------------------------------
    # one step

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _forward_backward(self) -> StepResult:
        """Forward and backward of every micro-batch; figures are summed on the device and read back
        once, with the flags, in the step's single all-reduce."""
        zero = torch.zeros((), dtype=torch.float64, device=self.device)
        loss_sum, sums = zero.clone(), {"count": zero.clone()}
        examples = 0
        last_out = None
        for i in range(self.accum):
            c = self.carries[i]
            n = int(self.raw_model.rows_to_fill(c).sum())
            batch = self._to_device(self.train_data.batch(self.sampler.take(n)))
            sync = self.fwd_model.no_sync() if (self.ctx.enabled and i < self.accum - 1) else contextlib.nullcontext()
            with sync:
                with self._autocast():
                    if self.checkpoint_forward:
                        c, out = torch.utils.checkpoint.checkpoint(self.fwd_model, c, batch, use_reentrant=False)
                    else:
                        c, out = self.fwd_model(c, batch)
                self.scaler.scale(out.loss / self.accum).backward()
            self.carries[i] = c
            examples += n
            loss_sum += out.loss.detach().double()
            metrics = out.metrics or {}
            count = torch.as_tensor(metrics.get("count", 0), dtype=torch.float64, device=self.device)
            sums["count"] += count
            for key, value in metrics.items():
                if key != "count":
                    v = torch.as_tensor(value, device=self.device).detach().double()
                    sums[key] = sums.get(key, zero) + torch.where(count > 0, v * count, zero)
            last_out = out
        keys = sorted(sums)
        flags = self._local_flags(pending_examples=examples * self.ctx.world_size)
        extra = torch.tensor([float(examples)] + [float(flags[f]) for f in FLAGS], dtype=torch.float64)
        vec = torch.cat([torch.stack([loss_sum] + [sums[k] for k in keys]).cpu(), extra])
        vec = self.ctx.all_reduce_sum(vec.to(self._collective_device())).cpu().tolist()
        self.scaler.unscale_(self.optimizer)
        grad_norm = clip_groups(self.groups)
        k = len(keys)
        return StepResult(
            loss=vec[0] / (self.accum * self.ctx.world_size), grad_norm=grad_norm, examples=int(vec[1 + k]),
            figures=dict(zip(keys, vec[1 : 1 + k], strict=True)), diag_source=last_out,
            flags={f: v > 0 for f, v in zip(FLAGS, vec[2 + k :], strict=True)},
        )

    def _collective_device(self) -> str:
        return self.device if self.device_kind == "cuda" and self.ctx.enabled else "cpu"

    def _train_step(self) -> StepResult:
        """One optimizer step's forward/backward; on out-of-memory (single process) retry the same
        step with half the micro-batch. A failure of the first compiled step falls back to eager."""
        saved_carries = list(self.carries)
        saved_sampler = self.sampler.state_dict()
        saved_rng = rng.capture()
        while True:
            try:
                return self._forward_backward()
            except Exception as exc:
                self._zero_grad()
                self.carries = list(saved_carries)
                self.sampler.load_state_dict(saved_sampler)
                rng.restore(saved_rng)
                if self.device_kind == "cuda":
                    torch.cuda.empty_cache()
                if is_oom(exc):
                    self._halve_micro(exc)
                elif self.compiled and not self.ctx.enabled:
                    self._compile_fallback(exc)
                else:
                    raise

    def _zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        for opt in self.extra_optimizers:
            opt.zero_grad(set_to_none=True)

    def _halve_micro(self, exc: BaseException) -> None:
        if self.ctx.enabled or self.micro == 1:
            raise OutOfMemory(f"out of memory at micro-batch {self.micro} per rank: {exc}", self.micro) from exc
        old = self.micro
        self.micro = smaller_divisor(self.local_batch, self.micro)
        self.accum = self.local_batch // self.micro
        self.carries = carry_ops.regroup(self.carries, self.accum)
        self.eval_batch = min(self.eval_batch, self.micro)
        self.sink.event(
            "oom", "warn", f"out of memory at micro-batch {old}: now {self.micro} x {self.accum} accumulation",
            hint="the global batch is kept; set train.micro_batch_size to skip the search next time",
            step=self.step, micro_batch_size=self.micro, accumulation=self.accum,
        )

    def _compile_fallback(self, exc: BaseException) -> None:
        self.compiled = False
        self.fwd_model = self.raw_model
        self.sink.event(
            "compile_fallback", "warn", f"torch.compile failed, running eager: {type(exc).__name__}: {exc}"[:2000],
            hint="eager mode is correct but slower; `hrm doctor --recheck` tests the compiler",
            step=self.step,
        )

    # ---------------------------------------------------------------------------------------------
    # control

    def _elapsed(self) -> float:
        return self.train_seconds + (time.time() - self.session_start)

    def _local_flags(self, pending_examples: int = 0) -> dict[str, bool]:
        """This rank's view; `done` means the step in flight (with `pending_examples`) is the last."""
        flags = dict.fromkeys(FLAGS, False)
        flags["stop"] = self.signals.stop
        flags["checkpoint"] = self.signals.checkpoint
        if self.ctx.is_main:
            flags["pause"] = bool(self.rundir.read_control().get("pause", False))
            t = self.cfg.train
            flags["done"] = bool(
                (t.max_steps and self.step + 1 >= t.max_steps)
                or (t.max_minutes and self._elapsed() >= t.max_minutes * 60)
                or (t.epochs and (self.examples + pending_examples) / self.examples_per_epoch >= t.epochs)
            )
        return flags

    def _agree(self, flags: dict[str, bool]) -> dict[str, bool]:
        vec = torch.tensor([float(flags[f]) for f in FLAGS], dtype=torch.float64)
        vec = self.ctx.all_reduce_sum(vec.to(self._collective_device())).cpu()
        return {f: v > 0 for f, v in zip(FLAGS, vec.tolist(), strict=True)}

    def _epoch(self) -> float:
        return self.examples / self.examples_per_epoch

    def _wait_while_paused(self) -> dict[str, bool]:
        self.heartbeat.progress(self.step, "paused")
        self.sink.event("paused", "info", f"paused at step {self.step}", step=self.step)
        paused_at = time.time()
        while True:
            time.sleep(0.5)
            flags = self._agree(self._local_flags())
            self.heartbeat.progress(self.step)
            if flags["checkpoint"] and not flags["stop"]:  # a paused run still checkpoints on request
                self.signals.checkpoint = False
                self._save_checkpoint(reason="requested")
                flags["checkpoint"] = False
            if flags["stop"] or not flags["pause"]:
                break
        self.session_start += time.time() - paused_at  # paused time is not training time
        self.heartbeat.progress(self.step, "running")
        if not flags["stop"]:
            self.sink.event("resumed", "info", f"resumed at step {self.step}", step=self.step)
        return flags

    # ---------------------------------------------------------------------------------------------
    # logging and evaluation

    def _log_train(self, window: dict[str, Any], lr: float) -> None:
        figs = window["figures"]
        count = figs.get("count", 0.0)
        good = window["good"]
        seconds = max(time.time() - window["t0"], 1e-9)
        record: dict[str, Any] = {
            "epoch": self._epoch(), "examples": self.examples, "lr": lr,
            "loss": window["loss"] / good if good else float("nan"),
            "grad_norm": window["grad_norm"] / good if good else float("nan"),
            "examples_per_s": window["examples"] / seconds,
            "tokens_per_s": window["examples"] * self.train_data.seq_len / seconds,
            "step_time_s": seconds / max(window["steps"], 1),
            "peak_mem_gb": peak_memory_gb(self.device),
        }
        flops = getattr(self.raw_model, "flops_per_example", None)
        if flops is not None:  # model FLOPs actually run per second (forward + backward of each slot)
            calls = window["steps"] * self.accum * self.micro * self.ctx.world_size
            record["tflops_per_s"] = flops(True) * calls / seconds / 1e12
        if count > 0:
            record.update({k: v / count for k, v in figs.items() if k != "count"})
        if window["skipped"]:
            record["skipped_steps"] = window["skipped"]
        self.sink.metric("train", self.step, **record)
        # Accuracy and examples count examples that finished (halted) in the window: "-" when none did.
        acc, exact = (f"{record[k]:.3f}" if k in record else "-" for k in ("accuracy", "exact_accuracy"))
        self.sink.log(
            f"step {self.step:>6}  loss {record['loss']:.4f}  acc {acc}  exact {exact}  lr {lr:.2e}  "
            f"{record['examples_per_s']:.0f} ex/s  {record['step_time_s']:.2f} s/step"
        )

    def _evaluate(self) -> dict[str, float]:
        """Eval figures ({} when a stop signal cut the evaluation short: stopping must not wait for it)."""
        figures = evaluate(
            self.raw_model, self.eval_data, self.cfg.data.eval_examples, self.eval_batch, self.device,
            self._autocast, self.ctx, on_batch=lambda: self.heartbeat.progress(self.step),
            should_stop=lambda: self._agree(self._local_flags())["stop"],
        )
        if figures is None:
            return {}
        self.last_eval_step = self.step
        self.sink.metric("eval", self.step, split=self.cfg.data.eval_split, **figures)
        self.sink.log(
            f"eval   {self.step:>6}  exact {figures['exact_accuracy']:.3f} (whole puzzle)  "
            f"cell accuracy {figures['accuracy']:.3f}  on {figures['examples']} examples"
        )
        return figures

    def _gate_failed(self) -> bool:
        gate = self.cfg.gate
        if gate is None or self.step != gate.step:
            return False
        figures = self.last_eval if self.last_eval_step == self.step else self._evaluate()
        if not figures:
            return False  # evaluation interrupted by a stop signal: the run stops, not judged
        value = figures[gate.metric]
        if value >= gate.min:
            self.sink.event("gate_passed", "info", f"{gate.metric} {value:.4f} >= {gate.min} at step {gate.step}",
                            step=self.step)
            return False
        self.sink.event(
            "gate_failed", "error", f"{gate.metric} {value:.4f} < {gate.min} at step {gate.step}: run stopped",
            hint="the run is not on track: change the recipe (learning rate, size, data) or relax gate.min",
            step=self.step, metric=gate.metric, value=value, min=gate.min,
        )
        return True

    def _set_schedules(self) -> float:
        o = self.cfg.optim
        factor = lr_factor(self.step, o.warmup_steps, self.horizon, o.schedule, o.min_lr_ratio) * self.lr_scale
        lr = set_learning_rates(self.optimizer, self.groups, factor, self._epoch())
        for opt in self.extra_optimizers:
            for pg in opt.param_groups:
                pg["lr"] = pg.setdefault("base_lr", pg["lr"]) * factor
        set_epoch = getattr(self.raw_model, "set_epoch", None)  # routed models: temperature schedule
        if set_epoch is not None:
            set_epoch(self._epoch())
        return lr

    # ---------------------------------------------------------------------------------------------
    # the loop

    def _finish(self) -> int:
        if self.last_eval_step != self.step:
            self.last_eval = self._evaluate()
        self._save_checkpoint(reason="end")
        self.sink.event("finished", "info", f"finished at step {self.step}", step=self.step,
                        exact_accuracy=self.last_eval.get("exact_accuracy"), accuracy=self.last_eval.get("accuracy"),
                        world_size=self.ctx.world_size, ranks_in_sync=self.ranks_in_sync)
        return EXIT_OK

    def _loop(self) -> int:
        train = self.cfg.train
        self.last_eval: dict[str, float] = {}
        if train.max_steps and self.step >= train.max_steps:
            return self._finish()  # resumed a run that had already reached its end
        last_system = 0.0
        window = self._new_window()
        flags = self._agree(self._local_flags())
        while True:
            if flags["pause"] and not flags["stop"]:
                flags = self._wait_while_paused()
            if flags["stop"]:
                why = self.signals.stop_signal or "signal"
                self._save_checkpoint(reason=f"stop ({why})")
                self.sink.event("stopped", "info", f"stopped by {why} at step {self.step}", step=self.step, signal=why)
                return EXIT_OK
            if flags["checkpoint"]:
                self.signals.checkpoint = False
                self._save_checkpoint(reason="requested")

            lr = self._set_schedules()
            result = self._train_step()
            flags = result.flags  # agreed across ranks inside the step's all-reduce
            verdict = self.guard.check(result.loss, result.grad_norm)
            if verdict.action == "step":
                self.scaler.step(self.optimizer)
                self.scaler.update()
                for opt in self.extra_optimizers:
                    opt.step()
            self._zero_grad()
            self.examples += result.examples
            self.step += 1
            self.heartbeat.progress(self.step, "running")  # "starting" until the first step is through
            window["steps"] += 1
            window["examples"] += result.examples
            if verdict.action == "step":
                window["good"] += 1
                window["loss"] += result.loss
                window["grad_norm"] += result.grad_norm
                for k, v in result.figures.items():
                    window["figures"][k] = window["figures"].get(k, 0.0) + v
            else:
                window["skipped"] += 1
                self.sink.event(verdict.reason, "warn", f"step {self.step}: {verdict.message}",
                                hint=HINTS[verdict.reason], step=self.step, loss=result.loss, grad_norm=result.grad_norm)
                if verdict.action == "rollback":
                    self._rollback(verdict.reason, verdict.message)
                    window = self._new_window()
                    continue

            if self.step % train.log_every == 0:
                self._log_train(window, lr)
                window = self._new_window()
            if train.diag_every and self.step % train.diag_every == 0 and result.diag_source is not None:
                diag = result.diag_source.diag
                if diag:
                    self.sink.metric("diag", self.step, **diag)
            if train.system_every_s and time.time() - last_system >= train.system_every_s:
                last_system = time.time()
                self.sink.metric("system", self.step, **self.probe.sample())
            if train.eval_every and self.step % train.eval_every == 0:
                self.last_eval = self._evaluate()
                flags = {**self._agree(self._local_flags()), "done": flags["done"]}  # signals during the eval
            if self._gate_failed():
                self._save_checkpoint(reason="gate failed")
                return EXIT_GATE
            if flags["done"]:
                return self._finish()
            due_steps = train.checkpoint_every and self.step % train.checkpoint_every == 0
            due_time = train.checkpoint_minutes and time.time() - self.last_checkpoint_t >= train.checkpoint_minutes * 60
            if due_steps or due_time:
                self._save_checkpoint(reason="scheduled")
                self.rollbacks_without_progress = 0  # a checkpoint past the rollback point is progress

    def _new_window(self) -> dict[str, Any]:
        return {"t0": time.time(), "steps": 0, "good": 0, "examples": 0, "loss": 0.0, "grad_norm": 0.0,
                "figures": {}, "skipped": 0}

    def run(self) -> int:
        """Train to the end; returns the process exit code (see the module docstring)."""
        self.session_start = time.time()
        try:
            self._setup()
            self.session_start = time.time()
            return self._loop()
        except UserError as exc:
            self._crashed("user_error", str(exc), hint=str(exc))
            raise
        except OutOfMemory as exc:
            self._crashed("oom", str(exc), micro_batch_size=exc.micro_batch_size * self.ctx.world_size,
                          hint="lower train.global_batch_size or train.micro_batch_size, or use a smaller model")
            return EXIT_CRASH
        except Diverged as exc:
            self._crashed("diverged", str(exc), hint="lower optim.lr or raise optim.warmup_steps")
            return EXIT_CRASH
        except KeyboardInterrupt:
            self._crashed("interrupted", "interrupted twice: stopped without a final checkpoint",
                          hint="resume with `hrm train --resume RUN`")
            return 130
        except Exception as exc:
            self._crashed("error", f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
                          hint="see the traceback; `hrm train --resume RUN` continues from the last checkpoint")
            return EXIT_CRASH
        finally:
            self._teardown()

    def _crashed(self, reason: str, message: str, hint: str, **extra: Any) -> None:
        if self.sink is None:
            return
        self.sink.event("crashed", "error", message, hint=hint, step=self.step, reason=reason, **extra)
        if "traceback" in extra:
            self.sink.log(extra["traceback"])

    def _teardown(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.sink is not None:
            self.sink.close()
        self.signals.uninstall()
        destroy_process_group()
