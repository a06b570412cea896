"""Read a run directory incrementally: what the dashboard learns on each poll.

`RunWatcher.poll()` is plain Python (no Textual) and runs in a worker thread; it returns a
`RunUpdate` with only what is new since the last poll (metrics as column batches, events, log
lines) plus the run's state. The dashboard posts it to the screen as a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hrm.rundir import JsonlTail, LineTail, RunDir, RunStatus, read_json, run_status
from hrm_tui.store import Batch, to_batch

# A log that is already large when we attach is read from its last part only.
LOG_TAIL_BYTES = 64 * 1024


class TextTail(LineTail):
    """Incremental reader of a text log another process appends to: whole lines only. The first
    read of a large file starts LOG_TAIL_BYTES from its end; a file that shrank is read again."""

    def __init__(self, path: Path, first_read_bytes: int = LOG_TAIL_BYTES):
        super().__init__(path, first_read_bytes)

    def read_new(self) -> list[str]:
        lines = self.read_lines()
        # Progress bars rewrite their line with \r: keep what the line finally said.
        return [line.decode("utf-8", errors="replace").rsplit("\r", 1)[-1] for line in lines]


@dataclass
class RunUpdate:
    """What one poll found. Empty lists mean nothing new."""

    run_id: str
    batch: Batch
    events: list[dict[str, Any]]
    log_lines: list[str]
    status: RunStatus
    heartbeat: dict[str, Any] | None
    supervisor: dict[str, Any] | None
    paused_requested: bool
    config: dict[str, Any] | None = None  # set once, when config.yaml is first read
    exists: bool = True
    bad_lines: int = 0
    polled_at: float = 0.0

    @property
    def has_news(self) -> bool:
        return bool(self.batch.count or self.events or self.log_lines or self.config is not None)


class RunWatcher:
    """Tails one run directory. Not thread-safe: one thread polls it."""

    def __init__(self, run: RunDir, clock: Callable[[], float] = time.time, extra_log: Path | None = None):
        self.run = run
        self.clock = clock
        self._metrics = JsonlTail(run.metrics)
        self._events = JsonlTail(run.events)
        self._stdout = TextTail(run.stdout)
        # Output of the process that launched the run (before stdout.log exists, errors of
        # `hrm train` itself land here).
        self._extra = TextTail(extra_log) if extra_log is not None else None
        self.events: list[dict[str, Any]] = []
        self._config_read = False

    def poll(self) -> RunUpdate:
        now = self.clock()
        exists = self.run.exists()
        config = None
        if exists and not self._config_read and self.run.config.is_file():
            try:
                loaded = yaml.safe_load(self.run.config.read_text())
            except (OSError, yaml.YAMLError):
                loaded = None
            config = loaded if isinstance(loaded, dict) else {}
            self._config_read = True
        records = self._metrics.read_new()
        new_events = self._events.read_new()
        self.events.extend(new_events)
        # The launcher's own output matters until the trainer's log exists (then it repeats it).
        lines = self._extra.read_new() if self._extra is not None and not self.run.stdout.exists() else []
        lines += self._stdout.read_new()
        status = run_status(self.run, self.events, now=now)
        control = read_json(self.run.control) or {}
        return RunUpdate(
            run_id=self.run.run_id,
            batch=to_batch(records),
            events=new_events,
            log_lines=lines,
            status=status,
            heartbeat=self.run.read_heartbeat(),
            supervisor=self.run.read_supervisor(),
            paused_requested=bool(control.get("pause")),
            config=config,
            exists=exists,
            bad_lines=self._metrics.bad_lines + self._events.bad_lines,
            polled_at=now,
        )

