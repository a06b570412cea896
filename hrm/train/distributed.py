"""Data-parallel training under torchrun: process-group set-up, the few collectives the loop uses,
and the torchrun command line the launcher and supervisor run.

Facts behind the choices (docs in ../shared/RELIABILITY.md): gloo on CPU, one thread per rank
(2 threads per rank on 2 cores made a step 7.4x slower); a short process-group timeout so a dead
peer is an error, not a hang; torchrun's own --max-restarts was seen to hang in gloo's
connectFullMesh, so each attempt is a fresh `torchrun --max-restarts 0` and restarts belong to
the supervisor.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def all_reduce_max(self, t: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t

    def broadcast_object(self, obj: Any) -> Any:
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather_object(self, obj: Any) -> list[Any]:
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def env_context() -> DistContext:
    """The rank layout torchrun put in the environment (single process when absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return DistContext(
        rank=int(os.environ.get("RANK", "0")),
        world_size=world,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
    )


def init_process_group(ctx: DistContext, device: str, timeout_s: float) -> None:
    if not ctx.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(ctx.local_rank)
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))


def destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_device(device: str, ctx: DistContext) -> str:
    """Under torchrun every rank takes its own GPU."""
    if ctx.enabled and device == "cuda":
        return f"cuda:{ctx.local_rank}"
    return device


def cpu_threads(requested: int, ctx: DistContext) -> int:
    if requested:
        return requested
    return max(1, (os.cpu_count() or 1) // max(1, ctx.local_world_size))


def torchrun_command(entry: list[str], args: list[str], nproc_per_node: int, nnodes: str = "1",
                     node_rank: int | None = None, rdzv_endpoint: str = "", rdzv_id: str = "") -> list[str]:
    """`python -m torch.distributed.run --max-restarts 0 ...` for one attempt. `entry` is
    ["-m", "module"] or ["script.py"]."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--max-restarts", "0", "--nproc-per-node", str(nproc_per_node)]
    if rdzv_endpoint:
        cmd += ["--nnodes", nnodes, "--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint]
        if rdzv_id:
            cmd += ["--rdzv-id", rdzv_id]
        if node_rank is not None:
            cmd += ["--node-rank", str(node_rank)]
    else:
        cmd += ["--standalone", "--nnodes", "1"]
    if entry and entry[0] == "-m":
        cmd += ["--module", *entry[1:]]
    else:
        cmd += list(entry)
    return cmd + list(args)


def torchrun_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default too; said explicitly to silence its warning
    return env
