"""`python tests/train/toy_worker.py RUN_DIR`: the real worker entry point with the toy model, for the
tests that need a separate trainer process (kill -9, signals, supervisor, torchrun)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from toy import ToyRunConfig, build_toy  # noqa: E402

from hrm.train.worker import exit_now, main  # noqa: E402

if __name__ == "__main__":
    exit_now(main(config_cls=ToyRunConfig, build_model=build_toy))
