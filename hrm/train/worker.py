"""The training process itself: `python -m hrm.train.worker RUN_DIR` (one per torchrun rank).

It reads the resolved `config.yaml` of the run directory and trains, resuming from the newest
valid checkpoint when there is one. `hrm train` runs it in-process, under the supervisor, or under
torchrun; other programs (and the tests, with their own model) can call `main` with a config class
and a model builder.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from hrm.config import load_config
from hrm.errors import UserError
from hrm.rundir import RunDir
from hrm.train.config import RunConfig


def main(argv: list[str] | None = None, config_cls: type[RunConfig] = RunConfig,
         build_model: Callable[[Any, Any], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrm.train.worker", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--prometheus-port", type=int, default=None)
    args = parser.parse_args(argv)
    from hrm.train.loop import Trainer

    if build_model is None:
        from hrm.models import build_model
    run = RunDir(args.run_dir)
    try:
        cfg = load_config(config_cls, run.config)
        return Trainer(cfg, run, build_model, prometheus_port=args.prometheus_port).run()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown of torch (seconds on a busy machine): every file the
    trainer wrote is already closed and synced, so only the std streams need flushing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
