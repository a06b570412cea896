"""`python tests/train/toy_cli.py CONFIG [key=value ...] [--supervise] [--nproc-per-node N] ...`:
`hrm train`'s launcher with the toy model, for tests that drive a whole supervised or torchrun run
from outside (signals to the supervisor, rank kills)."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toy import ToyRunConfig  # noqa: E402

from hrm.train.launch import LaunchOptions, launch  # noqa: E402

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("config", nargs="?")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--run-id")
    p.add_argument("--logs-dir", type=Path, default=Path("logs"))
    p.add_argument("--resume")
    p.add_argument("--supervise", action="store_true")
    p.add_argument("--max-restarts", type=int)
    p.add_argument("--nproc-per-node", type=int, default=1)
    p.add_argument("--prometheus-port", type=int)
    a = p.parse_args()
    opts = LaunchOptions(config=a.config, overrides=a.overrides, run_id=a.run_id, logs_dir=a.logs_dir, resume=a.resume,
                         supervise=a.supervise, max_restarts=a.max_restarts, nproc_per_node=a.nproc_per_node,
                         prometheus_port=a.prometheus_port)
    sys.exit(launch(opts, config_cls=ToyRunConfig, entry=[str(Path(__file__).resolve().parent / "toy_worker.py")]))
