"""Messages that worker threads post to screens. Workers never touch widgets; they post these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from hrm_tui.hrm_commands import CommandResult
from hrm_tui.store import Batch
from hrm_tui.sysmon import SystemSample
from hrm_tui.watcher import RunUpdate


@dataclass
class RunUpdated(Message):
    update: RunUpdate


@dataclass
class SystemSampled(Message):
    sample: SystemSample


@dataclass
class LaunchExited(Message):
    """The `hrm train` process this dashboard started has exited."""

    run_id: str
    returncode: int
    output_tail: list[str]


@dataclass
class OverlayLoaded(Message):
    label: str
    batch: Batch | None
    error: str = ""


@dataclass
class JsonCommandDone(Message):
    """A `hrm ... --json` command finished; `data` is its parsed output (None if it printed none)."""

    purpose: str
    data: Any
    result: CommandResult


@dataclass
class RunDeleted(Message):
    path: str
    error: str = ""


@dataclass
class TrainerGone(Message):
    """The trainer we stopped for a restart has exited (or the wait timed out)."""

    run_id: str
