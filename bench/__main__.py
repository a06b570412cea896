"""Every benchmark in sequence: `python -m bench` (`make bench`), under 20 minutes on a 2-core CPU.

    .venv/bin/python -m bench [--quick] [--only NAME [NAME ...]]

Each benchmark runs as `python -m bench.NAME ARGS` from the repository root, printing its table as it
goes and writing bench/results/NAME.json; then the headline figures of those that ran go to
bench/results/summary.json and bench/results/summary.md (the table the README's "Performance"
section reproduces). On a CUDA machine the training-throughput benchmark also runs on the GPU in
bf16 (flash-attn and SDPA, eager and compiled). `--quick` uses small sizes: a few minutes, for
checking the scripts, not figures to quote. On a machine shared with other work, take the lock:
`flock /tmp/hrm-bench.lock make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import RESULTS, ROOT, write_result
from bench.summary import Row, runs_line, summary_rows, to_markdown


@dataclass(frozen=True)
class Bench:
    module: str  # bench.<module>
    args: tuple[str, ...]  # the full run
    quick: tuple[str, ...]  # --quick
    name: str = ""  # its results file (default: the module's name)

    @property
    def result(self) -> str:
        return self.name or self.module


# Sizes of the full run, chosen so the whole sequence fits in 20 minutes on 2 cores.
BENCHES = (
    Bench("data_build", ("--puzzles", "300", "--augs", "1000"),
          ("--puzzles", "100", "--augs", "100", "--easy", "100", "--medium", "20", "--hard", "3")),
    Bench("model_speed", ("--presets", "paper", "paper-trm", "demo", "--batch", "32", "--steps", "3"),
          ("--presets", "paper", "paper-trm", "demo", "--batch", "4", "--steps", "1")),
    Bench("model_memory", ("--cycles", "1", "2", "4", "6"), ("--cycles", "1", "2")),
    Bench("tui", ("--seconds", "20", "--phase-seconds", "30", "--pairs", "2"),
          ("--steps", "10000", "--seconds", "10", "--phase-seconds", "10", "--pairs", "1")),
    Bench("time_to_accuracy", ("--minutes", "12", "--eval-every", "100"), ("--minutes", "1", "--eval-every", "50")),
)


def gpu_benches() -> tuple[Bench, ...]:
    """Training throughput on the GPU in bf16: flash-attn (where installed) and SDPA, eager and compiled."""
    out = []
    for attention in ("auto", "sdpa"):
        for compiled in (False, True):
            variant = ("--compile",) if compiled else ()
            args = ("--device", "cuda", "--dtype", "bfloat16", "--attention", attention, *variant,
                    "--out", f"model_speed_gpu_{attention}_{'compiled' if compiled else 'eager'}")
            out.append(Bench("model_speed", ("--batch", "256", "--steps", "5", *args),
                             ("--batch", "32", "--steps", "2", *args), name=args[-1]))
    return tuple(out)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def machine() -> dict[str, object]:
    import psutil
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "os": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
    }


def run_bench(bench: Bench, quick: bool) -> tuple[int, float]:
    """Runs one benchmark (its output straight to ours); its exit code and seconds."""
    (RESULTS / f"{bench.result}.json").unlink(missing_ok=True)  # what is there afterwards is from this run
    cmd = [sys.executable, "-m", f"bench.{bench.module}", *(bench.quick if quick else bench.args)]
    print(f"\n=== {bench.result}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    returncode = subprocess.run(cmd, cwd=ROOT).returncode
    return returncode, time.perf_counter() - t0


def previous_runs() -> dict[str, dict]:
    """Which command produced each results file, from the last summary ({} without one)."""
    try:
        runs = json.loads((RESULTS / "summary.json").read_text()).get("benches", {})
    except (OSError, ValueError):
        return {}
    return {name: run for name, run in runs.items() if {"command", "returncode", "seconds", "finished"} <= run.keys()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the scripts in a few minutes")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[b.module for b in BENCHES],
                        help="run only these benchmarks: " + ", ".join(b.module for b in BENCHES))
    args = parser.parse_args()

    benches = [b for b in BENCHES if not args.only or b.module in args.only]
    if any(b.module == "model_speed" for b in benches) and cuda_available():
        at = next(i for i, b in enumerate(benches) if b.module == "model_speed") + 1
        benches[at:at] = gpu_benches()
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = "python -m bench" + (" --quick" if args.quick else "") + (
        f" --only {' '.join(args.only)}" if args.only else "")
    # With --only the summary keeps the other benchmarks' latest results (each entry says which
    # command produced it); a full run starts afresh.
    runs = previous_runs() if args.only else {}
    for bench in benches:
        returncode, seconds = run_bench(bench, args.quick)
        runs[bench.result] = {"command": command, "returncode": returncode, "seconds": round(seconds, 1),
                              "finished": time.time()}

    results = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name, run in runs.items()
               if run["returncode"] == 0 and (RESULTS / f"{name}.json").exists()}
    failed = [Row(name, "benchmark failed", f"exit {run['returncode']} (see its output)", met=False)
              for name, run in runs.items() if run["returncode"] != 0]
    rows = summary_rows(results) + failed
    info = machine()
    write_result("summary", {"machine": info, "benches": runs, "rows": [r.as_dict() for r in rows]})
    markdown = (f"Machine: {info['cpu']}, {info['logical_cpus']} logical CPUs, {info['memory_gb']} GiB, "
                f"GPU: {info['gpu'] or 'none'}; torch {info['torch']}. {runs_line(runs)}\n\n" + to_markdown(rows))
    (RESULTS / "summary.md").write_text(markdown)
    print(f"\n{markdown}\nwrote {RESULTS / 'summary.json'} and {RESULTS / 'summary.md'}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
