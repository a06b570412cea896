"""The trainer's heartbeat: `<run>/heartbeat` rewritten every few seconds by a background thread.

The file says the process is alive (`t`) and whether it is making progress (`progress_t`, moved
by the training loop after every step, eval batch and checkpoint). A watchdog (the supervisor)
treats a file that stopped changing (a frozen process) and a `progress_t` that stopped moving
(a loop stuck in a collective, a dead-locked data read) alike: the trainer is hung.
"""

from __future__ import annotations

import threading
import time

from hrm.rundir import RunDir


class Heartbeat:
    def __init__(self, run: RunDir, interval_s: float, enabled: bool = True):
        self.run, self.interval_s, self.enabled = run, interval_s, enabled
        self.step = 0
        self.state = "starting"
        self.progress_t = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        if self.enabled and self._thread is None:
            self.write()
            self._thread = threading.Thread(target=self._loop, daemon=True, name="hrm-heartbeat")
            self._thread.start()
        return self

    def progress(self, step: int | None = None, state: str | None = None) -> None:
        """Called by the loop whenever it got something done."""
        if step is not None:
            self.step = step
        if state is not None and state != self.state:
            self.state = state
            self.progress_t = time.time()
            self.write()  # state changes (paused, stopping) show at once
        self.progress_t = time.time()

    def write(self) -> None:
        if self.enabled:
            try:
                self.run.write_heartbeat(self.step, self.state, progress_t=self.progress_t)
            except OSError:
                pass  # a full disk must not kill the heartbeat thread; the watchdog sees it go stale

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.write()

    def stop(self, state: str | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 1)
            self._thread = None
        if state is not None:
            self.state = state
        self.write()  # the final step, for watchers
