"""How the dashboard drives the other `hrm` commands: argv builders and subprocess runners.

Everything that needs the library (torch) runs as an `hrm ...` subprocess, in a worker thread,
and is read back as JSON (see docs/ARCHITECTURE.md, "How the dashboard drives the other
commands"). The `hrm` executable is `python -m hrm.cli` of this interpreter, or the command in
the HRM_TUI_HRM environment variable (tests and demos point it at a fake).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

HRM_ENV = "HRM_TUI_HRM"
TAIL_LINES = 40


def default_hrm_command() -> list[str]:
    custom = os.environ.get(HRM_ENV, "").strip()
    return shlex.split(custom) if custom else [sys.executable, "-m", "hrm.cli"]


def child_env() -> dict[str, str]:
    # Unbuffered so progress lines and errors reach us as they happen.
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


# --------------------------------------------------------------------------------------------------
# argv for each command (without the `hrm` prefix)


def train_args(config: str, overrides: Sequence[str], run_id: str, logs_dir: Path) -> list[str]:
    return ["train", config, *overrides, "--supervise", "--run-id", run_id, "--logs-dir", str(logs_dir)]


def resume_args(run_id: str, logs_dir: Path) -> list[str]:
    return ["train", "--resume", run_id, "--supervise", "--logs-dir", str(logs_dir)]


def doctor_args(logs_dir: Path) -> list[str]:
    return ["doctor", "--json", "--logs-dir", str(logs_dir)]


def build_data_args(task_and_options: str | Sequence[str]) -> list[str]:
    words = shlex.split(task_and_options) if isinstance(task_and_options, str) else list(task_and_options)
    return ["build-data", *words, "--progress", "jsonl"]


def compare_args(models: dict[str, Sequence[str]], ks: Sequence[int], n_samples: int, out: Path,
                 extra: str = "", seeds: int | None = None) -> list[str]:
    """`hrm compare --model NAME=RUN[,RUN...] ...`: one --model per model, its runs being its seeds.
    `seeds` goes with `--config NAME=CONFIG` models typed into `extra` (trained before comparing)."""
    args = ["compare"]
    for name, runs in models.items():
        args += ["--model", f"{name}={','.join(runs)}"]
    args += ["--k", ",".join(str(k) for k in ks), "--n-samples", str(n_samples)]
    words = shlex.split(extra)
    if seeds and "--config" in words:
        args += ["--seeds", str(seeds)]
    return [*args, *words, "--out", str(out), "--json"]


# --------------------------------------------------------------------------------------------------
# Running them


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    output_tail: list[str]  # last lines of combined stdout/stderr that were not JSON records

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_line(self) -> str:
        """The line a user needs: the last line the command printed that says something."""
        return last_message(self.output_tail) or f"exit status {self.returncode}"


BOX_CHARS = "│┃║╭╮╰╯┌┐└┘─━═ "


def last_message(lines: Sequence[str]) -> str:
    """The last line with words in it, without the box Rich draws around errors."""
    for line in reversed(lines):
        text = line.strip().strip(BOX_CHARS).strip()
        if any(ch.isalnum() for ch in text):
            return text
    return ""


def run_captured(argv: list[str], timeout: float = 300.0, keep_lines: int = TAIL_LINES,
                 columns: int | None = None) -> tuple[str, CommandResult]:
    """Run a short command; returns (its stdout, result with the last lines of stdout + stderr).
    `columns` sets the width Rich formats help text for."""
    env = child_env()
    if columns:
        env["COLUMNS"] = str(columns)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        return "", CommandResult(argv, 127, [f"cannot run {argv[0]}: {exc.strerror}"])
    except subprocess.TimeoutExpired:
        return "", CommandResult(argv, 124, [f"{' '.join(argv[:3])} ... took longer than {timeout:.0f} s"])
    tail = (proc.stdout + "\n" + proc.stderr).strip().splitlines()[-keep_lines:]
    return proc.stdout, CommandResult(argv, proc.returncode, tail)


def run_json(argv: list[str], timeout: float = 300.0) -> tuple[Any, CommandResult]:
    """Run a command that prints one JSON document; returns (parsed or None, result).

    Some commands exit non-zero on purpose with valid JSON (doctor with a failing check: exit 1),
    so the JSON is parsed whatever the exit code.
    """
    stdout, result = run_captured(argv, timeout)
    return parse_json_output(stdout), result


def parse_json_output(text: str) -> Any:
    """The JSON document a command printed: the whole output, or else its last JSON line."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("{")
    if start >= 0:
        try:
            return json.loads(text[start:])
        except ValueError:
            pass
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def stream_jsonl(argv: list[str], on_record: Callable[[dict[str, Any]], None],
                 cancelled: Callable[[], bool] = lambda: False,
                 on_start: Callable[[subprocess.Popen[str]], None] | None = None) -> CommandResult:
    """Run a command that prints JSON lines (e.g. `--progress jsonl`); call on_record for each.

    Lines that are not JSON objects are kept as the output tail (warnings, the error message).
    `cancelled()` is checked between lines; when it turns true the command is terminated.
    """
    tail: list[str] = []
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env=child_env(), stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        return CommandResult(argv, 127, [f"cannot run {argv[0]}: {exc.strerror}"])
    if on_start is not None:
        on_start(proc)
    assert proc.stdout is not None
    for line in proc.stdout:
        if cancelled():
            proc.terminate()
            break
        record = None
        if line.lstrip().startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
        if isinstance(record, dict):
            on_record(record)
        else:
            tail = [*tail[-(TAIL_LINES - 1):], line.rstrip("\n")]
    proc.stdout.close()
    code = proc.wait()
    return CommandResult(argv, code, tail)


def launch_detached(argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a long-lived command (training) that outlives the dashboard if the user wants.

    It gets its own session (Ctrl-C in this terminal does not reach it) and writes to a log file,
    not a pipe, so it never blocks or dies on a closed pipe when the dashboard quits.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: TextIO = open(log_path, "a")  # noqa: SIM115 - the child keeps its own copy of the fd
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=child_env())
    finally:
        log.close()
