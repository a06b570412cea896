"""Alerts from events.jsonl, newest first, each with the hint that says what to do.

A `crashed` event shows the end of its traceback; pressing enter on any alert opens it in full.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.message import Message
from textual.widgets import ListItem, ListView, Static

from hrm_tui.runinfo import fmt_duration

LEVEL_STYLE = {"error": ("✖", "bold red"), "warn": ("▲", "bold yellow"), "info": ("●", "cyan")}
TRACEBACK_LINES = 6
MAX_ITEMS = 200  # the panel keeps the newest; every event stays in `events`


def event_text(ev: dict[str, Any], t0: float | None, traceback_lines: int = TRACEBACK_LINES) -> Group:
    icon, style = LEVEL_STYLE.get(str(ev.get("level", "info")), LEVEL_STYLE["info"])
    head = Text()
    head.append(f"{icon} ", style=style)
    head.append(str(ev.get("event", "?")), style=style)
    where = []
    if isinstance(ev.get("step"), int):
        where.append(f"step {ev['step']}")
    if t0 is not None and isinstance(ev.get("t"), (int, float)):
        where.append(f"+{fmt_duration(ev['t'] - t0)}")
    if where:
        head.append("  " + " · ".join(where), style="dim")
    parts: list[Any] = [head]
    message = str(ev.get("message") or "")
    if message:
        parts.append(Text(message))
    tb = ev.get("traceback")
    if isinstance(tb, str) and tb.strip() and traceback_lines:
        lines = tb.rstrip().splitlines()
        shown = lines[-traceback_lines:] if traceback_lines > 0 else lines
        parts.append(Text("\n".join(shown), style="red dim", no_wrap=True, overflow="ellipsis"))
    hint = str(ev.get("hint") or "")
    if hint:
        parts.append(Text.assemble(("→ ", "green"), (hint, "green")))
    return Group(*parts)


class AlertItem(ListItem):
    def __init__(self, event: dict[str, Any], t0: float | None) -> None:
        level = str(event.get("level", "info"))
        super().__init__(Static(event_text(event, t0)), classes=f"alert alert-{level}")
        self.event = event


class AlertsPanel(ListView):
    """Newest alert on top. Select one to read it in full (traceback included)."""

    class Opened(Message):
        def __init__(self, event: dict[str, Any]) -> None:
            super().__init__()
            self.event = event

    def __init__(self, **kwargs: object) -> None:
        super().__init__(id="alerts-panel", **kwargs)  # type: ignore[arg-type]
        self.border_title = "Alerts"
        self.events: list[dict[str, Any]] = []
        self.t0: float | None = None
        self._items: list[AlertItem] = []

    def add_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        if self.t0 is None and isinstance(events[0].get("t"), (int, float)):
            self.t0 = float(events[0]["t"])
        self.events.extend(events)
        items = [AlertItem(ev, self.t0) for ev in reversed(events[-MAX_ITEMS:])]
        self.insert(0, items)
        self._items = items + self._items
        for old in self._items[MAX_ITEMS:]:
            old.remove()
        del self._items[MAX_ITEMS:]
        self.index = 0
        errors = sum(1 for e in self.events if e.get("level") == "error")
        warns = sum(1 for e in self.events if e.get("level") == "warn")
        counts = [f"[red]{errors} error{'s' * (errors != 1)}[/]" if errors else "",
                  f"[yellow]{warns} warn[/]" if warns else ""]
        self.border_subtitle = "  ".join(c for c in counts if c)

    def clear_events(self) -> None:
        self.events = []
        self.t0 = None
        self.border_subtitle = ""
        self._items = []
        self.clear()

    def on_list_view_selected(self, message: ListView.Selected) -> None:
        message.stop()
        item = message.item
        if isinstance(item, AlertItem):
            self.post_message(self.Opened(item.event))
