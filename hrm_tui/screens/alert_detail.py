"""One event from events.jsonl in full: message, hint, traceback and every other field."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from hrm_tui.widgets.alerts_panel import event_text

SHOWN = {"event", "level", "message", "hint", "traceback", "step", "t"}


class AlertDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="alert.close")]

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(classes="modal")
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Static(event_text(self.event, None, traceback_lines=-1))
                rest = {k: v for k, v in self.event.items() if k not in SHOWN}
                if rest:
                    yield Static(json.dumps(rest, indent=2, default=str), classes="dim")
            yield Static("[dim]escape to close[/dim]")
