"""The Environment screen: `hrm doctor --json` in a worker, each check with its hint, and the
fixes the dashboard can apply itself (building a missing dataset)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from hrm_tui import hrm_commands as hc
from hrm_tui.messages import JsonCommandDone
from hrm_tui.screens.build_data import BuildDataScreen
from hrm_tui.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from hrm_tui.app import HrmApp

STATUS_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[b red]fail[/]"}


def fix_command(hint: str) -> list[str] | None:
    """The build-data argv a hint asks for (`... hrm build-data sudoku --force`), else None."""
    at = hint.find("hrm build-data")
    if at < 0:
        return None
    words = shlex.split(hint[at:])[1:]
    return hc.build_data_args(words[1:]) if len(words) > 1 else None


class EnvironmentScreen(Screen[None]):
    AUTO_FOCUS = "#env-table"
    BINDINGS = [
        Binding("r", "check", "Run checks", id="environment.check"),
        Binding("f", "fix", "Fix selected", id="environment.fix"),
    ]

    app: HrmApp

    def __init__(self) -> None:
        super().__init__(id="environment")
        self.checks: list[dict[str, Any]] = []
        self.running = False

    def compose(self) -> ComposeResult:
        yield ModeBar("environment")
        yield Static("", id="env-status")
        table: DataTable[str] = DataTable(id="env-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="env-hint")
        yield Static("", id="env-output")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("status", "check", "detail", "hint")
        self.action_check()

    def action_check(self) -> None:
        if self.running:
            return
        self.running = True
        self.query_one("#env-status", Static).update(
            f"running [b]hrm {' '.join(hc.doctor_args(self.app.plan.logs_dir))}[/b] … (the compile probe can take "
            "a minute the first time)")
        self._doctor(hc.doctor_args(self.app.plan.logs_dir))

    @work(thread=True, exclusive=True, group="doctor", name="hrm doctor")
    def _doctor(self, args: list[str]) -> None:
        data, result = hc.run_json([*self.app.hrm_command, *args], timeout=300)
        self.post_message(JsonCommandDone("doctor", data, result))

    @on(JsonCommandDone)
    def _done(self, message: JsonCommandDone) -> None:
        if message.purpose != "doctor":
            return
        self.running = False
        table = self.query_one(DataTable)
        table.clear()
        data = message.data
        output = self.query_one("#env-output", Static)
        if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
            self.checks = []
            self.query_one("#env-status", Static).update(
                f"[b red]hrm doctor did not report[/] (exit {message.result.returncode}): "
                f"{message.result.error_line()}   [dim]r to retry[/dim]")
            output.update("\n".join(message.result.output_tail[-15:]))
            return
        output.update("")
        self.checks = [c for c in data["checks"] if isinstance(c, dict)]
        for i, check in enumerate(self.checks):
            hint = str(check.get("hint") or "")
            fixable = " [b cyan](f: fix)[/]" if fix_command(hint) else ""
            table.add_row(STATUS_STYLE.get(str(check.get("status")), str(check.get("status"))),
                          str(check.get("name", "")), str(check.get("detail", "")), hint + fixable, key=str(i))
        counts = {s: sum(1 for c in self.checks if c.get("status") == s) for s in ("ok", "warn", "fail")}
        overall = STATUS_STYLE.get(str(data.get("status")), str(data.get("status")))
        self.query_one("#env-status", Static).update(
            f"{overall}: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail   "
            "[dim]r re-run · f apply the fix of the selected check[/dim]")
        self._show_check(table.cursor_row)

    @on(DataTable.RowHighlighted, "#env-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_check(event.cursor_row)

    def _show_check(self, row: int) -> None:
        """The selected check in full: the table crops long details and hints at its edge."""
        if not 0 <= row < len(self.checks):
            return
        check = self.checks[row]
        hint = str(check.get("hint") or "")
        self.query_one("#env-hint", Static).update(Text.assemble(
            (f"{check.get('name', '')}: ", "bold"), str(check.get("detail", "")),
            *((("\nhint: ", "bold"), hint) if hint else ())))

    def action_fix(self) -> None:
        table = self.query_one(DataTable)
        if not self.checks or table.cursor_row < 0 or table.cursor_row >= len(self.checks):
            return
        check = self.checks[table.cursor_row]
        args = fix_command(str(check.get("hint") or ""))
        if args is None:
            self.notify(f"no automatic fix for '{check.get('name')}': {check.get('hint') or 'nothing to do'}",
                        severity="warning")
            return

        def built(ok: bool | None) -> None:
            if ok:
                self.action_check()

        self.app.push_screen(BuildDataScreen(args), built)
