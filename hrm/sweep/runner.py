"""Run the cells of a sweep as ordinary `hrm train` runs, several at a time, resumably.

Each cell is the subprocess `hrm train <base.yaml> key=value ... --seed S --run-id <name>-<id>-s<S>
--logs-dir LOGS`, so it is a run like any other (the dashboard can open it, `hrm eval` can score
it). Before starting a cell the runner looks at its run directory:
  finished (or stopped by its quality gate) -> skipped;   another live trainer holds it -> skipped;
  exists but unfinished (crashed, killed)   -> `hrm train --resume <id>` from its last checkpoint;
  missing                                   -> a fresh run.
With `jobs` > 1 cells run in parallel and each gets cores // jobs threads (train.threads and
OMP_NUM_THREADS), so two jobs on two cores do not oversubscribe them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hrm.rundir import RunDir, atomic_write_text, run_status
from hrm.sweep.manifest import sweeps_dir, write_manifest
from hrm.sweep.spec import Cell, SweepSpec, base_config, expand, swept_keys

TRAIN_COMMAND = [sys.executable, "-m", "hrm.cli", "train"]


@dataclass
class CellOutcome:
    cell: Cell
    action: str  # skipped | busy | ran | resumed | failed
    returncode: int | None = None
    seconds: float = 0.0
    log: Path | None = None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """CPU threads each parallel run may use: the cores shared out, at least one."""
    return max(1, (cores or available_cores()) // max(1, jobs))


def cell_state(run: RunDir) -> str:
    """new | done | busy | resume: what the runner does with this cell's run directory."""
    if not run.config.is_file():
        return "new"
    events = run.read_events()
    status = run_status(run, events)
    if status.state == "finished" or any(e.get("event") == "gate_failed" for e in events):
        return "done"
    if status.alive:
        return "busy"
    return "resume"


def sets_key(spec: SweepSpec, key: str, extra: list[str] = ()) -> bool:  # type: ignore[assignment]
    """Whether the sweep itself sets `key` (so the runner leaves it alone)."""
    node: Any = spec.config
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    in_overrides = any(o.split("=", 1)[0].strip() == key for o in [*spec.overrides, *extra])
    return node is not None or in_overrides or key in swept_keys(spec)


def _leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _nested(data: Any, dotted: str) -> tuple[bool, Any]:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


class SweepRunner:
    def __init__(self, spec: SweepSpec, spec_path: Path, logs_dir: Path, jobs: int = 1,
                 train_command: list[str] | None = None, echo: Callable[[str], None] = print,
                 cores: int | None = None, overrides: list[str] | None = None):
        self.spec, self.spec_path, self.logs_dir = spec, Path(spec_path), Path(logs_dir)
        self.extra = list(overrides or [])  # key=value from the command line, for every cell
        self.jobs = max(1, jobs)
        self.train_command = list(train_command or TRAIN_COMMAND)
        self.threads = threads_per_job(self.jobs, cores)
        self.folder = sweeps_dir(self.logs_dir) / spec.name
        self.base_yaml = self.folder / "base.yaml"
        self.cells = expand(spec)
        self._echo, self._lock = echo, threading.Lock()
        self._stop = threading.Event()
        self.outcomes: dict[str, CellOutcome] = {}

    def echo(self, line: str) -> None:
        with self._lock:
            self._echo(line)

    # ---------------------------------------------------------------------------------------------

    def prepare(self, check: Callable[[Path, list[str]], None] | None = None) -> None:
        """Write the base config into the sweep folder and check every cell's config before any run
        starts (`check(base_yaml, overrides)` raises on a bad key or value)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.base_yaml, yaml.safe_dump(base_config(self.spec, self.spec_path), sort_keys=False),
                          durable=False)
        if check is not None:
            from hrm.config import ConfigError

            for cell in self.cells:
                try:
                    check(self.base_yaml, self.cell_overrides(cell))
                except ConfigError as exc:  # name the sweep file and the cell, not the generated base.yaml
                    raise ConfigError(f"{self.spec_path} (run {cell.run_id})", exc.problems) from None
        stale = {c.run_id: d for c in self.cells if self.run_dir(c).config.is_file() and (d := self.conflicts(c))}
        if stale:
            from hrm.errors import UserError

            lines = "; ".join(f"{rid} ({', '.join(d[:3])})" for rid, d in list(stale.items())[:4])
            raise UserError(f"{len(stale)} run(s) of sweep '{self.spec.name}' exist in {self.logs_dir} with other "
                            f"settings: {lines}. Rename the sweep (name:) or move those runs away; a rerun only "
                            "reuses runs made with the same settings")

    def cell_overrides(self, cell: Cell) -> list[str]:
        threads = [] if sets_key(self.spec, "train.threads", self.extra) else [f"train.threads={self.threads}"]
        return [*self.spec.overrides, *self.extra, *cell.overrides(), *threads, f"seed={cell.seed}"]

    def expected(self, cell: Cell) -> dict[str, Any]:
        """The values this sweep sets for a cell (inline config leaves and every override), which an
        existing run of the same id must hold to count as this cell."""
        from hrm.config import parse_override

        want = _leaves(self.spec.config)
        for text in self.cell_overrides(cell):
            path, value = parse_override(text)
            want[".".join(path)] = value
        want.pop("train.threads", None)  # a resource setting, not part of the result
        return want

    def conflicts(self, cell: Cell) -> list[str]:
        """Settings in which the cell's existing run differs from what the sweep asks now."""
        import yaml

        run = self.run_dir(cell)
        try:
            config = yaml.safe_load(run.config.read_text()) or {}
        except (OSError, yaml.YAMLError):
            return []
        out = []
        for key, value in self.expected(cell).items():
            found, have = _nested(config, key)
            if found and not _same(have, value):
                out.append(f"{key}: run has {have!r}, sweep asks {value!r}")
        return out

    def command(self, cell: Cell, state: str) -> list[str]:
        logs = ["--logs-dir", str(self.logs_dir)]
        if state == "resume":
            return [*self.train_command, "--resume", cell.run_id, *logs]
        return [*self.train_command, str(self.base_yaml), *self.cell_overrides(cell), "--run-id", cell.run_id, *logs]

    def run_dir(self, cell: Cell) -> RunDir:
        return RunDir(self.logs_dir / cell.run_id)

    def _run_cell(self, index: int, cell: Cell) -> CellOutcome:
        label = f"[{index + 1}/{len(self.cells)}] {cell.run_id}"
        if self._stop.is_set():
            return CellOutcome(cell, "skipped")
        state = cell_state(self.run_dir(cell))
        if state == "done":
            self.echo(f"{label}: finished earlier, skipped")
            return self._record(CellOutcome(cell, "skipped"))
        if state == "busy":
            self.echo(f"{label}: another trainer is running it, skipped (run the sweep again when it ends)")
            return self._record(CellOutcome(cell, "busy"))
        log = self.folder / f"{cell.run_id}.log"
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads),
               "PYTHONUNBUFFERED": "1"}
        self.echo(f"{label}: {'resuming' if state == 'resume' else 'starting'} ({self.threads} thread(s))")
        started = time.time()
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(self.command(cell, state))}\n")
            out.flush()
            proc = subprocess.run(self.command(cell, state), stdout=out, stderr=subprocess.STDOUT, env=env,
                                  stdin=subprocess.DEVNULL)
        seconds = time.time() - started
        finished = cell_state(self.run_dir(cell)) == "done"
        action = ("resumed" if state == "resume" else "ran") if proc.returncode == 0 and finished else "failed"
        tail = "" if action != "failed" else f": exit {proc.returncode}, see {log}"
        self.echo(f"{label}: {action} in {seconds:.0f} s{tail}")
        return self._record(CellOutcome(cell, action, proc.returncode, seconds, log))

    def _record(self, outcome: CellOutcome) -> CellOutcome:
        with self._lock:
            self.outcomes[outcome.cell.run_id] = outcome
            self.write_manifest()
        return outcome

    def run(self) -> list[CellOutcome]:
        """Run every cell (in parallel up to `jobs`); Ctrl-C stops starting new ones."""
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(self._run_cell, i, c) for i, c in enumerate(self.cells)]
            try:
                return [f.result() for f in futures]
            except KeyboardInterrupt:
                self._stop.set()  # the trainers got the same SIGINT: they checkpoint and stop
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def write_manifest(self, csv: Path | None = None) -> Path:
        runs = []
        for cell in self.cells:
            run = self.run_dir(cell)
            runs.append({"run_id": cell.run_id, "path": str(run.path), "config_id": cell.config_id, "seed": cell.seed,
                         "values": cell.values,
                         "status": run_status(run).state if run.config.is_file() else "pending"})
        return write_manifest(self.logs_dir, self.spec.name, "sweep", str(self.spec_path), swept_keys(self.spec), runs,
                              csv)
