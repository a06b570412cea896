"""Signals turned into flags the training loop checks at step boundaries.

SIGTERM / SIGINT: finish the step, checkpoint, write a `stopped` event, exit 0. A second SIGINT
(Ctrl-C twice) raises KeyboardInterrupt at once. SIGUSR1: checkpoint after this step, keep going.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class SignalFlags:
    def __init__(self) -> None:
        self.stop = False
        self.stop_signal = ""
        self.checkpoint = False
        self._previous: dict[int, object] = {}

    def install(self) -> SignalFlags:
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread (in-process tests)
        for sig, handler in ((signal.SIGTERM, self._on_stop), (signal.SIGINT, self._on_stop),
                             (signal.SIGUSR1, self._on_checkpoint)):
            self._previous[sig] = signal.signal(sig, handler)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stop and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.stop = True
        self.stop_signal = signal.Signals(signum).name

    def _on_checkpoint(self, signum: int, frame: FrameType | None) -> None:
        self.checkpoint = True
