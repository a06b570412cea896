"""The Runs screen: every run in logs/ with status and headline figures; open, overlay, delete."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from hrm_tui.messages import RunDeleted
from hrm_tui.screens.confirm import ConfirmScreen
from hrm_tui.widgets.mode_bar import ModeBar
from hrm_tui.widgets.run_table import RunTable

if TYPE_CHECKING:
    from hrm_tui.app import HrmApp

LIVE_STATES = ("running", "paused", "restarting", "starting")


class RunsScreen(Screen[None]):
    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("enter", "open", "Open", id="runs.open"),
        Binding("o", "overlay", "Overlay on dashboard", id="runs.overlay"),
        Binding("d,delete", "delete", "Delete", id="runs.delete"),
        Binding("r", "refresh", "Refresh", id="runs.refresh"),
    ]

    app: HrmApp

    def __init__(self) -> None:
        super().__init__(id="runs")

    def compose(self) -> ComposeResult:
        yield ModeBar("runs")
        yield Static("", id="runs-info")
        yield RunTable(self.app.plan.logs_dir, id="runs-table")
        yield Footer()

    def on_screen_resume(self) -> None:
        table = self.query_one(RunTable)
        if table.summaries or not table.pending:  # coming back: runs may have changed meanwhile
            table.reload()

    @on(RunTable.Loaded)
    def _loaded(self, message: RunTable.Loaded) -> None:
        logs = self.app.plan.logs_dir
        text = (f"{len(message.summaries)} run{'s' * (len(message.summaries) != 1)} in {logs}/   [dim]enter open (live runs attach, finished ones "
                "replay) · o overlay on the dashboard · d delete · r refresh[/dim]") if message.summaries else (
            f"No runs in {logs}/ yet. Start one with [b]hrm tui CONFIG[/b] or [b]hrm train CONFIG[/b].")
        self.query_one("#runs-info", Static).update(text)

    @on(DataTable.RowSelected)
    async def _row_selected(self) -> None:
        await self.action_open()

    async def action_open(self) -> None:
        summary = self.query_one(RunTable).selected()
        if summary is None:
            return
        mode = "attached" if summary.state in LIVE_STATES else "replay"
        await self.app.open_run(summary.path, mode)

    async def action_overlay(self) -> None:
        summary = self.query_one(RunTable).selected()
        if summary is None:
            return
        dashboard = await self.app.show_dashboard()
        dashboard.load_overlay(summary.path)

    def action_refresh(self) -> None:
        self.query_one(RunTable).reload()

    def action_delete(self) -> None:
        summary = self.query_one(RunTable).selected()
        if summary is None:
            return
        if summary.state in LIVE_STATES:
            self.notify(f"{summary.run_id} is {summary.state}: stop it first (s on the dashboard)",
                        severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(summary.path)

        self.app.push_screen(ConfirmScreen(
            f"Delete [b]{summary.run_id}[/b]?\n\nThis removes {summary.path} with its checkpoints and logs. "
            "It cannot be undone.", yes="Delete", no="Keep", danger=True), answered)

    @work(thread=True, group="delete", name="delete run")
    def _delete(self, path: Path) -> None:
        try:
            shutil.rmtree(path)
        except OSError as exc:
            self.post_message(RunDeleted(str(path), str(exc)))
            return
        self.post_message(RunDeleted(str(path)))

    @on(RunDeleted)
    def _deleted(self, message: RunDeleted) -> None:
        if message.error:
            self.notify(f"could not delete {message.path}: {message.error}", severity="error")
        else:
            self.notify(f"deleted {message.path}")
        self.query_one(RunTable).reload()
