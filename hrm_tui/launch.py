"""What `hrm tui` was asked to open: the demo, a config to train, a run to attach to or replay.

`hrm/commands/tui.py` builds a `LaunchPlan` from the command line (it may use the library's
config helpers); the app only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEMO_PRESET = "sudoku_demo_cpu"


@dataclass
class LaunchPlan:
    mode: str = "none"  # demo | config | attach | replay | none
    logs_dir: Path = Path("logs")
    config: str = ""  # the config as the user named it (passed on to `hrm train`)
    overrides: list[str] = field(default_factory=list)
    run_name: str = "run"  # run ids are <run_name>-<timestamp>
    run: Path | None = None  # attach / replay
    data_path: Path | None = None  # the dataset the config trains on
    data_build: str = ""  # `hrm build-data` arguments that build it
    problem: str = ""  # why nothing can start, said in the app instead of a fake run

    @property
    def trains(self) -> bool:
        return self.mode in ("demo", "config") and not self.problem


def dataset_present(path: Path | None) -> bool:
    """A dataset folder is complete once it exists (builders rename it into place at the end) and
    holds at least one split's dataset.json."""
    return path is not None and path.is_dir() and any(path.glob("*/dataset.json"))
