"""Runs `hrm build-data ... --progress jsonl` in a worker and shows its progress.

The command prints `{"stage", "done", "total"}` lines, then `{"summary": {...}}`. Other output
(warnings, the error message) goes to the small log under the bar.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Log, ProgressBar, Static
from textual.worker import get_current_worker

from hrm_tui import hrm_commands as hc


class BuildProgress(Vertical):
    @dataclass
    class Progress(Message):
        record: dict[str, Any]

    @dataclass
    class Finished(Message):
        """The build ended; `ok` when it exited 0."""

        ok: bool
        result: hc.CommandResult
        summary: dict[str, Any] | None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes="build-progress", **kwargs)  # type: ignore[arg-type]
        self._proc: subprocess.Popen[str] | None = None
        self.running = False
        self.summary: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="build-command")
        yield Static("not started", classes="build-stage")
        # Hidden until a build starts: an idle bar without a total pulses as if something ran.
        bar = ProgressBar(show_eta=False, classes="build-bar")
        bar.display = False
        yield bar
        yield Static("", classes="build-summary")
        yield Log(max_lines=200, classes="build-log")

    def start(self, args: list[str]) -> None:
        self.running = True
        self.summary = None
        self.query_one(".build-command", Static).update(f"[dim]$ hrm {' '.join(args)}[/dim]")
        self.query_one(".build-stage", Static).update("starting…")
        self.query_one(".build-summary", Static).update("")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one(ProgressBar).display = True
        self._run([*self.app.hrm_command, *args])  # type: ignore[attr-defined]

    def cancel(self) -> None:
        self.workers.cancel_group(self, "build")
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    @work(thread=True, exclusive=True, group="build", name="hrm build-data")
    def _run(self, argv: list[str]) -> None:
        worker = get_current_worker()
        summary: dict[str, Any] | None = None

        def record(rec: dict[str, Any]) -> None:
            nonlocal summary
            if isinstance(rec.get("summary"), dict):
                summary = rec["summary"]
            self.post_message(self.Progress(rec))

        def started(proc: subprocess.Popen[str]) -> None:
            self._proc = proc

        result = hc.stream_jsonl(argv, record, cancelled=lambda: worker.is_cancelled, on_start=started)
        self.post_message(self.Finished(result.ok, result, summary))

    def on_build_progress_progress(self, message: BuildProgress.Progress) -> None:
        rec = message.record
        bar = self.query_one(ProgressBar)
        if isinstance(rec.get("summary"), dict):
            if bar.total is not None:
                bar.update(progress=bar.total)
            return
        stage = str(rec.get("stage", ""))
        done, total = rec.get("done"), rec.get("total")
        if isinstance(total, (int, float)) and total > 0:
            bar.update(total=total, progress=done if isinstance(done, (int, float)) else 0)
        count = f"  {done}/{total}" if total else (f"  {done}" if done is not None else "")
        self.query_one(".build-stage", Static).update(f"[b]{stage}[/b]{count}")

    def on_build_progress_finished(self, message: BuildProgress.Finished) -> None:
        self.running = False
        self._proc = None
        self.summary = message.summary
        log = self.query_one(Log)
        log.write_lines(message.result.output_tail)
        stage = self.query_one(".build-stage", Static)
        if message.ok:
            stage.update("[green b]built[/]")
            bar = self.query_one(ProgressBar)
            bar.update(total=bar.total or 1, progress=bar.total or 1)
        else:
            stage.update(f"[red b]failed[/]: {message.result.error_line()}")
        if message.summary:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="dim")
            table.add_column()
            for key, value in flatten_summary(message.summary):
                table.add_row(key, value)
            self.query_one(".build-summary", Static).update(table)


def flatten_summary(summary: dict[str, Any], prefix: str = "", limit: int = 14) -> list[tuple[str, str]]:
    """Scalar figures of a nested summary as (dotted key, value); histograms are left to the CLI."""
    rows: list[tuple[str, str]] = []
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if key == "histogram" or len(rows) >= limit:
            continue
        if isinstance(value, dict):
            rows += flatten_summary(value, f"{name}.", limit - len(rows))
        elif isinstance(value, float):
            rows.append((name, f"{value:.4g}"))
        else:
            rows.append((name, str(value)))
    return rows[:limit]
