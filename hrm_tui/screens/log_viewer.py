"""The trainer's whole output (stdout.log, or the launcher's log before it exists) in a pager."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

MAX_BYTES = 4 * 1024 * 1024  # the last 4 MB of a huge log


class LogViewerScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,L", "dismiss", "Close", id="log.close")]

    def __init__(self, path: Path | None) -> None:
        super().__init__(classes="modal")
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Static(f"[b]{self.path or 'no log yet'}[/b]  [dim]escape to close; arrows, page keys, g/G[/dim]")
            yield Log(id="full-log", highlight=False)

    def on_mount(self) -> None:
        log = self.query_one(Log)
        if self.path is None or not self.path.is_file():
            log.write_line("(the run has written no output yet)")
            return
        with open(self.path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - MAX_BYTES))
            text = f.read().decode("utf-8", errors="replace")
        log.write_lines([line.rsplit("\r", 1)[-1] for line in text.splitlines()])
        log.focus()
