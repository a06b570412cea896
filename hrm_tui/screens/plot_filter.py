"""Choose which plots the dashboard shows: type to filter by name or metric, space to toggle."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, SelectionList, Static

from hrm_tui.plot_specs import PAGES, PLOTS


class PlotFilterScreen(ModalScreen[frozenset[str]]):
    """Dismisses with the set of hidden plot ids (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel")]

    def __init__(self, hidden: frozenset[str]) -> None:
        super().__init__(classes="modal")
        self.hidden = set(hidden)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Metrics[/b]  type to show only the plots that match (e.g. [i]loss[/i], [i]routing[/i])")
            yield Input(placeholder="filter: plot, metric or keyword", id="filter-text")
            yield SelectionList[str](
                *[(f"{spec.title}  [dim]{PAGES[spec.page]}[/dim]", spec.id, spec.id not in self.hidden)
                  for spec in PLOTS], id="plot-list")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("All", id="all")
                yield Button("Cancel", id="cancel")

    @on(Input.Changed, "#filter-text")
    def _typed(self, event: Input.Changed) -> None:
        # Typing selects exactly the plots that match; the list still shows them all.
        selection = self.query_one(SelectionList)
        for spec in PLOTS:
            if spec.matches(event.value):
                selection.select(spec.id)
            else:
                selection.deselect(spec.id)

    @on(Input.Submitted, "#filter-text")
    def _submitted(self) -> None:
        self._apply()

    def _apply(self) -> None:
        selected = set(self.query_one(SelectionList).selected)
        self.dismiss(frozenset(spec.id for spec in PLOTS if spec.id not in selected))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._apply()
        elif event.button.id == "all":
            self.query_one(SelectionList).select_all()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
