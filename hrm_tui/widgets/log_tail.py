"""The trainer's latest output lines in a fixed-height pane.

A scrolling log grows its virtual size with every line, and each size change re-lays out the
whole screen; this pane only ever redraws itself. The full output opens in a pager (L).
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.widgets import Static

KEEP = 500


class LogTail(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("", id="log-pane", **kwargs)  # type: ignore[arg-type]
        self.border_title = "Trainer output"
        self.border_subtitle = "L: full log"
        self.lines: deque[str] = deque(maxlen=KEEP)

    def write_lines(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self._show()

    def clear(self) -> None:
        self.lines.clear()
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _show(self) -> None:
        rows = max(1, self.content_size.height)
        shown = list(self.lines)[-rows:]
        self.update(Text("\n".join(shown), no_wrap=True, overflow="ellipsis"), layout=False)
