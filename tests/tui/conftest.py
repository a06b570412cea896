"""Fixtures for the dashboard tests: canned runs, a fake `hrm`, a fixed clock and system sample."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hrm_tui.app import HrmApp
from hrm_tui.launch import LaunchPlan
from hrm_tui.sysmon import GpuSample, ProcSample, SystemSample

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fake_trainer  # noqa: E402

FAKE_HRM = [sys.executable, str(HERE / "fake_hrm.py")]
T0 = 1_700_000_000.0
SIZE = (160, 48)  # the size people use in tmux: snapshots of the dashboard
SMALL = (100, 30)  # behaviour tests: same layout, fewer cells to draw


def fixed_sample(_pid: int | None = None) -> SystemSample:
    return SystemSample(cpu_per_core=[55.0, 12.0], ram_used_gb=6.2, ram_total_gb=23.5,
                        trainer=ProcSample(4242, True, 0.91, 180.0),
                        gpus=[GpuSample(0, "NVIDIA H100", 87.0, 40.5, 80.0, 61.0)])


def make_app(plan: LaunchPlan, clock: float | None = None, **kwargs: Any) -> HrmApp:
    """An app with the fake `hrm`, a fixed clock (when given) and a fixed system sample."""
    options: dict[str, Any] = {"hrm_command": FAKE_HRM, "system_sampler": lambda: fixed_sample, "keymap": {},
                               "poll_interval": 0.1, "redraw_interval": 0.5, "system_interval": 0.2}
    options.update(kwargs)
    return HrmApp(plan, clock=(lambda: clock) if clock is not None else time.time, **options)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until predicate() holds (workers post their messages meanwhile)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached within the timeout")
        await pilot.pause(0.05)


def text_of(static: Any) -> str:
    """The plain text a Static shows, whether it holds markup, Content or a Rich renderable."""
    content = static.content
    if isinstance(content, str):
        return str(static.render())
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def sync(test: Callable[..., Any]) -> Callable[..., Any]:
    """Run an async Pilot test with asyncio.run (no async pytest plugin needed); fixtures still work."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
def finished_run(logs: Path) -> Path:
    run = fake_trainer.write_run(logs / "sudoku_demo_cpu-20231114-221320", steps=300, t0=T0)
    os.utime(run.config, (T0, T0))
    return run.path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fake builds write data/ relative to the working directory; keep them in the test's folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HRM_TUI_HRM", raising=False)
    monkeypatch.delenv("HRM_TUI_KEYMAP", raising=False)
