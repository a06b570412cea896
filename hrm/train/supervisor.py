"""`hrm train --supervise`: keep a trainer alive without ever trusting it to notice its own death.

Each attempt is a fresh process (or a fresh `torchrun --max-restarts 0`: torchrun's own restarts
were seen to hang in gloo's connectFullMesh 2 times in 4, a fresh launch per attempt recovered 5 of
5). The supervisor watches three things: the child's exit, the heartbeat file (a process that is
frozen stops rewriting it; a loop stuck in a collective stops moving `progress_t`), and a
wall-clock limit per attempt. A failed attempt is killed with its whole process group, recorded
(`crashed` if the trainer could not say so itself, then `restart` with the delay), and relaunched
after an exponential back-off (backoff_s, 2x, 4x, ...) resuming from the newest valid checkpoint.
An out-of-memory crash halves the batch, a divergence halves the learning rate, in config.yaml.
After `max_restarts` failures without progress it gives up with a `gave_up` event.

`supervisor.json` = {"pid", "attempt", "state": running|restarting|finished|stopped|gave_up,
"restart_at", "child_pid"}. SIGTERM/SIGINT/SIGUSR1 sent to the supervisor are forwarded to the
trainer process(es); after a stop signal nothing is restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
import yaml

from hrm.config import yaml_load
from hrm.rundir import JsonlTail, JsonlWriter, RunDir, atomic_write_json, atomic_write_text, event_record
from hrm.train import checkpoint
from hrm.train.config import RunConfig

EXIT_OK, EXIT_CRASH, EXIT_USER, EXIT_GATE = 0, 1, 2, 3
TERMINAL_CODES = (EXIT_OK, EXIT_USER, EXIT_GATE)


class Child:
    """One attempt's process, in its own process group so that it can be killed whole."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, distributed: bool = False):
        self.cmd, self.distributed = cmd, distributed
        self.proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        self.started = time.time()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def trainer_pids(self) -> list[int]:
        """The processes that run the training loop: the child itself, or torchrun's workers."""
        if not self.distributed:
            return [self.proc.pid]
        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def send(self, sig: int) -> None:
        for pid in self.trainer_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)


class SignalForwarder:
    """Forwards SIGTERM/SIGINT/SIGUSR1 to the current child's trainers; remembers a stop request."""

    def __init__(self) -> None:
        self.child: Child | None = None
        self.stop_signal: int | None = None
        self.wake = threading.Event()
        self._previous: dict[int, Any] = {}

    def install(self) -> SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stop_signal = signal.SIGTERM
            self.wake.set()
            signum = signal.SIGTERM  # the trainer's graceful stop, also for Ctrl-C
        if self.child is not None and self.child.poll() is None:
            self.child.send(signum)


def run_once(cmd: list[str], env: dict[str, str] | None = None, distributed: bool = False) -> int:
    """Run one attempt in the foreground (no restarts), forwarding signals to the trainer(s)."""
    fwd = SignalForwarder().install()
    try:
        fwd.child = Child(cmd, env, distributed)
        return fwd.child.wait()
    finally:
        fwd.uninstall()


class Supervisor:
    def __init__(
        self,
        run: RunDir,
        cfg: RunConfig,
        command: Callable[[], list[str]],
        env: dict[str, str] | None = None,
        distributed: bool = False,
        poll_s: float = 0.5,
        config_cls: type[RunConfig] = RunConfig,
        echo: Callable[[str], None] = print,
    ):
        self.run, self.cfg, self.command, self.env = run, cfg, command, env
        self.distributed, self.poll_s, self.config_cls, self.echo = distributed, poll_s, config_cls, echo
        self.rel = cfg.reliability
        self.attempt = 0
        self.forwarder = SignalForwarder()

    # -- files --------------------------------------------------------------------------------------
    def _state(self, state: str, child: Child | None = None, restart_at: float | None = None, **extra: Any) -> None:
        atomic_write_json(self.run.supervisor, {
            "pid": os.getpid(), "attempt": self.attempt, "state": state, "restart_at": restart_at,
            "child_pid": child.pid if child else None, "t": time.time(), **extra,
        }, durable=False)

    def _event(self, event: str, level: str, message: str, hint: str = "", **extra: Any) -> None:
        with JsonlWriter(self.run.events) as w:
            w.write(event_record(event, level, message, hint, step=self._step(), **extra))
        self.echo(f"[supervisor] [{level}] {event}: {message}")

    def _step(self) -> int:
        hb = self.run.read_heartbeat() or {}
        return int(hb.get("step", 0) or 0)

    def _newest_checkpoint_step(self) -> int:
        done = checkpoint.complete(self.run.checkpoints)
        return done[0].step if done else -1

    # -- watching -----------------------------------------------------------------------------------
    def _watch(self, child: Child) -> tuple[int | None, str]:
        """Wait for the child to exit or to need killing; returns (exit code or None, why)."""
        while True:
            code = child.poll()
            if code is not None:
                return code, "exit"
            if self.forwarder.wake.wait(self.poll_s):
                self.forwarder.wake.clear()
                continue  # a stop was forwarded: keep waiting for the trainer to checkpoint and exit
            now = time.time()
            if self.rel.attempt_timeout_s and now - child.started > self.rel.attempt_timeout_s:
                return None, f"attempt ran past the wall-clock limit of {self.rel.attempt_timeout_s:.0f} s"
            hb = self.run.read_heartbeat() or {}
            fresh = float(hb.get("t", 0)) >= child.started
            starting = not fresh or hb.get("state") == "starting"
            if starting and now - child.started > self.rel.startup_timeout_s:
                return None, f"no training step {self.rel.startup_timeout_s:.0f} s after start (startup_timeout_s)"
            if not fresh or self.forwarder.stop_signal is not None:
                continue  # not beating yet, or stopping (checkpoint time is not a stall)
            limit = self.rel.stall_timeout_s
            silent = now - float(hb["t"])
            if silent > limit:  # the heartbeat thread itself is frozen: the whole process is
                return None, f"heartbeat stopped {silent:.1f} s ago (stall_timeout_s {limit:g})"
            idle = now - float(hb.get("progress_t", hb["t"]))
            if not starting and idle > limit:  # set-up and the first (compiling) step may take long
                return None, f"heartbeat alive but no progress for {idle:.1f} s (stall_timeout_s {limit:g})"

    def _crash_reason(self, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        crashed = [e for e in events if e.get("event") == "crashed"]
        return crashed[-1] if crashed else None

    # -- recovery -----------------------------------------------------------------------------------
    def _adjust_config(self, crash: dict[str, Any] | None) -> str:
        """Lower the batch after out-of-memory, the learning rate after divergence (in config.yaml)."""
        if not crash or crash.get("reason") not in ("oom", "diverged"):
            return ""
        data = yaml_load(self.run.config.read_text()) or {}
        train, optim = data.setdefault("train", {}), data.setdefault("optim", {})
        if crash["reason"] == "oom":
            micro = int(crash.get("micro_batch_size") or train.get("micro_batch_size") or train["global_batch_size"])
            if micro > 1:
                train["micro_batch_size"] = micro // 2
                while train["global_batch_size"] % train["micro_batch_size"]:
                    train["micro_batch_size"] -= 1
                change = f"micro-batch {micro} -> {train['micro_batch_size']}"
            else:
                train["global_batch_size"] = max(1, train["global_batch_size"] // 2)
                change = f"global batch -> {train['global_batch_size']}"
        else:
            optim["lr"] = float(optim.get("lr", self.cfg.optim.lr)) / 2
            change = f"learning rate -> {optim['lr']:g}"
        cfg = self.config_cls.model_validate(data)
        atomic_write_text(self.run.config, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
        self.cfg = cfg
        return change

    def run_supervised(self) -> int:
        self.forwarder.install()
        failures = 0
        try:
            while True:
                self.attempt += 1
                tail = JsonlTail(self.run.events)
                tail.read_new()  # only this attempt's events count below
                progress_mark = self._newest_checkpoint_step()
                child = Child(self.command(), self.env, self.distributed)
                self.forwarder.child = child
                self._state("running", child)
                code, why = self._watch(child)
                if code is None:
                    self._event("stall", "error", f"attempt {self.attempt}: {why}; killing it",
                                hint="a hung trainer (dead peer, stuck I/O) is restarted from its last checkpoint",
                                attempt=self.attempt, pid=child.pid)
                    child.kill()
                    code = child.poll()
                self.forwarder.child = None
                events = tail.read_new()
                if self.forwarder.stop_signal is not None:
                    if not any(e.get("event") == "stopped" for e in events):
                        self._event("stopped", "info", f"stopped by signal (trainer exit code {code})")
                    self._state("stopped")
                    return EXIT_OK if code in (EXIT_OK, -signal.SIGTERM) else code
                if why == "exit" and code in TERMINAL_CODES:
                    self._state("finished" if code == EXIT_OK else "stopped", exit_code=code)
                    return code
                crash = self._crash_reason(events)
                if crash is None:
                    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                    detail = why if why != "exit" else how
                    self._event("crashed", "error", f"attempt {self.attempt} ended without a word: {detail}",
                                hint="restarting from the last valid checkpoint; see stdout.log", reason="killed",
                                exit_code=code)
                reason = crash.get("reason", "error") if crash else ("stall" if why != "exit" else "killed")
                if self._newest_checkpoint_step() > progress_mark:
                    failures = 0  # it got somewhere: count failures afresh
                failures += 1
                if failures > self.rel.max_restarts:
                    self._event("gave_up", "error", f"gave up after {failures} failed attempt(s) in a row (last: {reason})",
                                hint="fix the cause shown in the crashed events, then `hrm train --resume RUN`",
                                attempts=self.attempt, reason=reason)
                    self._state("gave_up")
                    return EXIT_CRASH
                delay = self.rel.backoff_s * 2 ** (failures - 1)
                change = self._adjust_config(crash)
                self._event("restart", "warn",
                            f"attempt {self.attempt + 1} in {delay:g} s after {reason}" + (f"; {change}" if change else ""),
                            hint="automatic; SIGTERM the supervisor to stop instead", attempt=self.attempt + 1,
                            delay_s=delay, reason=reason, change=change)
                self._state("restarting", restart_at=time.time() + delay)
                if self.forwarder.wake.wait(delay) and self.forwarder.stop_signal is not None:
                    self._event("stopped", "info", "stopped by signal during the restart back-off")
                    self._state("stopped")
                    return EXIT_OK
        finally:
            self.forwarder.uninstall()

