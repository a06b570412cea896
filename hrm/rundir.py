"""The run directory: the one contract between the trainer and everything that watches it.

    logs/<run_id>/
      config.yaml     fully resolved config
      metrics.jsonl   {"t", "step", "kind": train|eval|system|diag, ...figures}, one line per record
      events.jsonl    {"t", "step", "event", "level": info|warn|error, "message", "hint", ...}
      heartbeat       {"pid", "step", "t", "state"}, rewritten atomically every few seconds
      control.json    {"pause": bool}, written by a watcher, polled by the trainer
      supervisor.json {"pid", "attempt", "state", ...}, written by `hrm train --supervise`
      checkpoints/    atomic checkpoints with sha256 manifests
      stdout.log      the trainer's own output

This module is pure Python (no torch): the dashboard and `hrm runs` import it to read runs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOGS_DIR = Path("logs")

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
EVENTS = "events.jsonl"
HEARTBEAT = "heartbeat"
CONTROL = "control.json"
SUPERVISOR = "supervisor.json"
CHECKPOINTS = "checkpoints"
STDOUT = "stdout.log"

METRIC_KINDS = ("train", "eval", "system", "diag")
LEVELS = ("info", "warn", "error")

# Lifecycle events that end a run, and the state each leaves it in.
TERMINAL_EVENTS = {"finished": "finished", "stopped": "stopped", "gave_up": "crashed", "gate_failed": "stopped"}
# A heartbeat older than this (seconds) means the trainer is not alive, whatever its state said.
HEARTBEAT_STALE_S = 30.0


# --------------------------------------------------------------------------------------------------
# Durable writes


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write via a temp file in the same folder, fsync, rename: readers see old or new, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode(), durable)


def atomic_write_json(path: Path, obj: Any, durable: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, separators=(",", ":")), durable)


class JsonlWriter:
    """Append-only JSON lines. Each record goes out as one whole line in a single write() on an
    O_APPEND descriptor, so two processes appending (a trainer and its supervisor) never interleave
    inside a line. A writer killed mid-write (Linux can cut a write short on SIGKILL) or stopped by
    a full disk may leave a fragment without a newline: readers (JsonlTail) only take complete
    lines, and the fragment is cut off when the file is opened again."""

    def __init__(self, path: Path):
        self.path = Path(path)
        _drop_torn_tail(self.path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=True, default=_json_default) + "\n"
        data = line.encode("utf-8")
        if self._fd is None:
            raise ValueError(f"{self.path}: writer is closed")
        written = os.write(self._fd, data)
        while written < len(data):  # only on a full disk or a signal mid-write; finish the line
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """Truncate a JSONL file after its last newline (bytes a killed writer left unfinished)."""
    try:
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            pos = size
            while pos > 0:
                step = min(65536, pos)
                f.seek(pos - step)
                cut = f.read(step).rfind(b"\n")
                if cut >= 0:
                    f.truncate(pos - step + cut + 1)
                    return
                pos -= step
            f.truncate(0)
    except FileNotFoundError:
        return


def _json_default(obj: Any) -> Any:
    # numpy scalars and tensors' .item() results arrive here when a caller forgot to convert.
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


# --------------------------------------------------------------------------------------------------
# Robust reading


class LineTail:
    """Incremental reader of a file that another process appends to: complete lines only.

    Bytes after the last newline are held back until the writer finishes the line. A file that
    shrank (rotated or rewritten) is read again from the start. With `first_read_bytes`, the first
    read of a large file starts that many bytes before its end (at the next line start).
    """

    def __init__(self, path: Path, first_read_bytes: int | None = None):
        self.path = Path(path)
        self.offset: int | None = None if first_read_bytes is not None else 0
        self._first = first_read_bytes or 0
        self._pending = b""

    def read_lines(self) -> list[bytes]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        skip_partial = False
        if self.offset is None:
            self.offset = max(0, size - self._first)
            skip_partial = self.offset > 0
        if size < self.offset:
            self.offset, self._pending = 0, b""
        if size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        self.offset += len(chunk)
        data = self._pending + chunk
        if skip_partial:  # started mid-line: drop up to the first newline
            data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
            return []
        self._pending = data[cut + 1 :]
        return data[:cut].split(b"\n")


class JsonlTail(LineTail):
    """LineTail for JSON lines: complete lines that do not parse as an object are counted in
    `bad_lines` and skipped."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.bad_lines = 0

    def read_new(self) -> list[dict[str, Any]]:
        records = []
        for line in self.read_lines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            if isinstance(obj, dict):
                records.append(obj)
            else:
                self.bad_lines += 1
        return records


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete records of a JSONL file (a torn last line is ignored)."""
    return JsonlTail(path).read_new()


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file written atomically, or None when absent or unreadable."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------------------------------
# The run directory


_RUN_ID_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_run_id(name: str, logs_dir: Path = LOGS_DIR, now: float | None = None) -> str:
    """`<name>-<YYYYmmdd-HHMMSS>`, with a numeric suffix if that folder already exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    base = f"{_RUN_ID_SAFE.sub('-', name).strip('-') or 'run'}-{stamp}"
    run_id, n = base, 1
    while (Path(logs_dir) / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


@dataclass
class RunDir:
    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def run_id(self) -> str:
        return self.path.name

    config = property(lambda self: self.path / CONFIG)
    metrics = property(lambda self: self.path / METRICS)
    events = property(lambda self: self.path / EVENTS)
    heartbeat = property(lambda self: self.path / HEARTBEAT)
    control = property(lambda self: self.path / CONTROL)
    supervisor = property(lambda self: self.path / SUPERVISOR)
    checkpoints = property(lambda self: self.path / CHECKPOINTS)
    stdout = property(lambda self: self.path / STDOUT)

    def create(self) -> RunDir:
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        return self

    def exists(self) -> bool:
        return self.path.is_dir()

    # -- writer side ------------------------------------------------------------------------------
    def write_heartbeat(self, step: int, state: str = "running", **extra: Any) -> None:
        atomic_write_json(
            self.heartbeat, {"pid": os.getpid(), "step": step, "t": time.time(), "state": state, **extra},
            durable=False,
        )

    def set_paused(self, paused: bool) -> None:
        atomic_write_json(self.control, {"pause": bool(paused), "t": time.time()}, durable=False)

    # -- reader side ------------------------------------------------------------------------------
    def read_heartbeat(self) -> dict[str, Any] | None:
        return read_json(self.heartbeat)

    def read_control(self) -> dict[str, Any]:
        return read_json(self.control) or {}

    def read_supervisor(self) -> dict[str, Any] | None:
        return read_json(self.supervisor)

    def iter_metrics(self, kind: str | None = None) -> Iterator[dict[str, Any]]:
        for rec in read_jsonl(self.metrics):
            if kind is None or rec.get("kind") == kind:
                yield rec

    def read_events(self) -> list[dict[str, Any]]:
        return read_jsonl(self.events)


def event_record(event: str, level: str = "info", message: str = "", hint: str = "", step: int | None = None,
                 **extra: Any) -> dict[str, Any]:
    """One events.jsonl record; `hint` says what to do about it."""
    if level not in LEVELS:
        raise ValueError(f"event level must be one of {LEVELS}, got {level!r}")
    rec: dict[str, Any] = {"t": time.time(), "event": event, "level": level}
    if step is not None:
        rec["step"] = step
    if message:
        rec["message"] = message
    if hint:
        rec["hint"] = hint
    rec.update(extra)
    return rec


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunStatus:
    """What a watcher can say about a run from its files alone."""

    state: str  # starting | running | paused | restarting | stale | crashed | finished | stopped
    step: int = 0
    last_event: dict[str, Any] | None = None
    heartbeat_age_s: float | None = None
    pid: int | None = None
    alive: bool = False
    errors: int = 0
    warnings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.state in ("crashed", "finished", "stopped")


def run_status(run: RunDir, events: list[dict[str, Any]] | None = None, now: float | None = None) -> RunStatus:
    """Derive a run's state from its events, heartbeat and supervisor files."""
    now = time.time() if now is None else now
    events = run.read_events() if events is None else events
    hb = run.read_heartbeat() or {}
    sup = run.read_supervisor() or {}
    step = int(hb.get("step", 0) or 0)
    for ev in reversed(events):
        if "step" in ev:
            step = max(step, int(ev["step"]))
            break
    errors = sum(1 for e in events if e.get("level") == "error")
    warnings = sum(1 for e in events if e.get("level") == "warn")
    last = events[-1] if events else None
    age = now - float(hb["t"]) if "t" in hb else None
    pid = hb.get("pid")
    alive = _pid_alive(pid) and age is not None and age < HEARTBEAT_STALE_S
    status = RunStatus("starting", step, last, age, pid, alive, errors, warnings)

    lifecycle = [e for e in events if e.get("event") in (*TERMINAL_EVENTS, "crashed", "restart", "started")]
    last_life = lifecycle[-1]["event"] if lifecycle else None
    if last_life in TERMINAL_EVENTS:
        status.state = TERMINAL_EVENTS[last_life]
    elif sup.get("state") == "restarting" and _pid_alive(sup.get("pid")):
        status.state = "restarting"
        status.extra["restart_at"] = sup.get("restart_at")
    elif last_life == "crashed" and not alive:
        status.state = "restarting" if _pid_alive(sup.get("pid")) else "crashed"
    elif alive:
        status.state = "paused" if hb.get("state") == "paused" else "running"
    elif hb:
        status.state = "stale"
    elif last_life == "started":
        status.state = "stale" if not _pid_alive(sup.get("pid")) else "starting"
    return status


def list_runs(logs_dir: Path = LOGS_DIR) -> list[RunDir]:
    """Run directories under `logs_dir`, newest first (a run is a folder holding config.yaml)."""
    logs_dir = Path(logs_dir)
    if not logs_dir.is_dir():
        return []
    dated = []
    for path in logs_dir.iterdir():
        try:  # a run deleted while we list it (the dashboard's runs view deletes) is skipped
            dated.append((path.joinpath(CONFIG).stat().st_mtime, RunDir(path)))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return [run for _, run in sorted(dated, key=lambda item: item[0], reverse=True)]


def find_run(name: str, logs_dir: Path = LOGS_DIR) -> RunDir:
    """A run by path, exact id, or unique id prefix; FileNotFoundError with the choices otherwise."""
    as_path = Path(name)
    if (as_path / CONFIG).is_file():
        return RunDir(as_path)
    runs = list_runs(logs_dir)
    exact = [r for r in runs if r.run_id == name]
    if exact:
        return exact[0]
    prefix = [r for r in runs if r.run_id.startswith(name)]
    if len(prefix) == 1:
        return prefix[0]
    if len(prefix) > 1:
        raise FileNotFoundError(
            f"run '{name}' is ambiguous in {logs_dir}/: {', '.join(r.run_id for r in prefix[:8])}"
        )
    known = ", ".join(r.run_id for r in runs[:8]) or "none yet"
    raise FileNotFoundError(f"no run '{name}' in {logs_dir}/ (runs: {known})")


@dataclass
class RunSummary:
    """The headline figures of a run, for `hrm runs` and the dashboard's run list."""

    run_id: str
    path: Path
    state: str
    step: int
    arch: str
    preset: str
    started: float | None
    elapsed_s: float | None
    train_loss: float | None
    eval_exact: float | None  # best held-out exact accuracy (whole puzzle), 0..1
    eval_accuracy: float | None  # per-cell accuracy at that point, 0..1
    errors: int


def summarize(run: RunDir, now: float | None = None) -> RunSummary:
    events = run.read_events()
    status = run_status(run, events, now)
    try:
        import yaml

        cfg = yaml.safe_load(run.config.read_text()) or {}
    except Exception:  # an unreadable config still lists the run
        cfg = {}
    model = cfg.get("model") if isinstance(cfg.get("model"), dict) else {}
    train_loss = eval_exact = eval_acc = None
    first_t = last_t = None
    for rec in read_jsonl(run.metrics):
        t = rec.get("t")
        if isinstance(t, (int, float)):
            first_t = t if first_t is None else first_t
            last_t = t
        if rec.get("kind") == "train" and isinstance(rec.get("loss"), (int, float)):
            train_loss = rec["loss"]
        elif rec.get("kind") == "eval" and isinstance(rec.get("exact_accuracy"), (int, float)):
            if eval_exact is None or rec["exact_accuracy"] > eval_exact:
                eval_exact, eval_acc = rec["exact_accuracy"], rec.get("accuracy")
        if isinstance(rec.get("step"), int):
            status.step = max(status.step, rec["step"])
    started = events[0]["t"] if events and "t" in events[0] else first_t
    end = last_t if status.terminal else (now if now is not None else time.time())
    elapsed = (end - started) if started is not None and end is not None else None
    return RunSummary(
        run.run_id, run.path, status.state, status.step, str(model.get("arch", "?")), str(cfg.get("preset", "")),
        started, elapsed, train_loss, eval_exact, eval_acc, status.errors,
    )
