"""The dashboard's top lines: which run, its state, progress with ETA, speed and best eval."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from hrm_tui.runinfo import HeaderInfo, fmt_duration, fmt_rate

STATE_STYLES = {
    "running": "bold black on green",
    "paused": "bold black on yellow",
    "restarting": "bold black on magenta",
    "crashed": "bold white on red",
    "failed": "bold white on red",
    "finished": "bold black on cyan",
    "stopped": "bold white on blue",
    "stale": "bold black on yellow",
    "starting": "bold black on white",
    "building data": "bold black on white",
}


def progress_bar(fraction: float | None, width: int) -> Text:
    """A thin bar like Rich's: filled part, a half cell at the edge, the rest dim."""
    if fraction is None:
        return Text("─" * width, style="dim")
    cells = fraction * width
    full = int(cells)
    text = Text("━" * full, style="green")
    if full < width:
        text.append("╸" if cells - full >= 0.5 else "━", style="green" if cells - full >= 0.5 else "grey30")
        text.append("━" * (width - full - 1), style="grey30")
    return text


class RunHeader(Static):
    """Two lines: identity and state; progress, ETA and throughput."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(id="run-header", **kwargs)  # type: ignore[arg-type]
        self.info = HeaderInfo()
        self._shown = False

    def show(self, info: HeaderInfo) -> None:
        if info == self.info and self._shown:
            return
        self.info, self._shown = info, True
        self.update(self.render_info(info), layout=False)  # fixed height: no screen re-layout

    def render_info(self, info: HeaderInfo) -> Table:
        top = Text()
        top.append(info.run_id or "no run", style="bold")
        for label, value in (("preset", info.preset), ("arch", info.arch), ("device", info.device)):
            if value:
                top.append(f"  {label} ", style="dim")
                top.append(value)
        if info.mode:
            top.append(f"  [{info.mode}]", style="dim")
        state = Text()
        state.append(f" {info.state.upper()} ", style=STATE_STYLES.get(info.state, "bold reverse"))
        detail_style = "yellow" if info.state in ("restarting", "stale", "waiting") else "red"
        long_detail = len(info.detail) > 40
        if info.detail and not long_detail:
            state.append(f" {info.detail}", style=detail_style)

        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(top, state)
        if long_detail and info.step == 0:
            # Nothing ran yet: the second line says why instead of showing an empty progress bar.
            grid.add_row(Text(info.detail, style=detail_style), "")
            return grid

        bottom = Text()
        total = f"/{info.total_steps:,}" if info.total_steps else ""
        bottom.append("step ", style="dim")
        bottom.append(f"{info.step:,}{total}")
        if info.epoch is not None:
            bottom.append("  epoch ", style="dim")
            bottom.append(f"{info.epoch:.2f}".rstrip("0").rstrip("."))
        bottom.append("  ")
        bottom.append(progress_bar(info.progress, 24))
        if info.progress is not None:
            bottom.append(f" {100 * info.progress:.1f}%")
        bottom.append("  ETA ", style="dim")
        bottom.append(fmt_duration(info.eta_s))
        bottom.append("  elapsed ", style="dim")
        bottom.append(fmt_duration(info.elapsed_s))
        bottom.append("  │ ", style="dim")
        bottom.append(fmt_rate(info.examples_per_s))
        bottom.append(" ex/s  ", style="dim")
        bottom.append(fmt_rate(info.tokens_per_s))
        bottom.append(" tok/s", style="dim")
        if info.eval_exact is not None:
            bottom.append("  │ best eval exact ", style="dim")
            bottom.append(f"{100 * info.eval_exact:.1f}%", style="bold")
            if info.eval_accuracy is not None:
                bottom.append(" (cell ", style="dim")
                bottom.append(f"{100 * info.eval_accuracy:.1f}%")
                bottom.append(")", style="dim")
        if info.detail and long_detail:
            bottom.append(f"  {info.detail}", style=detail_style)
        grid.add_row(bottom, "")
        return grid
