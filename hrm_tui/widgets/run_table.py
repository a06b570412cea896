"""A table of the runs in logs/ with status and headline figures (hrm.rundir.summarize).

Summaries read every metrics file, so they are computed in a worker thread; the table fills in
when they arrive. Row keys are run folder paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.message import Message
from textual.widgets import DataTable

from hrm.rundir import RunSummary, list_runs, summarize
from hrm_tui.runinfo import fmt_duration

STATE_COLORS = {"running": "green", "paused": "yellow", "finished": "cyan", "crashed": "red", "stale": "yellow",
                "restarting": "magenta", "stopped": "blue"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


class RunTable(DataTable[str]):
    @dataclass
    class Loaded(Message):
        table: RunTable
        summaries: list[RunSummary]
        generation: int

    def __init__(self, logs_dir: Path, exclude: Path | None = None, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.logs_dir = logs_dir
        self.exclude = exclude.resolve() if exclude else None
        self.summaries: dict[str, RunSummary] = {}
        self.pending = True
        self.generation = 0  # a load started before the latest reload may finish after it: ignored

    def on_mount(self) -> None:
        self.add_columns("run", "state", "arch", "preset", "step", "time", "train loss", "best exact", "cell acc",
                         "errors")
        self.reload()

    def reload(self) -> None:
        self.pending = True
        self.generation += 1
        self._load(self.generation)

    @work(thread=True, exclusive=True, group="runs", name="summarize runs")
    def _load(self, generation: int) -> None:
        runs = [r for r in list_runs(self.logs_dir) if self.exclude is None or r.path.resolve() != self.exclude]
        summaries = []
        for run in runs:
            try:
                summaries.append(summarize(run, now=self.app.clock()))  # type: ignore[attr-defined]
            except OSError:
                continue
        self.post_message(self.Loaded(self, summaries, generation))

    def on_run_table_loaded(self, message: RunTable.Loaded) -> None:
        if message.table is not self or message.generation != self.generation:
            return
        keep = self.selected()
        self.clear()
        self.summaries = {}
        for s in message.summaries:
            key = str(s.path)
            self.summaries[key] = s
            color = STATE_COLORS.get(s.state, "white")
            loss = "-" if s.train_loss is None else f"{s.train_loss:.4f}"
            self.add_row(s.run_id, f"[{color}]{s.state}[/]", s.arch, s.preset, str(s.step),
                         fmt_duration(s.elapsed_s), loss, _pct(s.eval_exact), _pct(s.eval_accuracy),
                         str(s.errors or ""), key=key)
        self.pending = False
        if keep is not None and str(keep.path) in self.summaries:
            self.move_cursor(row=self.get_row_index(str(keep.path)))

    def selected(self) -> RunSummary | None:
        if not self.summaries or self.cursor_row < 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
        return self.summaries.get(key) if key else None
