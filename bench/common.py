"""What the benchmark scripts share: where results go, and the real trainer started as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HRM = str(Path(sys.executable).parent / "hrm")


def write_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/NAME.json, with the time it was written."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**data, "t": time.time()}, indent=2) + "\n")
    return path


def start_trainer(config: str, overrides: list[str], logs_dir: Path, run_id: str) -> subprocess.Popen:
    """`hrm train CONFIG overrides --run-id RUN_ID --logs-dir LOGS_DIR` from the repository root (the
    presets' data paths are relative to it); its output goes to LOGS_DIR/RUN_ID.out."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    out = open(logs_dir / f"{run_id}.out", "w")  # noqa: SIM115  the child keeps it open
    try:
        return subprocess.Popen([HRM, "train", config, *overrides, "--run-id", run_id, "--logs-dir", str(logs_dir)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()


def trainer_output_tail(logs_dir: Path, run_id: str, lines: int = 20) -> str:
    path = logs_dir / f"{run_id}.out"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
