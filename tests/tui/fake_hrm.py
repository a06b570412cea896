"""A fake `hrm` command for the dashboard's tests: the documented contracts, canned answers.

    train ...               -> fake_trainer.py (a run directory written like the real trainer's)
    doctor --json           -> checks; FAKE_HRM_DOCTOR=ok|missing-data|crash picks the answer
    build-data TASK ... --progress jsonl
                            -> progress lines, a small dataset folder under --out, a summary;
                               FAKE_HRM_BUILD=fail makes it fail; FAKE_HRM_BUILD_DELAY slows it
    build-data TASK --help  -> a usage text
    compare --model NAME=RUN[,RUN...] ... --k 1,2 --n-samples N --out DIR --json
                            -> results.json in the documented schema (canned figures)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fake_trainer  # noqa: E402


def doctor(args: list[str]) -> int:
    mode = os.environ.get("FAKE_HRM_DOCTOR", "missing-data")
    if mode == "crash":
        print("Traceback (most recent call last):\n  ...\nModuleNotFoundError: No module named 'hrm.data'",
              file=sys.stderr)
        return 1
    checks = [
        {"name": "python", "status": "ok", "detail": "3.11.7", "hint": ""},
        {"name": "torch", "status": "ok", "detail": "2.13.0 (CPU build), 2 threads", "hint": ""},
        {"name": "device", "status": "ok", "detail": "cpu (no CUDA, no MPS)", "hint": ""},
        {"name": "attention", "status": "warn", "detail": "SDPA fallback (no flash-attn)",
         "hint": "pip install 'hrm[flash]' on an NVIDIA GPU"},
    ]
    out = os.environ.get("FAKE_HRM_DATA", "data/fake-sudoku")
    if mode == "missing-data" and not Path(out).is_dir():
        checks.append({"name": f"data {out}", "status": "warn", "detail": "missing (used by sudoku_demo_cpu)",
                       "hint": f"hrm build-data sudoku --out {out}"})
    else:
        checks.append({"name": f"data {out}", "status": "ok", "detail": "train 1000, test 100 examples", "hint": ""})
    status = "warn" if any(c["status"] == "warn" for c in checks) else "ok"
    print(json.dumps({"status": status, "checks": checks}, indent=2))
    return 0


def build_data(args: list[str]) -> int:
    task = args[0] if args else "sudoku"
    if "--help" in args:
        print(f"Usage: hrm build-data {task} [OPTIONS]\n\n  --out PATH  --seed INT  --subsample-size INT  "
              "--num-aug INT  --force  --progress [rich|jsonl]")
        return 0
    if os.environ.get("FAKE_HRM_BUILD") == "fail":
        print("error: data/sudoku-demo exists; pass --force to replace it", file=sys.stderr)
        return 2
    out = Path(args[args.index("--out") + 1]) if "--out" in args else Path("data") / task
    delay = float(os.environ.get("FAKE_HRM_BUILD_DELAY", "0"))
    for stage, total in (("generate", 4), ("augment", 3), ("write", 2)):
        for done in range(total + 1):
            print(json.dumps({"stage": stage, "done": done, "total": total}), flush=True)
            time.sleep(delay)
    print("note: 3 duplicate puzzles dropped", flush=True)
    for split in ("train", "test"):
        (out / split).mkdir(parents=True, exist_ok=True)
        (out / split / "dataset.json").write_text(json.dumps({"seq_len": 81, "vocab_size": 11}))
    (out / "hrm.json").write_text(json.dumps({"task": task, "options": args[1:]}))
    print(json.dumps({"summary": {"task": task, "train": 1000, "test": 100, "seconds": 0.1}}), flush=True)
    return 0


def compare(args: list[str]) -> int:
    out = Path(args[args.index("--out") + 1])
    ks = [int(k) for k in args[args.index("--k") + 1].split(",")]
    n_samples = int(args[args.index("--n-samples") + 1])
    named = [args[i + 1] for i, a in enumerate(args) if a == "--model"]
    if len(named) < 2:
        print("error: compare needs two or more --model NAME=RUN[,RUN...]", file=sys.stderr)
        return 2
    models, pass_at_k = [], {}
    for i, spec in enumerate(named):
        name, _, runs = spec.partition("=")
        runs = runs.split(",")
        base = 0.6 if i == 0 else 0.2
        models.append({"name": name, "arch": name, "runs": runs, "seeds": list(range(len(runs))),
                       "params": 671_234 * (1 + i), "forward_passes_per_answer": 8.0 if i == 0 else 81.0,
                       "wall_time_s": 120.0})
        pass_at_k[name] = {str(k): {"mean": min(1.0, base + 0.05 * k), "ci_low": min(1.0, base + 0.05 * k) - 0.05,
                                    "ci_high": min(1.0, base + 0.05 * k + 0.05), "per_seed": [base] * len(runs)}
                           for k in ks}
    comparisons = [{"a": models[0]["name"], "b": m["name"], "k": k, "diff": 0.4, "ci_low": 0.3, "ci_high": 0.5,
                    "welch_t": 9.1, "welch_p": 0.001, "cohens_d": 3.2, "hedges_g": 2.9, "mcnemar_p": 0.0004}
                   for m in models[1:] for k in ks[:1]]
    results = {"ks": ks, "n_samples": n_samples, "n_puzzles": 100, "models": models, "pass_at_k": pass_at_k,
               "comparisons": comparisons, "gate": {"passed": True, "reason": "Pass@1 of HRM above every baseline"}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results))
    print(json.dumps(results, indent=2))
    return 0


def main() -> int:
    args = sys.argv[1:]
    if not args:
        print("usage: fake_hrm.py COMMAND ...", file=sys.stderr)
        return 2
    command, rest = args[0], args[1:]
    if command == "train":
        return fake_trainer.main(rest)
    if command == "doctor":
        return doctor(rest)
    if command == "build-data":
        return build_data(rest)
    if command == "compare":
        return compare(rest)
    print(f"error: No such command '{command}'.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
