"""The strip at the top of every screen: the app's modes with their keys, the current one lit."""

from __future__ import annotations

from textual.widgets import Static

MODES = (
    ("dashboard", "1", "Dashboard"),
    ("runs", "2", "Runs"),
    ("environment", "3", "Environment"),
    ("data", "4", "Data"),
    ("compare", "5", "Compare"),
)


class ModeBar(Static):
    def __init__(self, current: str, **kwargs: object) -> None:
        self.current = current
        super().__init__(self._markup(), classes="mode-bar", **kwargs)  # type: ignore[arg-type]

    def _markup(self) -> str:
        parts = [" [b]hrm[/b] "]
        for mode, key, label in MODES:
            if mode == self.current:
                parts.append(f"[reverse] {key} {label} [/reverse]")
            else:
                parts.append(f"[@click=app.switch_mode('{mode}')] [dim]{key}[/dim] {label} [/]")
        parts.append("  [dim]? help  ^p commands  q quit[/dim]")
        return " ".join(parts)
