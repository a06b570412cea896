"""Progress of a dataset build, shown three ways.

- `rich`: a progress bar on stderr and a summary table on stdout (a person at a terminal);
- `jsonl`: one JSON object per line on stdout, `{"stage", "done", "total"}` while working and a
  final `{"summary": {...}}` (the dashboard runs the build in a subprocess and reads these lines);
- `quiet`: nothing (library calls and tests).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

MODES = ("rich", "jsonl", "quiet")


class Reporter:
    """Base reporter: keeps the counts; subclasses decide how to show them."""

    def __init__(self) -> None:
        self.name = ""
        self.done = 0
        self.total = 0

    def stage(self, name: str, total: int) -> None:
        """Start a named stage of `total` units (the previous stage is finished)."""
        self.end_stage()
        self.name, self.done, self.total = name, 0, int(total)
        self._show(force=True)

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + int(n)) if self.total else self.done + int(n)
        self._show(force=self.done >= self.total)

    def end_stage(self) -> None:
        if self.name and self.done < self.total:
            self.done = self.total
            self._show(force=True)
        self.name = ""

    def summary(self, summary: dict[str, Any], rows: list[tuple[str, str]]) -> None:
        """The end of the build: `summary` for machines, `rows` (label, value) for people."""
        self.end_stage()

    def close(self) -> None:
        self.end_stage()

    def _show(self, force: bool) -> None:
        pass


class QuietReporter(Reporter):
    pass


class JsonlReporter(Reporter):
    """Prints progress lines, at most ~10 a second per stage plus the first and last of each."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 0.1) -> None:
        super().__init__()
        self.stream = stream or sys.stdout
        self.interval_s = interval_s
        self._last = 0.0

    def _emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, default=str) + "\n")
        self.stream.flush()

    def _show(self, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.interval_s:
            self._last = now
            self._emit({"stage": self.name, "done": self.done, "total": self.total})

    def summary(self, summary: dict[str, Any], rows: list[tuple[str, str]]) -> None:
        super().summary(summary, rows)
        self._emit({"summary": summary})


class RichReporter(Reporter):
    """A Rich progress bar (stderr) per stage, and a table at the end (stdout)."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console()
        self.progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.progress.start()
        self._task_id = None

    def stage(self, name: str, total: int) -> None:
        self.end_stage()  # completes the previous bar while its id is still current
        self._task_id = None
        super().stage(name, total)
        self._task_id = self.progress.add_task(name, total=max(int(total), 1))

    def _show(self, force: bool) -> None:
        if self._task_id is not None:
            self.progress.update(self._task_id, completed=self.done if self.total else 1)

    def summary(self, summary: dict[str, Any], rows: list[tuple[str, str]]) -> None:
        from rich.table import Table

        super().summary(summary, rows)
        self.progress.stop()
        table = Table(title=f"hrm build-data {summary.get('task', '')}", title_justify="left", show_header=False)
        table.add_column("", style="bold")
        table.add_column("")
        for label, value in rows:
            table.add_row(label, value)
        self.console.print(table)

    def close(self) -> None:
        super().close()
        self.progress.stop()


def make_reporter(mode: str) -> Reporter:
    if mode == "jsonl":
        return JsonlReporter()
    if mode == "quiet":
        return QuietReporter()
    if mode == "rich":
        return RichReporter()
    raise ValueError(f"unknown progress mode {mode!r}; choose one of {', '.join(MODES)}")
