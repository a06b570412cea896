"""The Compare screen: pick runs, k values and seeds; run `hrm compare` in a worker; show Pass@k
with confidence intervals as a table and a bar chart, and the pairwise statistics."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, SelectionList, Static
from textual_plotext import PlotextPlot

from hrm.rundir import list_runs, summarize
from hrm_tui import compare_results as cr
from hrm_tui import hrm_commands as hc
from hrm_tui.messages import JsonCommandDone
from hrm_tui.plot_specs import BLUE, VERMILION
from hrm_tui.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from hrm_tui.app import HrmApp


def model_name(run_id: str, arch: str) -> str:
    """Runs are grouped into models by architecture (several runs of one = its seeds)."""
    if arch and arch != "?":
        return arch
    return re.sub(r"-\d{8}-\d{6}.*$", "", run_id) or run_id


def group_models(runs: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """(run id, path, arch) of the picked runs -> model name -> run paths, in picking order."""
    models: dict[str, list[str]] = {}
    for run_id, path, arch in runs:
        models.setdefault(model_name(run_id, arch), []).append(path)
    return models


def parse_ks(text: str) -> list[int]:
    ks = sorted({int(part) for part in text.replace(" ", ",").split(",") if part.strip()})
    if not ks or ks[0] < 1:
        raise ValueError("k values must be whole numbers >= 1, e.g. 1,2,5")
    return ks


class CompareScreen(Screen[None]):
    AUTO_FOCUS = "#compare-runs"
    BINDINGS = [
        Binding("ctrl+r", "compare", "Compare", id="compare.run"),
        Binding("ctrl+l", "load", "Load results.json", id="compare.load"),
        Binding("ctrl+k", "next_k", "Chart k", id="compare.next_k"),
    ]

    app: HrmApp

    def __init__(self) -> None:
        super().__init__(id="compare")
        self.results: dict[str, Any] | None = None
        self.runs: list[tuple[str, str, str]] = []  # (run id, path, arch) of logs/
        self.chart_k: int | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield ModeBar("compare")
        with Horizontal(id="compare-body"):
            with VerticalScroll(id="compare-form"):
                yield Label("Runs to compare [dim](space picks; runs of one architecture are one model, "
                            "each run a seed)[/dim]")
                yield SelectionList[str](id="compare-runs")
                yield Static("", id="compare-models-picked")
                yield Label("k values")
                yield Input("1,2,5", id="compare-ks")
                yield Label("samples per puzzle (n)")
                yield Input("8", id="compare-samples", type="integer")
                yield Label("more options [dim](passed to hrm compare, e.g. --data, --max-puzzles, or "
                            "--config NAME=PRESET to train a model first)[/dim]")
                yield Input("", placeholder="--max-puzzles 200", id="compare-extra")
                yield Label("seeds [dim](runs trained per --config model)[/dim]")
                yield Input("3", id="compare-seeds", type="integer")
                with Horizontal(classes="buttons"):
                    yield Button("Compare (ctrl+r)", variant="primary", id="compare-run")
                yield Label("or open a results.json")
                yield Input("", placeholder="logs/.tui/compare-.../results.json", id="compare-path")
                yield Button("Load (ctrl+l)", id="compare-load")
            with Vertical(id="compare-results"):
                yield Static("[dim]Pick at least two runs and press ctrl+r.[/dim]", id="compare-status")
                yield DataTable(id="compare-models", zebra_stripes=True)
                yield DataTable(id="compare-stats", zebra_stripes=True)
                chart = PlotextPlot(id="compare-chart")
                chart.border_title = "Pass@k with 95% CI"
                yield chart
        yield Footer()

    def on_mount(self) -> None:
        self._list_runs()

    @work(thread=True, exclusive=True, group="list", name="list runs")
    def _list_runs(self) -> None:
        runs = [(s.run_id, str(s.path), s.arch) for s in (summarize(r) for r in list_runs(self.app.plan.logs_dir))]
        self.post_message(JsonCommandDone("list-runs", runs, hc.CommandResult([], 0, [])))

    def picked_models(self) -> dict[str, list[str]]:
        picked = set(self.query_one("#compare-runs", SelectionList).selected)
        return group_models([run for run in self.runs if run[1] in picked])

    @on(SelectionList.SelectedChanged, "#compare-runs")
    def _picked(self) -> None:
        models = self.picked_models()
        text = "  ".join(f"[b]{name}[/b] {len(runs)} run{'s' * (len(runs) != 1)}" for name, runs in models.items())
        self.query_one("#compare-models-picked", Static).update(text or "[dim]nothing picked[/dim]")

    # ------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#compare-run")
    def action_compare(self) -> None:
        if self.running:
            self.notify("a comparison is already running", severity="warning")
            return
        extra = self.query_one("#compare-extra", Input).value
        models = self.picked_models()
        if len(models) + extra.count("--config") < 2:
            self.notify("pick runs of at least two models (space in the list)", severity="warning")
            return
        try:
            ks = parse_ks(self.query_one("#compare-ks", Input).value)
            samples = int(self.query_one("#compare-samples", Input).value or 0)
            seeds = int(self.query_one("#compare-seeds", Input).value or 0)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        if samples < max(ks):
            self.notify(f"samples per puzzle ({samples}) must be at least the largest k ({max(ks)})",
                        severity="error")
            return
        out = self.app.plan.logs_dir / ".tui" / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
        args = hc.compare_args(models, ks, samples, out, extra, seeds)
        self.running = True
        self.query_one("#compare-status", Static).update(f"running [b]hrm {' '.join(args)}[/b] …")
        self._compare([*self.app.hrm_command, *args], out)

    @work(thread=True, exclusive=True, group="compare", name="hrm compare")
    def _compare(self, argv: list[str], out: Path) -> None:
        data, result = hc.run_json(argv, timeout=6 * 3600)
        if not isinstance(data, dict) and (out / "results.json").is_file():
            data = json.loads((out / "results.json").read_text())
        self.post_message(JsonCommandDone("compare", data, result))

    @on(Button.Pressed, "#compare-load")
    def action_load(self) -> None:
        path = Path(self.query_one("#compare-path", Input).value.strip())
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            self.notify(f"cannot read {path}: {exc}", severity="error")
            return
        self.show_results(data, str(path))

    @on(JsonCommandDone)
    def _done(self, message: JsonCommandDone) -> None:
        if message.purpose == "list-runs":
            self.runs = list(message.data)
            selection = self.query_one("#compare-runs", SelectionList)
            selection.clear_options()
            selection.add_options([(f"{run_id}  [dim]{arch}[/dim]", path) for run_id, path, arch in self.runs])
            return
        if message.purpose != "compare":
            return
        self.running = False
        if not isinstance(message.data, dict):
            self.query_one("#compare-status", Static).update(
                f"[b red]hrm compare failed[/] (exit {message.result.returncode}): {message.result.error_line()}")
            return
        self.show_results(message.data, "hrm compare")

    def show_results(self, results: dict[str, Any], source: str) -> None:
        try:
            rows = cr.model_rows(results)
        except (ValueError, TypeError, AttributeError) as exc:
            self.query_one("#compare-status", Static).update(f"[b red]{source}: {exc}[/]")
            return
        self.results = results
        models = self.query_one("#compare-models", DataTable)
        models.clear(columns=True)
        models.add_columns("model", "arch", "params", "passes/answer", "wall time", "seeds",
                           *(f"Pass@{k}" for k in results["ks"]))
        models.add_rows(rows)
        stats = self.query_one("#compare-stats", DataTable)
        stats.clear(columns=True)
        stats.add_columns("pair", "k", "diff [95% CI]", "Welch t", "Welch p", "Cohen d", "Hedges g", "McNemar p")
        stats.add_rows(cr.comparison_rows(results))
        gate = cr.gate_text(results)
        self.query_one("#compare-status", Static).update(
            f"{source}: {results.get('n_puzzles', '?')} puzzles, n = {results.get('n_samples', '?')} samples each"
            + (f"   {gate}" if gate else ""))
        self.chart_k = int(results["ks"][0]) if results["ks"] else None
        self._draw_chart()

    def action_next_k(self) -> None:
        if not self.results or not self.results["ks"]:
            return
        ks = [int(k) for k in self.results["ks"]]
        self.chart_k = ks[(ks.index(self.chart_k) + 1) % len(ks)] if self.chart_k in ks else ks[0]
        self._draw_chart()

    def _draw_chart(self) -> None:
        chart = self.query_one("#compare-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_figure()
        if not self.results or self.chart_k is None:
            chart.refresh()
            return
        cells = [p for p in cr.pass_at_k(self.results) if p.k == self.chart_k]
        if cells:
            names = [p.model for p in cells]
            means = [100 * p.mean for p in cells]
            plt.bar(names, means, color=BLUE, width=0.3)
            centers = [50 * (p.ci_low + p.ci_high) for p in cells]
            widths = [100 * (p.ci_high - p.ci_low) for p in cells]
            plt.error(list(range(1, len(cells) + 1)), centers, yerr=widths, color=VERMILION)
            plt.ylim(0, 100)
            plt.xlim(0.5, len(cells) + 0.5)
        chart.border_title = f"Pass@{self.chart_k} (%) with 95% CI   [dim]ctrl+k: next k[/dim]"
        chart.refresh()
