"""A modal that builds a dataset with a progress bar; dismisses with True once built."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from hrm_tui.widgets.build_progress import BuildProgress


class BuildDataScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="build.cancel")]

    def __init__(self, args: list[str]) -> None:
        super().__init__(classes="modal")
        self.args = args
        self.ok = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("[b]Building the dataset[/b]")
            yield BuildProgress()
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(BuildProgress).start(self.args)

    @on(BuildProgress.Finished)
    def _finished(self, message: BuildProgress.Finished) -> None:
        self.ok = message.ok
        button = self.query_one("#cancel", Button)
        button.label = "Continue" if message.ok else "Close"
        button.variant = "primary" if message.ok else "default"
        button.focus()
        if message.ok:
            self.set_timer(1.0, self._continue)

    def _continue(self) -> None:
        if self.is_current:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _close(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        progress = self.query_one(BuildProgress)
        if progress.running:
            progress.cancel()
        self.dismiss(self.ok)
