"""A stand-in for `hrm train` that writes a canned run directory in milliseconds.

    fake_train.py CONFIG [key=value ...] --run-id ID --logs-dir DIR
    fake_train.py --resume ID --logs-dir DIR

The metrics depend on the config (model.hidden_size, optim.lr, seed) so rows differ. A config with
`fake.crash: true` crashes (exit 1) on its first attempt and finishes when resumed. Every call is
appended to <logs>/calls.log so tests can count them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import yaml

from hrm.config import apply_overrides, read_yaml


def main(argv: list[str]) -> int:
    opts, positional = {}, []
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            positional.append(argv[i])
            i += 1
    logs = Path(opts["--logs-dir"])
    logs.mkdir(parents=True, exist_ok=True)
    resume = opts.get("--resume")
    run = logs / (resume or opts["--run-id"])
    with open(logs / "calls.log", "a") as f:
        f.write(f"{run.name} {'resume' if resume else 'new'} threads={os.environ.get('OMP_NUM_THREADS')}\n")
    if resume:
        cfg = yaml.safe_load((run / "config.yaml").read_text())
    else:
        cfg = apply_overrides(read_yaml(Path(positional[0])), positional[1:])
        run.mkdir(parents=True)
        (run / "checkpoints").mkdir()
        (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    events = open(run / "events.jsonl", "a")
    metrics = open(run / "metrics.jsonl", "a")
    t = time.time()
    events.write(json.dumps({"t": t, "step": 0, "event": "started", "level": "info"}) + "\n")
    if cfg.get("fake", {}).get("crash") and not resume:
        events.write(json.dumps({"t": t, "step": 3, "event": "crashed", "level": "error", "message": "boom",
                                 "hint": "resume"}) + "\n")
        return 1
    size = cfg.get("model", {}).get("hidden_size", 8)
    lr = cfg.get("optim", {}).get("lr", 1e-3)
    seed = cfg.get("seed", 0)
    for step in (5, 10, 15, 20):
        metrics.write(json.dumps({"t": t + step, "step": step, "kind": "train", "loss": 1.0 / step,
                                  "tokens_per_s": 1000.0 * size + step + seed, "peak_mem_gb": 0.1 * size}) + "\n")
    metrics.write(json.dumps({"t": t + 21, "step": 20, "kind": "eval", "split": "test",
                              "exact_accuracy": min(1.0, lr * 100 + seed / 100), "accuracy": 0.9}) + "\n")
    events.write(json.dumps({"t": t + 22, "step": 20, "event": "finished", "level": "info"}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
