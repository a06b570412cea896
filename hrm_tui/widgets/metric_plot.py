"""One dashboard plot: a plotext figure of a `PlotSpec`, with its legend in the border.

Drawing is cached: `update_plot` prepares the (downsampled) lines and bumps a version; `render`
rebuilds the plotext text only when that version or the widget's size changed. The dashboard
calls `update_plot` at most every redraw interval, and only for plots that are on screen.
"""

from __future__ import annotations

import time

from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from hrm_tui.plot_draw import PlotView, Prepared, hex_color, paint, prepare
from hrm_tui.plot_specs import PlotSpec
from hrm_tui.store import RunStore


class MetricPlot(PlotextPlot, can_focus=True):
    """A live plot; focus it and press f to fill the screen with it."""

    ALLOW_MAXIMIZE = True
    _render_seconds = 0.0  # plotext time spent by all plots since the dashboard last asked

    @classmethod
    def take_render_seconds(cls) -> float:
        spent, MetricPlot._render_seconds = MetricPlot._render_seconds, 0.0
        return spent

    def __init__(self, spec: PlotSpec, **kwargs: object) -> None:
        super().__init__(id=f"plot-{spec.id}", classes="metric-plot", **kwargs)  # type: ignore[arg-type]
        self.spec = spec
        self.border_title = spec.title
        self.tooltip = spec.help or None
        self._prepared = Prepared(message="waiting for metrics")
        self._view = PlotView()
        self._version = 0
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: RenderResult | None = None
        self._runs: list[tuple[str, RunStore]] = []
        self.stale = True  # data changed since the last update_plot

    def _background(self) -> tuple[int, int, int]:
        try:
            color = Color.parse(self.app.theme_variables.get("surface", "#1e1e1e"))
        except Exception:
            return (30, 30, 30)
        return (color.r, color.g, color.b)

    def update_plot(self, runs: list[tuple[str, RunStore]], view: PlotView) -> None:
        self._runs, self._view = runs, view
        width = max(10, self.size.width - 10)  # y tick labels take about 10 cells
        self._prepared = prepare(self.spec, runs, view, width, self._background())
        self._version += 1
        self.stale = False
        self.refresh()

    def legend(self, width: int = 0) -> Text:
        """One entry per curve: colour, label, latest value. Entries that do not fit on a line of
        `width` cells start the next line whole, so a value never lands apart from its label."""
        entries = []
        for item in self._prepared.legend:
            entry = Text()
            entry.append("━ ", style=hex_color(item.color))
            entry.append(item.label, style="dim")
            entry.append(f" {item.value}")
            entries.append(entry)
        if self._prepared.subtitle:
            entries.append(Text(self._prepared.subtitle, style="dim italic"))
        text = Text(no_wrap=False, overflow="fold")
        used = 0
        for entry in entries:
            if used and width and used + 2 + entry.cell_len > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("  ")
                used += 2
            text.append_text(entry)
            used += entry.cell_len
        return text

    def on_resize(self) -> None:
        if self._runs:
            self.update_plot(self._runs, self._view)

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        key = (self._version, width, height)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        start = time.thread_time()
        if self._prepared.empty:
            result: RenderResult = Text(self._prepared.message, style="dim italic", justify="center")
        else:
            legend = self.legend(width)
            legend_lines = len(legend.wrap(self.app.console, max(1, width))) if legend else 0
            plot_height = max(3, height - legend_lines)
            # A fresh figure each time: plotext keeps state between draws (ticks, scales), so a
            # reused one draws the same data differently depending on what it showed before.
            self._plot = Plot()
            self._plot.plotsize(width, plot_height)
            self._plot._set_size(width, plot_height)
            self._plot.theme(self._get_plotext_theme_name(self.app.theme))
            paint(self._plot, self._prepared, width, plot_height)
            plot = Text.from_ansi(self._plot.build(), no_wrap=True, overflow="crop")
            result = Group(legend, plot) if legend_lines else plot
        self._cache_key, self._cache = key, result
        MetricPlot._render_seconds += time.thread_time() - start
        return result
