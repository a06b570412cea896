"""Minutes of training for the CPU demo preset to reach 50% and 90% held-out exact accuracy.

    flock /tmp/hrm-bench.lock .venv/bin/python -m bench.time_to_accuracy [--minutes 10] [--eval-every 100]

Trains `configs/sudoku_demo_cpu.yaml` with the real trainer (`hrm train sudoku_demo_cpu
train.eval_every=E train.max_minutes=N`) into a temporary logs folder and reads its run directory:
minutes to a threshold = (`t` of the first `eval` record whose `exact_accuracy` reaches it - `t` of the
`started` event) / 60, so the evaluations themselves count (set --eval-every to what a user would).
The run is stopped (SIGTERM: checkpoint, exit 0) as soon as the highest threshold is reached. A
threshold not reached is reported as "not reached in N min" with the best figure.
Prints a table and writes bench/results/time_to_accuracy.json.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import start_trainer, trainer_output_tail, write_result
from hrm.rundir import JsonlTail, RunDir

THRESHOLDS = (0.5, 0.9)
# Start-up (data build when missing, model set-up) and the final evaluation and checkpoint, beyond
# train.max_minutes, before the benchmark gives up on the trainer.
GRACE_S = 300.0


def threshold_key(threshold: float) -> str:
    """0.5 -> "50": how thresholds are named in the results."""
    return f"{100 * threshold:g}"


def crossings(evals: Sequence[dict[str, Any]], start_t: float,
              thresholds: Sequence[float] = THRESHOLDS) -> dict[str, dict[str, float] | None]:
    """For each threshold, the first eval record (in file order) whose exact_accuracy reaches it:
    minutes since `start_t`, step and the figure; None when no record reaches it."""
    out: dict[str, dict[str, float] | None] = {}
    for threshold in thresholds:
        hit = next((r for r in evals if r.get("exact_accuracy", float("-inf")) >= threshold), None)
        out[threshold_key(threshold)] = None if hit is None else {
            "minutes": (hit["t"] - start_t) / 60, "step": hit["step"], "exact_accuracy": hit["exact_accuracy"],
        }
    return out


def best_eval(evals: Sequence[dict[str, Any]], start_t: float) -> dict[str, float] | None:
    """The eval record with the highest exact_accuracy (the earliest of equals)."""
    scored = [r for r in evals if "exact_accuracy" in r]
    if not scored:
        return None
    best = max(scored, key=lambda r: (r["exact_accuracy"], -r["t"]))
    return {"minutes": (best["t"] - start_t) / 60, "step": best["step"], "exact_accuracy": best["exact_accuracy"]}


def describe(result: dict[str, Any], threshold: float) -> str:
    """"3.2 min (step 400)" or "not reached in 10 min (best 71.0% at 9.8 min)"."""
    hit = result["crossings"][threshold_key(threshold)]
    if hit is not None:
        return f"{hit['minutes']:.1f} min (step {hit['step']})"
    best = result["best"]
    tail = f" (best {100 * best['exact_accuracy']:.1f}% at {best['minutes']:.1f} min)" if best else " (no evaluation)"
    return f"not reached in {result['wall_minutes']:.1f} min{tail}"


def train_until(config: str, minutes: float, eval_every: int, overrides: Sequence[str] = (),
                thresholds: Sequence[float] = THRESHOLDS, poll_s: float = 2.0) -> dict[str, Any]:
    """Train `config` for up to `minutes`, stopping once max(thresholds) is reached; the figures."""
    logs = Path(tempfile.mkdtemp(prefix="hrm-bench-tta-"))
    run_id = "tta"
    run = RunDir(logs / run_id)
    settings = [f"train.eval_every={eval_every}", f"train.max_minutes={minutes:g}", *overrides]
    proc = start_trainer(config, settings, logs, run_id)
    tail = JsonlTail(run.metrics)
    stopped_early = timed_out = False
    deadline = time.monotonic() + minutes * 60 + GRACE_S
    try:
        while proc.poll() is None:
            time.sleep(poll_s)
            for record in tail.read_new():
                if record.get("kind") != "eval":
                    continue
                exact = record.get("exact_accuracy", 0.0)
                print(f"  eval at step {record['step']}: exact {100 * exact:.1f}%", flush=True)
                if exact >= max(thresholds) and not stopped_early:
                    proc.send_signal(signal.SIGTERM)  # checkpoint and exit 0
                    stopped_early = True
            if time.monotonic() > deadline and not timed_out:
                proc.terminate()
                timed_out = True
        returncode = proc.wait()
        events = run.read_events()
        started = next((e for e in events if e.get("event") == "started"), None)
        evals = list(run.iter_metrics("eval"))
        trains = list(run.iter_metrics("train"))
        result: dict[str, Any] = {
            "config": config, "overrides": settings, "max_minutes": minutes, "eval_every": eval_every,
            "thresholds": list(thresholds),
            "returncode": returncode, "stopped_early": stopped_early, "timed_out": timed_out,
        }
        if returncode != 0 or started is None or timed_out:
            result["error"] = trainer_output_tail(logs, run_id) or "the trainer wrote no output"
            return result
        start_t = started["t"]
        result.update({
            "device": started.get("device"), "dtype": started.get("dtype"), "params": started.get("params"),
            "threads": started.get("threads"),
            "steps": max((r["step"] for r in trains), default=0),
            # From the `started` event to the last record (the final evaluation, usually).
            "wall_minutes": max(((r["t"] - start_t) / 60 for r in [*trains, *evals]), default=0.0),
            "evals": [{"step": r["step"], "minutes": (r["t"] - start_t) / 60,
                       "exact_accuracy": r.get("exact_accuracy"), "accuracy": r.get("accuracy")} for r in evals],
            "crossings": crossings(evals, start_t, thresholds),
            "best": best_eval(evals, start_t),
            # The trainer's own throughput figures, averaged over its log windows.
            "examples_per_s": _mean(r.get("examples_per_s") for r in trains),
            "tflops_per_s": _mean(r.get("tflops_per_s") for r in trains),
        })
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(logs, ignore_errors=True)


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="sudoku_demo_cpu", help="preset or config file")
    parser.add_argument("--minutes", type=float, default=10.0, help="train.max_minutes")
    parser.add_argument("--eval-every", type=int, default=100, help="train.eval_every (steps)")
    parser.add_argument("--thresholds", type=lambda s: [float(x) for x in s.split(",")], default=list(THRESHOLDS),
                        help="exact-accuracy fractions to time, comma-separated (default 0.5,0.9)")
    parser.add_argument("overrides", nargs="*", help="more key=value overrides for the trainer")
    args = parser.parse_args()

    result = train_until(args.config, args.minutes, args.eval_every, args.overrides, args.thresholds)
    path = write_result("time_to_accuracy", result)
    if "error" in result:
        print(f"the trainer failed (exit {result['returncode']}):\n{result['error']}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.config} on {result['device']} ({result['dtype']}, {result['threads']} threads), "
          f"{result['params'] / 1e6:.2f}M parameters; evaluation every {args.eval_every} steps, held-out split")
    print(f"{'exact accuracy':>15}  time to reach (wall, evaluations included)")
    for threshold in args.thresholds:
        print(f"{f'{100 * threshold:g}%':>15}  {describe(result, threshold)}")
    print(f"{result['steps']} steps in {result['wall_minutes']:.1f} min; trainer-reported "
          f"{result['examples_per_s'] or 0:.0f} examples/s, {1000 * (result['tflops_per_s'] or 0):.1f} GFLOP/s")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
