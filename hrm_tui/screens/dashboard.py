"""The live dashboard: header, plots, system panel, alerts and the trainer's output.

Two thread workers feed it: one tails the run directory (`RunWatcher.poll`) and one samples the
machine once a second. They only post messages; the handlers here update the store and widgets.
Plots are redrawn on a timer, at most every `redraw_interval` seconds and only when new data
arrived, and only the plots on screen, so the dashboard stays light beside a fast trainer.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from hrm.rundir import RunDir, RunStatus, list_runs, new_run_id, read_jsonl, run_status
from hrm_tui import hrm_commands as hc
from hrm_tui.control import ControlError, RunControl
from hrm_tui.launch import dataset_present
from hrm_tui.messages import LaunchExited, OverlayLoaded, RunUpdated, SystemSampled, TrainerGone
from hrm_tui.plot_draw import EMA_STEPS, ZOOM_STEPS, PlotView
from hrm_tui.plot_specs import PAGES, PLOTS
from hrm_tui.runinfo import HeaderInfo, header_info
from hrm_tui.store import X_AXES, RunStore, to_batch
from hrm_tui.watcher import RunWatcher
from hrm_tui.widgets.alerts_panel import AlertsPanel
from hrm_tui.widgets.log_tail import LogTail
from hrm_tui.widgets.metric_plot import MetricPlot
from hrm_tui.widgets.mode_bar import ModeBar
from hrm_tui.widgets.run_header import RunHeader
from hrm_tui.widgets.system_panel import SystemPanel

if TYPE_CHECKING:
    from hrm_tui.app import HrmApp

IDLE_POLL_S = 2.0  # a finished run is still re-read now and then (e.g. it was restarted)
UI_INTERVAL_S = 0.5  # header and log are refreshed at most this often
ALERTS_INTERVAL_S = 2.0  # new alerts of a running run are added at most this often
REDRAW_DUTY = 0.05  # plots may use at most this share of one core
LOG_LINES = 500


class DashboardScreen(Screen[None]):
    AUTO_FOCUS = ".metric-plot"
    BINDINGS = [
        Binding("p", "pause", "Pause/resume", id="dashboard.pause"),
        Binding("c", "checkpoint", "Checkpoint", id="dashboard.checkpoint"),
        Binding("s", "stop", "Stop", id="dashboard.stop"),
        Binding("R", "restart", "Restart", id="dashboard.restart"),
        Binding("r", "app.switch_mode('runs')", "Runs", id="dashboard.runs"),
        Binding("o", "overlay", "Overlay run", id="dashboard.overlay"),
        Binding("O", "clear_overlay", "Clear overlay", show=False, id="dashboard.clear_overlay"),
        Binding("x", "cycle_x", "x-axis", id="dashboard.x_axis"),
        Binding("l", "toggle_log", "log-y", id="dashboard.log_y"),
        Binding("e", "cycle_ema", "EMA", id="dashboard.ema"),
        Binding("z", "cycle_zoom", "Zoom", id="dashboard.zoom"),
        Binding("m", "filter", "Metrics", id="dashboard.filter"),
        Binding("f", "maximize_plot", "Full plot", id="dashboard.maximize"),
        Binding("L", "full_log", "Full log", id="dashboard.full_log"),
        Binding("right_square_bracket", "next_page", "Next page", show=False, id="dashboard.next_page"),
        Binding("left_square_bracket", "prev_page", "Prev page", show=False, id="dashboard.prev_page"),
    ]

    app: HrmApp

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self.run: RunDir | None = None
        self.run_mode = ""  # live | attached | replay
        self.store = RunStore()
        self.overlays: list[tuple[str, RunStore]] = []
        self.events: list[dict[str, Any]] = []
        self.status: RunStatus | None = None
        self.config: dict[str, Any] | None = None
        self.supervisor: dict[str, Any] | None = None
        self.heartbeat_pid: int | None = None
        self.view = PlotView()
        self.last_redraw_cost_s = 0.0
        self.launched: subprocess.Popen[bytes] | None = None
        self.launch_log: Path | None = None
        self.launch_failed: list[str] | None = None
        self.started: dict[str, subprocess.Popen[bytes]] = {}  # every training this dashboard launched
        self._dirty = False  # plots have data they have not drawn yet
        self._ui_dirty = False  # header, log or alerts have news
        self._pending_log: list[str] = []
        self._pending_events: list[dict[str, Any]] = []
        self._last_ui = 0.0
        self._last_alerts = 0.0
        self._next_redraw = 0.0
        self._prepare_s = 0.0

    # ------------------------------------------------------------------------------------------
    # Layout

    def compose(self) -> ComposeResult:
        yield ModeBar("dashboard")
        yield RunHeader()
        yield Static(self.view.describe(), id="view-strip")
        with Horizontal(id="dash-body"):
            with TabbedContent(id="pages"):
                for page, title in PAGES.items():
                    with TabPane(title, id=f"page-{page}"), Grid(classes="plot-grid"):
                        for spec in PLOTS:
                            if spec.page == page:
                                yield MetricPlot(spec)
            with Vertical(id="sidebar"):
                yield SystemPanel()
                yield AlertsPanel()
        yield LogTail()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.25, self._tick)
        self.sample_system()
        self.call_after_refresh(self.start_from_plan)

    # ------------------------------------------------------------------------------------------
    # Starting: the plan of `hrm tui`, then runs opened from the Runs screen

    def start_from_plan(self) -> None:
        plan = self.app.plan
        if plan.trains:
            self.query_one(RunHeader).show(HeaderInfo(run_id=f"new run of {plan.config}", state="starting",
                                                      mode="live", preset=plan.run_name))
        if plan.mode in ("attach", "replay") and plan.run is not None:
            self.open_run(plan.run, "replay" if plan.mode == "replay" else "attached")
        elif plan.problem:
            self._show_problem(plan.problem, "Open a run with 2 (Runs), or check the set-up with 3 (Environment).")
        elif plan.trains:
            self._offer_attach_or_train()
        else:
            self._show_problem("No run to watch yet.", "Press 2 to open a run, or start one: hrm tui CONFIG.",
                               level="info")

    def _offer_attach_or_train(self) -> None:
        """A run of the same preset still training (e.g. left running on quit): watch it rather than
        start a second one that would halve the speed of both."""
        from hrm_tui.screens.confirm import ConfirmScreen

        plan = self.app.plan
        live = [r for r in list_runs(plan.logs_dir) if r.run_id.startswith(f"{plan.run_name}-")
                and run_status(r, now=self.app.clock()).state in ("running", "paused", "restarting")]
        if not live:
            self._train_when_data_ready()
            return

        def answered(attach: bool | None) -> None:
            if attach:
                self.open_run(live[0].path, "attached")
            else:
                self._train_when_data_ready()

        self.app.push_screen(ConfirmScreen(
            f"[b]{live[0].run_id}[/b] is still training.\n\nWatch it instead of starting another run?",
            yes="Watch it", no="Start a new run"), answered)

    def _train_when_data_ready(self) -> None:
        plan = self.app.plan
        if plan.data_path is not None and not dataset_present(plan.data_path):
            self._offer_build()
        else:
            self.start_training()

    def _show_problem(self, message: str, hint: str, level: str = "error") -> None:
        self.query_one(AlertsPanel).add_events(
            [{"event": "not started" if level == "error" else "nothing open", "level": level,
              "message": message, "hint": hint}])
        info = header_info("", self.store, None, None, [], self.app.clock())
        info.state, info.detail = ("failed" if level == "error" else "waiting"), message
        self.query_one(RunHeader).show(info)

    def _offer_build(self) -> None:
        from hrm_tui.screens.build_data import BuildDataScreen
        from hrm_tui.screens.confirm import ConfirmScreen

        plan = self.app.plan
        if not plan.data_build:
            self._show_problem(f"The dataset {plan.data_path} is missing and the config names no data.build.",
                               "Build it from the Data screen (4), then restart hrm tui.")
            return
        command = "hrm " + " ".join(hc.build_data_args(plan.data_build)[:-2])

        def built(ok: bool | None) -> None:
            if ok and dataset_present(plan.data_path):
                self.start_training()
            elif ok:
                self._show_problem(f"{command} finished but {plan.data_path} is still missing.",
                                   "data.build in the config does not write to data.path: fix the preset.")
            else:
                self._show_problem(f"The dataset {plan.data_path} was not built.",
                                   f"Run {command} in a terminal to see why, or use the Data screen (4).")

        def answered(yes: bool | None) -> None:
            if yes:
                self.query_one(RunHeader).show(HeaderInfo(run_id=f"new run of {plan.config}", state="building data",
                                                          detail=command, mode="live"))
                self.app.push_screen(BuildDataScreen(hc.build_data_args(plan.data_build)), built)
            else:
                self._show_problem(f"The dataset {plan.data_path} is missing.",
                                   f"Build it with {command} or from the Data screen (4).")

        self.app.push_screen(ConfirmScreen(
            f"The dataset [b]{plan.data_path}[/b] that [b]{plan.config}[/b] trains on is missing.\n\n"
            f"Build it now?\n[dim]{command}[/dim]", yes="Build it", no="Not now"), answered)

    def start_training(self, resume: RunDir | None = None) -> None:
        """Launch `hrm train ... --supervise` (or `--resume`) and watch its run directory."""
        app = self.app
        plan = app.plan
        logs_dir = plan.logs_dir
        if resume is None:
            run_id = new_run_id(plan.run_name, logs_dir, now=app.clock())
            args = hc.train_args(plan.config, plan.overrides, run_id, logs_dir)
            run = RunDir(logs_dir / run_id)
        else:
            run, run_id = resume, resume.run_id
            args = hc.resume_args(run_id, logs_dir)
        log_path = logs_dir / ".tui" / f"{run_id}.launch.log"
        try:
            proc = hc.launch_detached([*app.hrm_command, *args], log_path)
        except OSError as exc:
            self._show_problem(f"Could not start hrm train: {exc}", "Check that hrm is installed (make setup).")
            return
        self.started[run_id] = proc
        self.open_run(run.path, "live", launched=proc, launch_log=log_path)
        self.query_one(LogTail).write_lines([f"$ hrm {' '.join(args)}   (pid {proc.pid}, output also in {log_path})"])
        self.watch_launch(proc, run_id, log_path)

    def open_run(self, path: Path, mode: str, launched: subprocess.Popen[bytes] | None = None,
                 launch_log: Path | None = None) -> None:
        """Watch a run directory (live, attached or replayed); the plots start afresh."""
        self.run = RunDir(path)
        self.run_mode = mode
        self.store = RunStore()
        self.events = []
        self.status, self.config, self.supervisor, self.heartbeat_pid = None, None, None, None
        self.launched, self.launch_log, self.launch_failed = launched, launch_log, None
        self._pending_log, self._pending_events = [], []
        self.query_one(AlertsPanel).clear_events()
        self.query_one(LogTail).clear()
        self._mark_all_stale()
        self.workers.cancel_group(self, "watch")
        self.watch_run(self.run, launch_log)
        self._update_header()

    # ------------------------------------------------------------------------------------------
    # Workers (threads): they post messages, never touch widgets

    @work(thread=True, group="watch", exclusive=True, name="watch run")
    def watch_run(self, run: RunDir, launch_log: Path | None) -> None:
        worker = get_current_worker()
        watcher = RunWatcher(run, clock=self.app.clock, extra_log=launch_log)
        while not worker.is_cancelled:
            update = watcher.poll()
            self.post_message(RunUpdated(update))
            interval = IDLE_POLL_S if update.status.terminal else self.app.poll_interval
            deadline = time.monotonic() + interval
            while not worker.is_cancelled and time.monotonic() < deadline:
                time.sleep(0.05)

    @work(thread=True, group="launch", name="wait for hrm train")
    def watch_launch(self, proc: subprocess.Popen[bytes], run_id: str, log_path: Path) -> None:
        worker = get_current_worker()
        while proc.poll() is None:
            if worker.is_cancelled:
                return
            time.sleep(0.2)
        try:
            tail = log_path.read_text(errors="replace").splitlines()[-hc.TAIL_LINES:]
        except OSError:
            tail = []
        self.post_message(LaunchExited(run_id, proc.returncode, tail))

    @work(thread=True, group="system", exclusive=True, name="system sampler")
    def sample_system(self) -> None:
        worker = get_current_worker()
        sampler = self.app.make_system_sampler()
        try:
            while not worker.is_cancelled:
                self.post_message(SystemSampled(sampler(self.heartbeat_pid)))
                deadline = time.monotonic() + self.app.system_interval
                while not worker.is_cancelled and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            close = getattr(sampler, "close", None)
            if close is not None:
                close()

    @work(thread=True, group="overlay", name="load overlay")
    def load_overlay(self, path: Path) -> None:
        try:
            records = read_jsonl(RunDir(path).metrics)
        except OSError as exc:
            self.post_message(OverlayLoaded(path.name, None, str(exc)))
            return
        self.post_message(OverlayLoaded(path.name, to_batch(records)))

    # ------------------------------------------------------------------------------------------
    # Messages from the workers

    @on(RunUpdated)
    def _on_run_updated(self, message: RunUpdated) -> None:
        # Only bookkeeping here; widgets are updated on the next UI tick, in one go (`_flush`).
        update = message.update
        if self.run is None or update.run_id != self.run.run_id:
            return
        if update.batch.count:
            self.store.add(update.batch)
            self._mark_all_stale()
        if update.config is not None:
            self.config = update.config
        if update.events:
            self.events.extend(update.events)
            self._pending_events.extend(update.events)
            for ev in update.events:
                if ev.get("level") == "error":
                    self.notify(str(ev.get("message") or ev.get("event")), title=str(ev.get("event")),
                                severity="error", timeout=8)
        if update.log_lines:
            self._pending_log = [*self._pending_log, *update.log_lines][-LOG_LINES:]
        previous = self.status.state if self.status else None
        self.status, self.supervisor = update.status, update.supervisor
        hb_pid = (update.heartbeat or {}).get("pid")
        self.heartbeat_pid = hb_pid if isinstance(hb_pid, int) and update.status.alive else None
        if previous and previous != update.status.state and update.status.state in ("finished", "stopped"):
            self.notify(f"run {update.status.state}", title=update.run_id)
        self._ui_dirty = True

    def _flush(self) -> None:
        """Apply what the watcher brought since the last tick: one layout pass, not one per message."""
        if self._pending_log:
            self.query_one(LogTail).write_lines(self._pending_log)
            self._pending_log = []
        now = time.monotonic()
        if self._pending_events and (now - self._last_alerts >= ALERTS_INTERVAL_S or self.status is None
                                     or self.status.state != "running"):
            # New alert items re-lay out the screen: batch them (a chatty run costs one pass per 2 s).
            self.query_one(AlertsPanel).add_events(self._pending_events)
            self._pending_events = []
            self._last_alerts = now
        system = self.store.last.get("system")
        if system:
            self.query_one(SystemPanel).show(trainer_record=system)
        self._update_header()
        self._ui_dirty = bool(self._pending_events)

    @on(LaunchExited)
    def _on_launch_exited(self, message: LaunchExited) -> None:
        if self.run is None or message.run_id != self.run.run_id:
            return
        if message.returncode != 0 and not self.events:
            # `hrm train` died before the run wrote anything: say what it printed.
            self.launch_failed = message.output_tail
            last = hc.last_message(message.output_tail) or f"exit status {message.returncode}"
            self.query_one(AlertsPanel).add_events([{
                "event": "hrm train failed", "level": "error", "message": last,
                "traceback": "\n".join(message.output_tail),
                "hint": "the output above is what hrm train printed; fix it and press R to try again",
            }])
            self.query_one(LogTail).write_lines(message.output_tail)
        self._update_header()

    @on(SystemSampled)
    def _on_system(self, message: SystemSampled) -> None:
        self.query_one(SystemPanel).show(sample=message.sample)

    @on(OverlayLoaded)
    def _on_overlay(self, message: OverlayLoaded) -> None:
        if message.batch is None:
            self.notify(f"cannot read {message.label}: {message.error}", severity="error")
            return
        store = RunStore()
        store.add(message.batch)
        self.overlays = [(message.label, store)]
        self.notify(f"overlaying {message.label} (faded colours)", title="Compare")
        self._mark_all_stale()
        self._update_strip()

    @on(AlertsPanel.Opened)
    def _on_alert_opened(self, message: AlertsPanel.Opened) -> None:
        from hrm_tui.screens.alert_detail import AlertDetailScreen

        self.app.push_screen(AlertDetailScreen(message.event))

    @on(TabbedContent.TabActivated)
    def _on_tab(self) -> None:
        self._redraw(force=True)

    # ------------------------------------------------------------------------------------------
    # Drawing

    def _update_header(self) -> None:
        if self.run is None:
            return
        info = header_info(self.run.run_id, self.store, self.status, self.config, self.events,
                           self.app.clock(), self.supervisor)
        # "live" says the dashboard is driving the run: not once the run has ended.
        ended = info.state in ("crashed", "finished", "stopped", "failed")
        info.mode = "" if ended and self.run_mode == "live" else self.run_mode
        if self.launch_failed is not None and info.state in ("starting", "stale"):
            info.state, info.detail = "failed", "hrm train exited before the run started (see Alerts)"
        self.query_one(RunHeader).show(info)

    def _update_strip(self) -> None:
        parts = [self.view.describe()]
        shown = sum(1 for p in PLOTS if p.id not in self.view.hidden)
        if shown < len(PLOTS):
            parts.append(f"plots: {shown}/{len(PLOTS)}")
        if self.overlays:
            parts.append(f"overlay: {', '.join(label for label, _ in self.overlays)} (faded)")
        self.query_one("#view-strip", Static).update("   ".join(parts), layout=False)

    def _mark_all_stale(self) -> None:
        self._dirty = True
        for plot in self.query(MetricPlot):
            plot.stale = True

    def visible_plots(self) -> list[MetricPlot]:
        if self.maximized is not None:
            return [self.maximized] if isinstance(self.maximized, MetricPlot) else []
        active = self.query_one(TabbedContent).active
        return [p for p in self.query(MetricPlot) if p.display and p.parent and p.parent.parent
                and p.parent.parent.id == active]

    def _tick(self) -> None:
        now = time.monotonic()
        if self._ui_dirty and now - self._last_ui >= UI_INTERVAL_S:
            self._flush()
            self._last_ui = now
        elif self.status is not None and self.status.state == "restarting":
            self._update_header()  # the countdown moves even when no file changes
        self._redraw()

    def _redraw(self, force: bool = False) -> None:
        """Redraw the stale plots on screen. Throttled: at most every `redraw_interval` seconds, and
        never more often than keeps the drawing under REDRAW_DUTY of one core (measured)."""
        now = time.monotonic()
        if not force and (not self._dirty or now < self._next_redraw):
            return
        runs = [("main", self.store), *self.overlays]
        start = time.thread_time()  # CPU time, so a busy machine does not look like a slow redraw
        for plot in self.visible_plots():
            if plot.stale or force:
                plot.update_plot(runs, self.view)
        # The plotext drawing of the previous redraw happened in the plots' render(): count it too.
        cost = time.thread_time() - start + MetricPlot.take_render_seconds()
        self._dirty = False  # plots on the other page stay stale until their page is shown
        self._next_redraw = now + max(self.app.redraw_interval, cost / REDRAW_DUTY)
        self.last_redraw_cost_s = cost

    def _view_changed(self) -> None:
        self._update_strip()
        self._mark_all_stale()
        self._redraw(force=True)

    # ------------------------------------------------------------------------------------------
    # Actions: talking to the trainer

    def _control(self) -> RunControl | None:
        if self.run is None:
            self.notify("no run is open", severity="warning")
            return None
        return RunControl(self.run, self.launched.pid if self.launched and self.launched.poll() is None else None)

    def action_pause(self) -> None:
        control = self._control()
        if control is None:
            return
        if self.status is not None and self.status.terminal:
            self.notify(f"the run is {self.status.state}", severity="warning")
            return
        paused = not control.paused()
        try:
            control.set_paused(paused)
        except (ControlError, OSError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify("pause requested: the trainer stops after this step" if paused else "resume requested",
                    title="control.json")

    def action_checkpoint(self) -> None:
        control = self._control()
        if control is None:
            return
        try:
            pid = control.checkpoint()
        except ControlError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"SIGUSR1 sent to {pid}: a checkpoint event follows when it is saved", title="Checkpoint")

    def action_stop(self) -> None:
        from hrm_tui.screens.confirm import ConfirmScreen

        control = self._control()
        if control is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                pid = control.stop()
            except ControlError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"SIGTERM sent to {pid}: the trainer checkpoints and stops", title="Stop")

        self.app.push_screen(ConfirmScreen(
            f"Stop [b]{self.run.run_id if self.run else ''}[/b]?\n\nThe trainer saves a checkpoint, "
            "writes a 'stopped' event and exits. R restarts it from that checkpoint.", yes="Stop", no="Cancel"),
            answered)

    def action_restart(self) -> None:
        from hrm_tui.screens.confirm import ConfirmScreen

        control = self._control()
        if control is None or self.run is None:
            return
        run = self.run
        alive = self.status is not None and (self.status.alive or self.status.state == "restarting")
        text = (f"Restart [b]{run.run_id}[/b] from its last checkpoint?\n\n"
                + ("It is running: it is stopped first (checkpoint, then exit). " if alive else "")
                + f"[dim]hrm {' '.join(hc.resume_args(run.run_id, self.app.plan.logs_dir))}[/dim]")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if alive:
                try:
                    pid = control.stop()
                except ControlError:
                    pid = None
                self.notify("stopping, then restarting from the last checkpoint…", title="Restart")
                self.wait_until_stopped(pid, run.run_id)
            else:
                self.start_training(resume=run)

        self.app.push_screen(ConfirmScreen(text, yes="Restart", no="Cancel"), answered)

    @work(thread=True, group="restart", exclusive=True, name="wait for the trainer to stop")
    def wait_until_stopped(self, pid: int | None, run_id: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while pid is not None and psutil.pid_exists(pid) and time.monotonic() < deadline:
            if get_current_worker().is_cancelled:
                return
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        self.post_message(TrainerGone(run_id))

    @on(TrainerGone)
    def _trainer_gone(self, message: TrainerGone) -> None:
        if self.run is not None and self.run.run_id == message.run_id:
            self.start_training(resume=self.run)

    # ------------------------------------------------------------------------------------------
    # Actions: plot controls

    def action_cycle_x(self) -> None:
        self.view.x_axis = X_AXES[(X_AXES.index(self.view.x_axis) + 1) % len(X_AXES)]
        self._view_changed()

    def action_toggle_log(self) -> None:
        self.view.log_y = not self.view.log_y
        self._view_changed()

    def action_cycle_ema(self) -> None:
        i = EMA_STEPS.index(self.view.ema) if self.view.ema in EMA_STEPS else 0
        self.view.ema = EMA_STEPS[(i + 1) % len(EMA_STEPS)]
        self._view_changed()

    def action_cycle_zoom(self) -> None:
        i = ZOOM_STEPS.index(self.view.last_n) if self.view.last_n in ZOOM_STEPS else 0
        self.view.last_n = ZOOM_STEPS[(i + 1) % len(ZOOM_STEPS)]
        self._view_changed()

    def action_filter(self) -> None:
        from hrm_tui.screens.plot_filter import PlotFilterScreen

        def chosen(hidden: frozenset[str] | None) -> None:
            if hidden is None:
                return
            self.view.hidden = hidden
            for plot in self.query(MetricPlot):
                plot.display = plot.spec.id not in hidden
            self._view_changed()

        self.app.push_screen(PlotFilterScreen(self.view.hidden), chosen)

    def action_maximize_plot(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self._redraw(force=True)
            return
        focused = self.focused
        plot = focused if isinstance(focused, MetricPlot) else next(iter(self.visible_plots()), None)
        if plot is None:
            return
        plot.focus()
        self.maximize(plot, container=False)
        self.call_after_refresh(self._redraw, True)

    def _switch_page(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        pages = [f"page-{p}" for p in PAGES]
        page = pages[(pages.index(tabs.active) + step) % len(pages)] if tabs.active in pages else pages[0]
        # Focus moves with the page: a focused plot on the hidden page would pull its tab back.
        first = next((p for p in self.query_one(f"#{page}").query(MetricPlot) if p.display), None)
        if first is not None:
            first.focus()
        tabs.active = page

    def action_next_page(self) -> None:
        self._switch_page(1)

    def action_prev_page(self) -> None:
        self._switch_page(-1)

    def action_overlay(self) -> None:
        from hrm_tui.screens.run_picker import RunPickerScreen

        exclude = self.run.path if self.run else None

        def picked(path: Path | None) -> None:
            if path is not None:
                self.load_overlay(path)

        self.app.push_screen(RunPickerScreen(self.app.plan.logs_dir, exclude=exclude), picked)

    def action_full_log(self) -> None:
        from hrm_tui.screens.log_viewer import LogViewerScreen

        path = None
        if self.run is not None and self.run.stdout.is_file():
            path = self.run.stdout
        elif self.launch_log is not None:
            path = self.launch_log
        self.app.push_screen(LogViewerScreen(path))

    def action_clear_overlay(self) -> None:
        self.overlays = []
        self._view_changed()

    def live_trainings(self) -> dict[str, subprocess.Popen[bytes]]:
        """The training processes this dashboard started that are still running, by run id."""
        return {run_id: p for run_id, p in self.started.items() if p.poll() is None}
