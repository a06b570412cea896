"""A fake `hrm train` for the dashboard's tests and demos: canned, deterministic figures written
into a run directory exactly as docs/ARCHITECTURE.md describes, no torch.

    python tests/tui/fake_trainer.py CONFIG [key=value ...] --supervise --run-id ID [--logs-dir DIR]
    python tests/tui/fake_trainer.py --resume RUN --supervise [--logs-dir DIR]

Overrides starting with `fake.` steer it: fake.steps (total steps, 300), fake.rate (steps per
second, 20), fake.crash_at (step of one crash, 0 = never), fake.restart_delay (seconds of the
supervisor's countdown, 3), fake.eval_every (25), fake.diag_every (10), fake.checkpoint_every
(50), fake.fail ("config": exit 2 with an error before the run starts).

It obeys control.json (pause), SIGUSR1 (checkpoint event), SIGTERM/SIGINT (checkpoint, `stopped`
event, exit 0), and simulates a crash: a `crashed` event with a traceback, supervisor.json in
state `restarting` with `restart_at`, then a `restart` event and a resume from the last checkpoint.
One process plays both supervisor and trainer (the dashboard only sees files and a pid).

`write_run()` writes a whole run at once with fixed times, for snapshot tests.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from hrm.rundir import JsonlWriter, RunDir, atomic_write_json, event_record

HEADS = 8
INNER_L = 8  # L steps per diag record (H_cycles 2 x L_cycles 4)
INNER_H = 2
TOKENS_PER_EXAMPLE = 81
BATCH = 64


def noise(step: int, salt: int) -> float:
    """A deterministic value in [-1, 1) for a step."""
    return random.Random(step * 7919 + salt).random() * 2 - 1


def train_record(step: int, t: float, total: int) -> dict[str, Any]:
    progress = step / max(1, total)
    lm = 2.2 * math.exp(-step / (0.25 * total)) + 0.08 + 0.05 * noise(step, 1)
    if step % 97 == 0:  # a loss spike now and then: downsampling must keep it visible
        lm *= 1.8
    q_halt_loss = 0.69 * math.exp(-step / (0.3 * total)) + 0.05 + 0.01 * noise(step, 2)
    q_cont_loss = 0.4 * math.exp(-step / (0.4 * total)) + 0.04 + 0.01 * noise(step, 3)
    exact = 1 / (1 + math.exp(-(progress - 0.55) * 12))
    cell = 0.11 + 0.89 / (1 + math.exp(-(progress - 0.35) * 10))
    warm = min(1.0, step / 30)
    lr = 2e-3 * warm * 0.5 * (1 + math.cos(math.pi * progress))
    entropy = math.log(HEADS) * (1 - 0.6 * progress) + 0.05 * noise(step, 4)
    return {
        "t": t, "step": step, "kind": "train", "epoch": step * BATCH / 1000, "examples": step * BATCH,
        "lr": lr, "loss": lm + 0.5 * (q_halt_loss + q_cont_loss), "lm_loss": lm, "q_halt_loss": q_halt_loss,
        "q_continue_loss": q_cont_loss, "accuracy": cell, "exact_accuracy": exact,
        "q_halt_accuracy": 0.5 + 0.45 * progress, "act_steps": 2 + 6 * (1 - progress) + 0.3 * noise(step, 5),
        "grad_norm": 1.5 * math.exp(-step / total) + 0.2 * abs(noise(step, 6)),
        "examples_per_s": 210 + 10 * noise(step, 7), "tokens_per_s": (210 + 10 * noise(step, 7)) * TOKENS_PER_EXAMPLE,
        "step_time_s": BATCH / 210, "peak_mem_gb": 0.8 + 0.1 * progress,
        "routing_entropy": entropy, "routing_entropy_std": 0.1 + 0.02 * noise(step, 8),
        "head_concentration": 1 / HEADS + (1 - 1 / HEADS) * 0.5 * progress, "top1_share": 1 / HEADS + 0.5 * progress,
        "h_updates": 2 + 2 * (1 - progress), "temperature": max(0.7, 2.0 * 0.95 ** (step / 10)),
        "q_halt": -3 + 5 * progress + 0.2 * noise(step, 9), "q_continue": -1 - 2 * progress + 0.2 * noise(step, 10),
    }


def eval_record(step: int, t: float, total: int) -> dict[str, Any]:
    progress = step / max(1, total)
    return {
        "t": t, "step": step, "kind": "eval", "split": "test",
        "loss": 2.3 * math.exp(-step / (0.25 * total)) + 0.12, "accuracy": 0.11 + 0.86 / (1 + math.exp(-(progress - 0.4) * 10)),
        "exact_accuracy": 0.95 / (1 + math.exp(-(progress - 0.6) * 12)), "act_steps": 8 - 5 * progress,
        "examples": 500, "routing_entropy": math.log(HEADS) * (1 - 0.55 * progress),
    }


def diag_record(step: int, t: float, total: int) -> dict[str, Any]:
    progress = step / max(1, total)
    res_l = [round(2.0 * 0.55 ** (i % 4) * (1 - 0.5 * progress) + 0.01, 5) for i in range(INNER_L)]
    res_h = [round(1.2 * 0.4**k * (1 - 0.4 * progress) + 0.01, 5) for k in range(INNER_H)]
    rng = random.Random(step)
    samples = []
    for _ in range(4):
        heads = sorted(rng.sample(range(HEADS), 3))
        raw = [1.0 + 3 * progress * (h == 2) + rng.random() for h in heads]
        samples.append({"heads": heads, "alphas": [round(r / sum(raw), 4) for r in raw]})
    return {"t": t, "step": step, "kind": "diag", "residual_l": res_l, "residual_h": res_h, "routing_samples": samples}


def system_record(step: int, t: float) -> dict[str, Any]:
    return {"t": t, "step": step, "kind": "system", "cpu_percent": 180 + 10 * noise(step, 11),
            "rss_gb": 0.9 + 0.001 * step}


CRASH_TRACEBACK = """Traceback (most recent call last):
  File "hrm/train/loop.py", line 211, in train
    carry, out = model(carry, batch)
  File "hrm/models/hrm_act.py", line 148, in forward
    z_H = self.H_level(z_H, z_L)
RuntimeError: fake crash injected by fake.crash_at"""


def resolved_config(name: str, total: int) -> dict[str, Any]:
    return {"name": name, "preset": name, "model": {"arch": "hrm_act", "hidden_size": 128},
            "train": {"total_steps": total, "lr": 2e-3, "batch_size": BATCH},
            "data": {"path": "data/fake", "build": "sudoku"}}


def write_run(run_dir: Path, steps: int = 300, t0: float = 1_700_000_000.0, dt: float = 0.5,
              ending: str = "finished", total: int | None = None, pid: int | None = None,
              eval_every: int = 25, diag_every: int = 10) -> RunDir:
    """Write a whole run at once, with fixed times (t0 + step * dt), for snapshot tests.

    ending: "finished" | "stopped" | "crashed" (crash, supervisor counting down) | "running"
    (heartbeat from `pid`, at the last record's time).
    """
    total = total or steps
    run = RunDir(run_dir).create()
    run.config.write_text(yaml.safe_dump(resolved_config("sudoku_demo_cpu", total), sort_keys=False))
    events = [{**event_record("started", message="training on cpu", device="cpu", dtype="float32",
                              params=671_234, total_steps=total), "t": t0, "step": 0}]
    lines = [f"fake trainer: {steps} steps"]
    with JsonlWriter(run.metrics) as metrics:
        for step in range(1, steps + 1):
            t = t0 + step * dt
            metrics.write(train_record(step, t, total))
            if step % eval_every == 0:
                metrics.write(eval_record(step, t, total))
            if step % diag_every == 0:
                metrics.write(diag_record(step, t, total))
                metrics.write(system_record(step, t))
            if step % 50 == 0:
                events.append({**event_record("checkpoint", path=f"checkpoints/step_{step}.pt", seconds=0.2), "t": t,
                               "step": step})
                lines.append(f"step {step}: loss {train_record(step, t, total)['loss']:.4f}")
            if step == 97:
                events.append({**event_record("spike", "warn", f"loss 1.8x its running mean at step {step}",
                                              "a single spike is skipped; if they repeat, lower train.lr"),
                               "t": t, "step": step})
    t_end = t0 + steps * dt
    if ending == "finished":
        events.append({**event_record("finished", message=f"{steps} steps"), "t": t_end, "step": steps})
    elif ending == "stopped":
        events.append({**event_record("stopped", message="SIGTERM"), "t": t_end, "step": steps})
    elif ending == "crashed":
        events.append({**event_record("crashed", "error", "RuntimeError: fake crash injected by fake.crash_at",
                                      "the supervisor restarts from the last checkpoint; if it crashes again, "
                                      "open the traceback (enter) and report it", traceback=CRASH_TRACEBACK),
                       "t": t_end, "step": steps})
        atomic_write_json(run.supervisor, {"pid": pid or os.getpid(), "attempt": 1, "state": "restarting",
                                           "restart_at": t_end + 7, "child_pid": None})
    if ending == "running":
        atomic_write_json(run.heartbeat, {"pid": pid or os.getpid(), "step": steps, "t": t_end, "state": "running"})
    with JsonlWriter(run.events) as ev:
        for e in events:
            ev.write(e)
    run.stdout.write_text("\n".join(lines) + "\n")
    return run


# --------------------------------------------------------------------------------------------------
# The live fake: `hrm train ... --supervise`


def _parse(argv: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {"config": None, "overrides": [], "resume": None, "run_id": None, "logs_dir": "logs"}
    it = iter(argv)
    for arg in it:
        if arg == "--resume":
            opts["resume"] = next(it)
        elif arg == "--run-id":
            opts["run_id"] = next(it)
        elif arg == "--logs-dir":
            opts["logs_dir"] = next(it)
        elif arg == "--supervise":
            continue
        elif "=" in arg:
            opts["overrides"].append(arg)
        elif opts["config"] is None:
            opts["config"] = arg
    fake = {"steps": 300, "rate": 20.0, "crash_at": 0, "restart_delay": 3.0, "eval_every": 25, "diag_every": 10,
            "checkpoint_every": 50, "fail": ""}
    for text in opts["overrides"]:
        key, _, value = text.partition("=")
        if key.startswith("fake."):
            name = key[5:]
            fake[name] = type(fake[name])(value) if name in fake else value
    opts["fake"] = fake
    return opts


class FakeTrainer:
    def __init__(self, opts: dict[str, Any]):
        self.opts, self.fake = opts, opts["fake"]
        logs = Path(opts["logs_dir"])
        self.resume = opts["resume"] is not None
        run_id = opts["resume"] or opts["run_id"] or f"fake-{int(time.time())}"
        self.run = RunDir(logs / run_id)
        self.stop_requested = False
        self.checkpoint_requested = False
        self.attempt = 1
        self.step = 0
        self.total = int(self.fake["steps"])

    def on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGUSR1:
            self.checkpoint_requested = True
        else:
            self.stop_requested = True

    def say(self, text: str) -> None:
        print(text, flush=True)
        with open(self.run.stdout, "a") as f:
            f.write(text + "\n")

    def event(self, name: str, level: str = "info", message: str = "", hint: str = "", **extra: Any) -> None:
        self.events.write(event_record(name, level, message, hint, step=self.step, **extra))

    def checkpoint(self) -> None:
        (self.run.checkpoints / f"step_{self.step}.json").write_text(f'{{"step": {self.step}}}')
        self.event("checkpoint", path=f"checkpoints/step_{self.step}.json", seconds=0.01)

    def last_checkpoint(self) -> int:
        steps = [int(p.stem.split("_")[1]) for p in self.run.checkpoints.glob("step_*.json")]
        return max(steps, default=0)

    def supervisor(self, state: str, **extra: Any) -> None:
        atomic_write_json(self.run.supervisor, {"pid": os.getpid(), "attempt": self.attempt, "state": state,
                                                "child_pid": os.getpid(), **extra}, durable=False)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.stop_requested:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def main(self) -> int:
        if self.fake["fail"] == "config":
            print("error: configs/fake.yaml: 1 problem(s) in the config:\n  - train.lr: must be > 0", file=sys.stderr)
            return 2
        if self.resume and not self.run.exists():
            print(f"error: no run '{self.opts['resume']}'", file=sys.stderr)
            return 2
        signal.signal(signal.SIGUSR1, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        self.run.create()
        name = Path(self.opts["config"] or "fake").stem
        if not self.resume:
            self.run.config.write_text(yaml.safe_dump(resolved_config(name, self.total), sort_keys=False))
        self.events = JsonlWriter(self.run.events)
        metrics = JsonlWriter(self.run.metrics)
        self.step = self.last_checkpoint() if self.resume else 0
        self.supervisor("running")
        self.event("started", message=f"fake training on cpu from step {self.step}", device="cpu", dtype="float32",
                   params=671_234, total_steps=self.total)
        self.say(f"fake trainer pid {os.getpid()}: {self.total} steps at {self.fake['rate']}/s")
        period = 1.0 / float(self.fake["rate"])
        last_beat = 0.0
        crashed_once = False
        while self.step < self.total:
            now = time.time()
            paused = bool(self.run.read_control().get("pause"))
            if now - last_beat > 0.3 or paused:
                self.run.write_heartbeat(self.step, "paused" if paused else "running")
                last_beat = now
            if self.stop_requested:
                break
            if self.checkpoint_requested:
                self.checkpoint_requested = False
                self.checkpoint()
            if paused:
                self.sleep(0.1)
                continue
            self.step += 1
            metrics.write(train_record(self.step, now, self.total))
            if self.step % int(self.fake["eval_every"]) == 0:
                metrics.write(eval_record(self.step, now, self.total))
            if self.step % int(self.fake["diag_every"]) == 0:
                metrics.write(diag_record(self.step, now, self.total))
                metrics.write(system_record(self.step, now))
            if self.step % int(self.fake["checkpoint_every"]) == 0:
                self.checkpoint()
            if self.step % 20 == 0:
                self.say(f"step {self.step}/{self.total}  loss {train_record(self.step, now, self.total)['loss']:.4f}")
            if self.step == int(self.fake["crash_at"]) and not crashed_once:
                crashed_once = True
                self.say(CRASH_TRACEBACK)
                self.event("crashed", "error", "RuntimeError: fake crash injected by fake.crash_at",
                           "the supervisor restarts from the last checkpoint", traceback=CRASH_TRACEBACK)
                delay = float(self.fake["restart_delay"])
                self.supervisor("restarting", restart_at=time.time() + delay)
                self.sleep(delay)
                if self.stop_requested:
                    break
                self.attempt += 1
                self.step = self.last_checkpoint()
                self.event("restart", "warn", f"attempt {self.attempt} from step {self.step}",
                           "restarts come with back-off; after the limit the supervisor gives up",
                           attempt=self.attempt, delay_s=delay, reason="crashed")
                self.supervisor("running")
                self.event("started", message=f"resumed from step {self.step}", device="cpu", dtype="float32",
                           total_steps=self.total)
            self.sleep(period)
        if self.stop_requested:
            self.checkpoint()
            self.event("stopped", message="stopped by signal; checkpoint saved")
            self.say("stopped")
        else:
            self.event("finished", message=f"{self.total} steps")
            self.say("finished")
        self.supervisor("done")
        self.run.write_heartbeat(self.step, "stopped")
        metrics.close()
        self.events.close()
        return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "train":
        args = args[1:]
    return FakeTrainer(_parse(args)).main()


if __name__ == "__main__":
    sys.exit(main())
