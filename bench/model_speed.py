"""Forward/backward time per example of HRM-ACT at the paper and demo presets on this machine, with
the model's matmul FLOP/s next to what a plain torch matmul reaches in the same run.

    flock /tmp/hrm-bench.lock .venv/bin/python -m bench.model_speed [--batch 8 32] [--steps 3]

A step is one `forward` (one ACT segment for every row, including the no-grad target segment when
act_continue is on) plus `backward`; no optimizer step. Model FLOP/s = flops_per_example(train=True)
x batch / step time, i.e. the matmul work the configuration really runs (MFU numerator).
Prints a table and writes bench/results/model_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from hrm.models import HRMActConfig, RoutedConfig, TaskShape, build_model, count_parameters

SUDOKU = TaskShape(vocab_size=11, seq_len=81, num_puzzle_identifiers=1)
PRESETS = {
    "paper": HRMActConfig(),
    "paper-trm": HRMActConfig(act_continue=False),  # TRM simplification: no target pass
    # The CPU demo the measurements in DESIGN.md point to: 2+2 layers of 128, grid positions, loss on blanks.
    "demo": HRMActConfig(
        hidden_size=128, num_heads=4, H_layers=2, L_layers=2, puzzle_emb_ndim=0, pos_encodings="grid",
        loss_on="changed", halt_max_steps=8,
    ),
    "routed-demo": RoutedConfig(hidden_size=128, num_heads=8, controller="hrm_act", pos_encodings="grid", loss_on="changed"),
}
RESULTS = Path(__file__).resolve().parent / "results"


def matmul_flops(m: int, k: int, n: int, repeats: int = 5) -> float:
    """FLOP/s of a plain fp32 (m,k)@(k,n) matmul, best of `repeats`."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best


def sudoku_like_batch(n: int) -> dict[str, torch.Tensor]:
    return {
        "inputs": torch.randint(1, 11, (n, 81)),
        "labels": torch.randint(2, 11, (n, 81)),
        "puzzle_identifiers": torch.zeros(n, dtype=torch.int64),
    }


def time_steps(cfg, batch_size: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = build_model(cfg, SUDOKU)
    carry = model.initial_carry(batch_size, "cpu")
    times = []
    for i in range(steps + 1):  # the first step warms up allocator and kernels
        n = int(model.rows_to_fill(carry).sum())
        t0 = time.perf_counter()
        carry, out = model(carry, sudoku_like_batch(n))
        out.loss.backward()
        if i:
            times.append(time.perf_counter() - t0)
        model.zero_grad(set_to_none=True)
    step_s = sorted(times)[len(times) // 2]
    flops = model.flops_per_example(train=True) * batch_size
    return {
        "params": count_parameters(model),
        "batch": batch_size,
        "step_s": step_s,
        "ms_per_example": 1000 * step_s / batch_size,
        "examples_per_s": batch_size / step_s,
        "model_gflops_per_step": flops / 1e9,
        "model_gflop_s": flops / step_s / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--batch", nargs="*", type=int, default=[8, 32])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for name in args.presets:
        for batch in args.batch:
            # A plain matmul measured right before and after each row: on a machine shared with other
            # work the two differ, and the row's fraction uses the better one.
            before = matmul_flops(2048, 2048, 2048) / 1e9
            result = {"preset": name, **time_steps(PRESETS[name], batch, args.steps)}
            after = matmul_flops(2048, 2048, 2048) / 1e9
            result["matmul_gflop_s_before_after"] = [before, after]
            result["fraction_of_matmul"] = result["model_gflop_s"] / max(before, after)
            rows.append(result)
            print(
                f"{name:12s} batch {batch:3d}  {result['step_s']:7.3f} s/step  {result['ms_per_example']:8.1f} ms/example  "
                f"{result['model_gflop_s']:6.1f} GFLOP/s  plain matmul {before:5.1f}/{after:5.1f} GFLOP/s  "
                f"({100 * result['fraction_of_matmul']:4.1f}%)",
                flush=True,
            )
    print(f"threads {args.threads}; plain matmul = fp32 2048^3 before/after the row; % = model / the better of the two")
    RESULTS.mkdir(exist_ok=True)
    out = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "torch": torch.__version__,
           "rows": rows, "t": time.time()}
    (RESULTS / "model_speed.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
