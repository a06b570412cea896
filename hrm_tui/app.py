"""`hrm tui`: the Textual app. Modes (1-5) hold the dashboard and the wizards; ? shows the keys.

The app never imports torch: it reads run directories (hrm.rundir) and runs `hrm ...`
subprocesses for everything else. Clock, system sampler and the `hrm` command are injectable, so
tests drive it against a fake trainer and snapshots are deterministic.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from hrm_tui.hrm_commands import default_hrm_command
from hrm_tui.launch import LaunchPlan
from hrm_tui.screens.compare import CompareScreen
from hrm_tui.screens.dashboard import DashboardScreen
from hrm_tui.screens.data import DataScreen
from hrm_tui.screens.environment import EnvironmentScreen
from hrm_tui.screens.help import HelpScreen
from hrm_tui.screens.quit import QuitScreen
from hrm_tui.screens.runs import RunsScreen
from hrm_tui.sysmon import SystemMonitor, SystemSample

KEYMAP_ENV = "HRM_TUI_KEYMAP"
DEFAULT_KEYMAP = Path("~/.config/hrm/tui-keys.yaml")

SystemSampler = Callable[[int | None], SystemSample]


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """Binding id -> key(s), from $HRM_TUI_KEYMAP or ~/.config/hrm/tui-keys.yaml when present."""
    path = Path(os.environ.get(KEYMAP_ENV, "") or (path or DEFAULT_KEYMAP)).expanduser()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class HrmApp(App[None]):
    TITLE = "hrm"
    CSS_PATH = "app.tcss"
    MODES = {
        "dashboard": DashboardScreen,
        "runs": RunsScreen,
        "environment": EnvironmentScreen,
        "data": DataScreen,
        "compare": CompareScreen,
    }
    BINDINGS = [
        Binding("1", "switch_mode('dashboard')", "Dashboard", show=False, id="app.dashboard"),
        Binding("2", "switch_mode('runs')", "Runs", show=False, id="app.runs"),
        Binding("3", "switch_mode('environment')", "Environment", show=False, id="app.environment"),
        Binding("4", "switch_mode('data')", "Data", show=False, id="app.data"),
        Binding("5", "switch_mode('compare')", "Compare", show=False, id="app.compare"),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q,ctrl+q", "quit", "Quit", id="app.quit", priority=False),
    ]

    def __init__(
        self,
        plan: LaunchPlan | None = None,
        *,
        hrm_command: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        system_sampler: Callable[[], SystemSampler] | None = None,
        poll_interval: float = 0.5,
        redraw_interval: float = 1.0,
        system_interval: float = 1.0,
        keymap: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan or LaunchPlan()
        self.hrm_command = hrm_command or default_hrm_command()
        self.clock = clock
        self._system_sampler = system_sampler
        self.poll_interval = poll_interval
        self.redraw_interval = redraw_interval
        self.system_interval = system_interval
        self._keymap = load_keymap() if keymap is None else keymap
        self.exit_note = ""

    def make_system_sampler(self) -> Any:
        """A callable pid -> SystemSample; the live machine unless a test injected a fake."""
        if self._system_sampler is not None:
            return self._system_sampler()
        monitor = SystemMonitor()

        class Sampler:
            def __call__(self, pid: int | None) -> SystemSample:
                return monitor.sample(pid)

            def close(self) -> None:
                monitor.close()

        return Sampler()

    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        self.switch_mode("dashboard")

    @property
    def dashboard(self) -> DashboardScreen:
        stack = self.get_screen_stack("dashboard") if "dashboard" in self._screen_stacks else []
        if not stack:
            raise RuntimeError("the dashboard mode has not started yet")
        return stack[0]  # type: ignore[return-value]

    async def show_dashboard(self) -> DashboardScreen:
        await self.switch_mode("dashboard")
        return self.dashboard

    async def open_run(self, path: Path, mode: str) -> None:
        dashboard = await self.show_dashboard()
        dashboard.open_run(path, mode)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        yield from super().get_system_commands(screen)
        for mode, title in (("dashboard", "Dashboard"), ("runs", "Runs"), ("environment", "Environment"),
                            ("data", "Data"), ("compare", "Compare")):
            yield SystemCommand(f"Go to {title}", f"Switch to the {title} screen",
                                lambda m=mode: self.switch_mode(m))
        if isinstance(screen, DashboardScreen):
            for binding in DashboardScreen.BINDINGS:
                assert isinstance(binding, Binding)
                yield SystemCommand(binding.description, f"dashboard: {binding.action} (key {binding.key})",
                                    lambda a=binding.action: self.run_action(a, screen))

    async def action_quit(self) -> None:
        live = self.dashboard.live_trainings() if "dashboard" in self._screen_stacks else {}
        if not live:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop":
                for proc in live.values():
                    try:
                        os.kill(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                self.exit_note = f"stopped {', '.join(live)} (it saves a checkpoint first)"
                self.exit()
            elif choice == "leave":
                run_id = next(iter(live))
                self.exit_note = f"{', '.join(live)} is still training; watch it again with: hrm tui --attach {run_id}"
                self.exit()

        self.push_screen(QuitScreen(list(live)), chosen)
