"""Side panel: CPU per core, RAM, the trainer's process, GPUs (NVML) and MPS memory.

Fed once a second with a `SystemSample` from the sampler worker, and with the trainer's own
latest `system` record (MPS/CUDA allocator figures only the trainer can see).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from hrm_tui.sysmon import SystemSample
from hrm_tui.widgets.run_header import progress_bar


def _pct_style(p: float) -> str:
    return "red" if p >= 90 else "yellow" if p >= 60 else "green"


def meter(label: str, percent: float | None, value: str, width: int = 12) -> Table:
    row = Table.grid(padding=(0, 1))
    row.add_column(width=7, no_wrap=True)
    row.add_column(width=width, no_wrap=True)
    row.add_column(no_wrap=True)
    bar = progress_bar(None if percent is None else percent / 100, width)
    if percent is not None:
        bar.stylize(_pct_style(percent), 0, int(percent / 100 * width))
    row.add_row(Text(label, style="dim"), bar, Text(value))
    return row


class SystemPanel(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("sampling…", id="system-panel", **kwargs)  # type: ignore[arg-type]
        self.border_title = "System"
        self.sample: SystemSample | None = None
        self.trainer_record: dict[str, Any] = {}
        self._lines = 0

    def show(self, sample: SystemSample | None = None, trainer_record: dict[str, Any] | None = None) -> None:
        if sample is not None:
            self.sample = sample
        if trainer_record is not None:
            self.trainer_record = trainer_record
        panel = self.render_panel()
        # A re-layout of the whole screen costs more than drawing this panel: only when its line
        # count changes (a GPU appears, the trainer goes away) does its height change.
        lines = len(panel.renderables) + 2
        if lines != self._lines:
            self._lines = lines
            self.styles.height = lines
        self.update(panel, layout=False)

    def render_panel(self) -> Group:
        s = self.sample
        parts: list[Any] = []
        if s is None:
            return Group(Text("sampling…", style="dim"))
        cores = s.cpu_per_core
        avg = sum(cores) / len(cores) if cores else 0.0
        parts.append(meter("CPU", avg, f"{avg:.0f}% of {len(cores)} cores"))
        # Per-core bars: one cell each, eight levels.
        blocks = " ▁▂▃▄▅▆▇█"
        line = Text("       ")
        for p in cores[:64]:
            line.append(blocks[min(8, int(p / 100 * 8 + 0.5))], style=_pct_style(p))
        parts.append(line)
        ram_pct = 100 * s.ram_used_gb / s.ram_total_gb if s.ram_total_gb else None
        parts.append(meter("RAM", ram_pct, f"{s.ram_used_gb:.1f}/{s.ram_total_gb:.1f} GB"))
        t = s.trainer
        if t is None:
            parts.append(Text("trainer  no live process", style="dim"))
        elif not t.alive:
            parts.append(Text(f"trainer  pid {t.pid} not running", style="yellow"))
        else:
            parts.append(Text.assemble(("trainer ", "dim"), f"pid {t.pid}  RSS {t.rss_gb:.2f} GB  CPU {t.cpu_percent:.0f}%"))
        for g in s.gpus:
            mem_pct = 100 * g.mem_used_gb / g.mem_total_gb if g.mem_total_gb else None
            parts.append(Text(f"GPU{g.index} {g.name}", style="bold"))
            parts.append(meter("util", g.util_percent, "n/a" if g.util_percent is None else f"{g.util_percent:.0f}%"))
            temp = "" if g.temp_c is None else f"  {g.temp_c:.0f}°C"
            parts.append(meter("mem", mem_pct, f"{g.mem_used_gb:.1f}/{g.mem_total_gb:.1f} GB{temp}"))
        rec = self.trainer_record
        if isinstance(rec.get("mps_alloc_gb"), (int, float)):
            parts.append(Text.assemble(("MPS    ", "dim"), f"alloc {rec['mps_alloc_gb']:.2f} GB  util n/a"))
        if isinstance(rec.get("cuda_alloc_gb"), (int, float)):
            peak = rec.get("cuda_max_alloc_gb")
            peak_text = f" (peak {peak:.2f})" if isinstance(peak, (int, float)) else ""
            parts.append(Text.assemble(("CUDA   ", "dim"), f"alloc {rec['cuda_alloc_gb']:.2f} GB{peak_text}"))
        if not s.gpus and not isinstance(rec.get("mps_alloc_gb"), (int, float)):
            parts.append(Text.assemble(("GPU    ", "dim"), ("none seen", "dim"), (f" ({s.nvml_note})" if s.nvml_note else "", "dim")))
        if s.dashboard is not None and s.dashboard.cpu_percent is not None:
            parts.append(Text(f"this dashboard: CPU {s.dashboard.cpu_percent:.0f}%  RSS {s.dashboard.rss_gb:.2f} GB",
                              style="dim"))
        return Group(*parts)
