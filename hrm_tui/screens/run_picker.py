"""Pick another run (to overlay on the dashboard's plots); dismisses with its path or None."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from hrm_tui.widgets.run_table import RunTable


class RunPickerScreen(ModalScreen[Path]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, logs_dir: Path, exclude: Path | None = None, title: str = "Overlay which run?") -> None:
        super().__init__(classes="modal")
        self.logs_dir, self.exclude, self.title_text = logs_dir, exclude, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"[b]{self.title_text}[/b]  [dim]enter to pick, escape to cancel[/dim]")
            yield RunTable(self.logs_dir, exclude=self.exclude, id="picker-table")

    @on(RunTable.Loaded)
    def _loaded(self, message: RunTable.Loaded) -> None:
        if not message.summaries:
            self.query_one(Static).update(f"[b]No other runs in {self.logs_dir}/[/b]  [dim]escape to close[/dim]")

    @on(DataTable.RowSelected)
    def _picked(self, event: DataTable.RowSelected) -> None:
        summary = self.query_one(RunTable).selected()
        if summary is not None:
            self.dismiss(summary.path)

    def action_cancel(self) -> None:
        self.dismiss(None)
