"""Asked on quit while a training this dashboard started is still running."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[str]):
    """Dismisses with "stop", "leave" or "cancel"."""

    BINDINGS = [
        Binding("escape", "choose('cancel')", "Cancel", id="quit.cancel"),
        Binding("s", "choose('stop')", "Stop training", id="quit.stop"),
        Binding("l", "choose('leave')", "Leave running", id="quit.leave"),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__(classes="modal")
        self.run_ids = run_ids

    def compose(self) -> ComposeResult:
        runs = ", ".join(self.run_ids)
        with Vertical(classes="dialog"):
            yield Static(f"Training [b]{runs}[/b] is still running.\n\n"
                         "[b]Stop[/b] saves a checkpoint and ends it. [b]Leave running[/b] keeps it training; "
                         f"come back with [b]hrm tui --attach {self.run_ids[0]}[/b].")
            with Horizontal(classes="buttons"):
                yield Button("Stop it (s)", variant="error", id="stop")
                yield Button("Leave running (l)", variant="primary", id="leave")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
