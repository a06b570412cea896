"""Talking to a running trainer: the control file and signals, nothing else.

Pause/resume writes `control.json`, which the trainer polls each step. Checkpoint-now is SIGUSR1 and
a graceful stop is SIGTERM (checkpoint, `stopped` event, exit 0). Signals go to the supervisor when
one is alive (it forwards them, and knows not to restart after a stop), else to the trainer whose
pid the heartbeat names, else to the process this dashboard launched.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import psutil

from hrm.rundir import RunDir


class ControlError(Exception):
    """The action cannot reach the trainer; the message says why, for a notification."""


@dataclass
class RunControl:
    run: RunDir
    launched_pid: int | None = None

    def target_pid(self) -> int:
        """The process that should receive signals for this run."""
        for source in (self.run.read_supervisor() or {}, self.run.read_heartbeat() or {}):
            pid = source.get("pid")
            if isinstance(pid, int) and pid > 0 and psutil.pid_exists(pid):
                return pid
        if self.launched_pid and psutil.pid_exists(self.launched_pid):
            return self.launched_pid
        raise ControlError(f"no live trainer process for run {self.run.run_id} (finished, or never started)")

    def send(self, sig: signal.Signals) -> int:
        pid = self.target_pid()
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            raise ControlError(f"process {pid} has just exited") from None
        except PermissionError:
            raise ControlError(f"not allowed to signal process {pid} (started by another user?)") from None
        return pid

    def checkpoint(self) -> int:
        return self.send(signal.SIGUSR1)

    def stop(self) -> int:
        return self.send(signal.SIGTERM)

    def paused(self) -> bool:
        return bool(self.run.read_control().get("pause"))

    def set_paused(self, paused: bool) -> None:
        if not self.run.exists():
            raise ControlError(f"run folder {self.run.path} does not exist yet")
        self.run.set_paused(paused)
