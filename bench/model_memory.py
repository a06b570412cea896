"""Memory of one training step, 1-step gradient vs BPTT, as the H/L cycles grow.

    flock /tmp/hrm-bench.lock .venv/bin/python -m bench.model_memory [--cycles 1 2 4 6]

Two measurements per configuration, each in a fresh subprocess:
- `saved_mb`: bytes of the tensors autograd keeps for backward (counted by
  torch.autograd.graph.saved_tensors_hooks, each storage once). Exact and deterministic: this is
  what BPTT grows and the 1-step gradient keeps flat.
- `peak_rss_delta_mb`: the process's peak resident memory during forward + backward (ru_maxrss)
  minus its resident memory just before: what the machine really pays, allocator included.
Prints a table and writes bench/results/model_memory.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BASE = dict(
    hidden_size=128, num_heads=4, expansion=4, H_layers=2, L_layers=2, puzzle_emb_ndim=0, act_continue=False,
    halt_max_steps=4,
)


def measure(cycles: int, grad: str, batch: int) -> dict:
    """Runs in the child process: one forward + backward of HRM-ACT with H_cycles = L_cycles = cycles."""
    import gc

    import psutil
    import torch

    from hrm.models import HRMActConfig, TaskShape, build_model

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_model(HRMActConfig(**BASE, H_cycles=cycles, L_cycles=cycles, grad=grad), TaskShape(11, 81, 1))
    batch_data = {
        "inputs": torch.randint(1, 11, (batch, 81)),
        "labels": torch.randint(2, 11, (batch, 81)),
        "puzzle_identifiers": torch.zeros(batch, dtype=torch.int64),
    }
    carry = model.initial_carry(batch, "cpu")
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _, out = model(carry, batch_data)
    out.loss.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return {
        "cycles": cycles,
        "grad": grad,
        "module_calls": cycles * cycles + cycles,
        "saved_mb": sum(storages.values()) / 2**20,
        "peak_rss_delta_mb": max(peak - rss_before, 0) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", nargs="*", type=int, default=[1, 2, 4, 6])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--child", nargs=2, metavar=("CYCLES", "GRAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), args.child[1], args.batch)))
        return
    rows = []
    print(f"HRM-ACT hidden {BASE['hidden_size']}, {BASE['H_layers']}+{BASE['L_layers']} layers, batch {args.batch}, "
          f"H_cycles = L_cycles = n")
    print(f"{'n':>3} {'calls':>6} {'grad':>9} {'saved MB':>10} {'peak RSS delta MB':>18}")
    for cycles in args.cycles:
        for grad in ("one_step", "bptt"):
            cmd = [sys.executable, "-m", "bench.model_memory", "--batch", str(args.batch), "--child", str(cycles), grad]
            row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{cycles:3d} {row['module_calls']:6d} {grad:>9} {row['saved_mb']:10.1f} {row['peak_rss_delta_mb']:18.1f}",
                  flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "model_memory.json").write_text(json.dumps({"base": BASE, "batch": args.batch, "rows": rows,
                                                            "t": time.time()}, indent=2))


if __name__ == "__main__":
    main()
