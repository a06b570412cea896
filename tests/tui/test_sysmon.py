"""System figures: live psutil readings of this process, and NVML through a stand-in module."""

from __future__ import annotations

import os
import sys
import types

import pytest

from hrm_tui import sysmon


def test_sample_of_the_live_machine_and_a_dead_pid() -> None:
    monitor = sysmon.SystemMonitor(use_nvml=False)
    sample = monitor.sample(os.getpid())
    assert len(sample.cpu_per_core) == os.cpu_count()
    assert 0 < sample.ram_used_gb < sample.ram_total_gb
    assert sample.trainer is not None and sample.trainer.alive and sample.trainer.rss_gb > 0
    assert sample.dashboard is not None and sample.dashboard.pid == os.getpid()
    assert sample.gpus == [] and sample.nvml_note == "NVML off"
    gone = monitor.sample(999_999_999)
    assert gone.trainer is not None and not gone.trainer.alive
    assert monitor.sample(None).trainer is None


def fake_pynvml(fail_init: bool = False) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    mod.NVML_TEMPERATURE_GPU = 0
    mod.shutdowns = []

    def init() -> None:
        if fail_init:
            raise RuntimeError("Driver Not Loaded")

    mod.nvmlInit = init
    mod.nvmlShutdown = lambda: mod.shutdowns.append(1)
    mod.nvmlDeviceGetCount = lambda: 2
    mod.nvmlDeviceGetHandleByIndex = lambda i: i
    mod.nvmlDeviceGetName = lambda h: b"NVIDIA H100" if h == 0 else "NVIDIA A10"
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=20 * 1024**3, total=80 * 1024**3)

    def util(h: int) -> types.SimpleNamespace:
        if h == 1:
            raise RuntimeError("Not Supported")
        return types.SimpleNamespace(gpu=87)

    mod.nvmlDeviceGetUtilizationRates = util
    mod.nvmlDeviceGetTemperature = lambda h, kind: 61
    return mod


def test_nvml_gpus_when_the_module_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monitor = sysmon.SystemMonitor()
    gpus = monitor.sample().gpus
    assert [(g.name, g.util_percent, g.mem_used_gb, g.mem_total_gb, g.temp_c) for g in gpus] == [
        ("NVIDIA H100", 87.0, 20.0, 80.0, 61.0), ("NVIDIA A10", None, 20.0, 80.0, 61.0)]
    monitor.close()
    assert fake.shutdowns == [1]


def test_nvml_absent_or_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(fail_init=True))
    monitor = sysmon.SystemMonitor()
    assert monitor.sample().gpus == [] and "Driver Not Loaded" in monitor.nvml_note
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    assert sysmon.SystemMonitor().nvml_note == "no NVML"
