"""Key bindings of the screen underneath and of the app, with their ids, and what the figures mean.

Every binding has an id: ~/.config/hrm/tui-keys.yaml (or the file $HRM_TUI_KEYMAP names) maps ids
to other keys, e.g. `dashboard.pause: space`.
"""

from __future__ import annotations

from dataclasses import replace

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GLOSSARY = """\
[b]Reading the dashboard[/b]
  [b]exact accuracy[/b]  share of puzzles solved completely (every cell right): the headline figure.
  [b]cell accuracy[/b]   share of cells right; high cell accuracy with low exact accuracy is common.
  [b]ACT segments[/b]    how many times the model ran its H/L cycles before halting (Q-halt > Q-continue).
  [b]routing entropy[/b] how spread the routing weights are over heads (log(heads) = uniform, 0 = one head).
  [b]Herfindahl[/b]      sum of squared head weights: 1/heads = even, 1 = a single head.
  [b]residuals[/b]       |z(i) - z(i-1)| per inner step: L settles within each H cycle, then H moves.
  Plots: faint curves are raw values behind their EMA; faded colours are the overlaid run.
  States: starting, running, paused, restarting (supervisor countdown), crashed, stale (no heartbeat),
  finished, stopped. Alerts list warnings and errors with a hint each; enter opens one in full.
  Keys: remap any binding by its id in ~/.config/hrm/tui-keys.yaml, e.g. [b]dashboard.pause: space[/b]."""


def key_names(app: App[object] | None, binding: Binding) -> str:
    """The binding's keys as the footer writes them (`?`, `^q`, `]`), comma-separated."""
    if binding.key_display:
        return binding.key_display
    keys = [k.strip() for k in binding.key.split(",") if k.strip()]
    if app is None:
        return ", ".join(keys)
    return ", ".join(app.get_key_display(replace(binding, key=k)) for k in keys)


def bindings_table(title: str, bindings: list[Binding], app: App[object] | None = None) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, padding=(0, 2))
    # Fixed widths so the tables of the screen and of the app line up under each other.
    table.add_column("key", style="bold cyan", no_wrap=True, width=12)
    table.add_column("action", width=26)
    table.add_column("id", style="dim", no_wrap=True)
    for b in bindings:
        table.add_row(key_names(app, b), b.description or b.action, b.id or "")
    return table


def _bindings_of(node: object) -> list[Binding]:
    out = []
    for b in getattr(type(node), "BINDINGS", []):
        if isinstance(b, Binding):
            out.append(b)
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen | None = None) -> None:
        super().__init__(classes="modal")
        self.under = under
        self.listed: list[Binding] = []  # every binding shown, in order

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            with VerticalScroll():
                if self.under is not None:
                    name = (self.under.id or type(self.under).__name__).replace("Screen", "").capitalize()
                    self.listed += _bindings_of(self.under)
                    yield Static(bindings_table(f"{name} keys", _bindings_of(self.under), self.app))
                self.listed += _bindings_of(self.app)
                yield Static(bindings_table("Everywhere", _bindings_of(self.app), self.app))
                yield Static(Text.from_markup(GLOSSARY))
            yield Static("[dim]escape to close[/dim]")
