"""Training throughput of HRM-ACT at the paper and demo presets on this machine, with the model's matmul
FLOP/s next to what a plain torch matmul reaches in the same run (model FLOP utilisation, MFU).

    flock /tmp/hrm-bench.lock .venv/bin/python -m bench.model_speed [--presets paper demo] [--batch 32] [--steps 3]

A step is what the trainer does per optimizer step, on synthetic Sudoku-shaped batches: one `forward`
(one ACT segment for every row, including the no-grad target segment when act_continue is on),
`backward` and the preset's optimizer step. examples/s = rows / step time (each row runs one ACT
segment); tokens/s = examples/s x 81. Model FLOP/s = flops_per_example(train=True) x rows / the
time of forward + backward: the matmul work the configuration needs (the MFU numerator), against a
plain 2048^3 matmul in the same dtype measured right before and after each row; the same over the
whole step (optimizer included) is reported beside it. The models come from the presets in
configs/ (`paper-trm`: the paper preset with act_continue false, the TRM simplification).

Also reported: the dtype `train.dtype: auto` picks on this machine and the bf16 matmul FLOP/s behind
that choice. On a GPU: `--device cuda --dtype bfloat16 [--compile] [--attention sdpa] --out NAME`.
Prints a table and writes bench/results/model_speed.json (or NAME.json).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import torch

from bench.common import write_result
from hrm.device import probe, select_dtype
from hrm.models import TaskShape, build_model, count_parameters
from hrm.train.config import RunConfig, load_run_config
from hrm.train.optimizer import build_optimizer, group_params

SUDOKU = TaskShape(vocab_size=11, seq_len=81, num_puzzle_identifiers=1)
# name -> (preset in configs/, overrides)
PRESETS: dict[str, tuple[str, list[str]]] = {
    "paper": ("sudoku_paper", []),
    "paper-trm": ("sudoku_paper", ["model.act_continue=false"]),  # no target segment
    "demo": ("sudoku_demo_cpu", []),
    "demo-trm": ("sudoku_demo_cpu", ["model.act_continue=false"]),
}


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def matmul_flops(m: int, k: int, n: int, device: str = "cpu", dtype: torch.dtype = torch.float32,
                 repeats: int = 5) -> float:
    """FLOP/s of a plain (m,k)@(k,n) matmul, best of `repeats`."""
    a, b = torch.randn(m, k, device=device, dtype=dtype), torch.randn(k, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best


def sudoku_like_batch(n: int, device: str) -> dict[str, torch.Tensor]:
    return {
        "inputs": torch.randint(1, 11, (n, 81), device=device),
        "labels": torch.randint(2, 11, (n, 81), device=device),
        "puzzle_identifiers": torch.zeros(n, dtype=torch.int64, device=device),
    }


def time_steps(cfg: RunConfig, batch_size: int, steps: int, device: str = "cpu", dtype: str = "float32",
               compile_model: bool = False) -> dict[str, Any]:
    """Time of a training step (the fastest of `steps`, after one warm-up step) of the preset's model
    and optimizer."""
    torch.manual_seed(0)
    model = build_model(cfg.model, SUDOKU).to(device)
    model.set_forward_dtype(dtype)
    optimizer = build_optimizer(group_params(model, cfg.optim), cfg.optim)
    sparse = model.sparse_optimizer(cfg.optim.puzzle_emb.lr, cfg.optim.puzzle_emb.weight_decay)
    optimizers = [optimizer] + ([sparse] if sparse is not None else [])
    forward = torch.compile(model) if compile_model else model
    carry = model.initial_carry(batch_size, device)
    passes, steps_s = [], []
    for i in range(steps + 1):  # the first step warms up allocator and kernels (and compiles)
        n = int(model.rows_to_fill(carry).sum())
        data = sudoku_like_batch(n, device)
        synchronize(device)
        t0 = time.perf_counter()
        carry, out = forward(carry, data)
        out.loss.backward()
        synchronize(device)
        t1 = time.perf_counter()
        for opt in optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)
        synchronize(device)
        if i:
            passes.append(t1 - t0)
            steps_s.append(time.perf_counter() - t0)
    # The fastest of the timed steps: other work on the machine only ever adds time.
    step_s, passes_s = min(steps_s), min(passes)
    flops = model.flops_per_example(train=True) * batch_size
    return {
        "params": count_parameters(model),
        "act_continue": getattr(cfg.model, "act_continue", None),
        "batch": batch_size,
        "step_s": step_s,
        "forward_backward_s": passes_s,
        "examples_per_s": batch_size / step_s,
        "tokens_per_s": batch_size * SUDOKU.seq_len / step_s,
        "model_gflops_per_step": flops / 1e9,
        # The model's passes alone (the optimizer step is per step, not per row: the paper's batch
        # of 384 spreads it over 12x the rows of a 32-row benchmark batch).
        "model_gflop_s": flops / passes_s / 1e9,
        "step_gflop_s": flops / step_s / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=["paper", "paper-trm", "demo"],
                        help=f"names in {list(PRESETS)} or any preset / config file")
    parser.add_argument("--batch", nargs="*", type=int, default=[32])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per row (after one warm-up step)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--attention", default="auto", choices=["auto", "sdpa"],
                        help="sdpa: force PyTorch SDPA (HRM_ATTENTION=sdpa) instead of flash-attn")
    parser.add_argument("--out", default="model_speed", help="result file name under bench/results/")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.attention == "sdpa":
        os.environ["HRM_ATTENTION"] = "sdpa"  # read when the first attention call picks its backend
    dtype = getattr(torch, args.dtype)

    acc = probe()
    auto_dtype = select_dtype("auto", args.device, acc)
    fp32_gflop_s = matmul_flops(2048, 2048, 2048, args.device) / 1e9
    bf16_gflop_s = matmul_flops(512, 512, 512, args.device, torch.bfloat16, repeats=2) / 1e9
    print(f"{args.device}: train.dtype auto -> {auto_dtype}; plain matmul fp32 {fp32_gflop_s:.1f} GFLOP/s, "
          f"bf16 {bf16_gflop_s:.1f} GFLOP/s", flush=True)

    rows = []
    for name in args.presets:
        preset, overrides = PRESETS.get(name, (name, []))
        cfg = load_run_config(preset, overrides)
        for batch in args.batch:
            # A plain matmul right before and after each row: on a machine shared with other work the
            # two differ, and the row's fraction uses the better one.
            before = matmul_flops(2048, 2048, 2048, args.device, dtype) / 1e9
            result = {"preset": name, "config": preset, "overrides": overrides,
                      **time_steps(cfg, batch, args.steps, args.device, args.dtype, args.compile)}
            after = matmul_flops(2048, 2048, 2048, args.device, dtype) / 1e9
            result["matmul_gflop_s_before_after"] = [before, after]
            result["mfu"] = result["model_gflop_s"] / max(before, after)
            result["mfu_step"] = result["step_gflop_s"] / max(before, after)
            rows.append(result)
            print(
                f"{name:10s} {result['params'] / 1e6:6.2f}M  batch {batch:3d}  {result['step_s']:7.3f} s/step  "
                f"{result['examples_per_s']:8.1f} ex/s  {result['tokens_per_s']:9.0f} tok/s  "
                f"{result['model_gflop_s']:7.1f} GFLOP/s  matmul {before:6.1f}/{after:6.1f} GFLOP/s  "
                f"MFU {100 * result['mfu']:4.1f}% ({100 * result['mfu_step']:4.1f}% with the optimizer)",
                flush=True,
            )
    print(f"{args.device} {args.dtype}, threads {args.threads}, compile {args.compile}, attention {args.attention}; "
          f"a step = forward + backward + optimizer step; GFLOP/s = the model's matmul FLOPs / forward + backward "
          f"time; matmul = 2048^3 before/after the row; MFU = model / the better of the two")
    path = write_result(args.out, {
        "machine": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__,
        "device": args.device, "dtype": args.dtype, "compile": args.compile, "attention": args.attention,
        "auto_dtype": auto_dtype, "cpu_native_bf16": acc.cpu_native_bf16,
        "matmul_gflop_s": {"float32": fp32_gflop_s, "bfloat16": bf16_gflop_s},
        "rows": rows,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
