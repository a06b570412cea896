"""System figures for the side panel: CPU per core, RAM, the trainer's process, GPUs via NVML.

`SystemMonitor.sample(pid)` runs in a worker thread once a second. NVML (the `pynvml` module of
nvidia-ml-py) is used only when it imports and initialises; otherwise GPUs are simply absent.
Tests and snapshots inject a fixed `SystemSample` instead of reading the live machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import psutil

GIB = 1024**3


@dataclass
class GpuSample:
    index: int
    name: str
    util_percent: float | None
    mem_used_gb: float
    mem_total_gb: float
    temp_c: float | None


@dataclass
class ProcSample:
    pid: int
    alive: bool
    rss_gb: float | None = None
    cpu_percent: float | None = None  # can exceed 100 with several threads


@dataclass
class SystemSample:
    cpu_per_core: list[float]
    ram_used_gb: float
    ram_total_gb: float
    trainer: ProcSample | None = None
    dashboard: ProcSample | None = None
    gpus: list[GpuSample] = field(default_factory=list)
    nvml_note: str = ""  # why there are no GPU figures, when there are none


class SystemMonitor:
    def __init__(self, use_nvml: bool = True):
        self._procs: dict[int, psutil.Process] = {}
        self._own = psutil.Process(os.getpid())
        self._own.cpu_percent(None)
        psutil.cpu_percent(percpu=True)  # the first call only starts the interval
        self._nvml: Any = None
        self.nvml_note = "NVML off"
        if use_nvml:
            self._nvml, self.nvml_note = _init_nvml()

    def _proc(self, pid: int) -> ProcSample:
        try:
            proc = self._procs.get(pid)
            if proc is None:
                proc = self._procs[pid] = psutil.Process(pid)
                proc.cpu_percent(None)
            with proc.oneshot():
                return ProcSample(pid, True, proc.memory_info().rss / GIB, proc.cpu_percent(None))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            self._procs.pop(pid, None)
            return ProcSample(pid, False)

    def sample(self, trainer_pid: int | None = None) -> SystemSample:
        vm = psutil.virtual_memory()
        out = SystemSample(
            cpu_per_core=psutil.cpu_percent(percpu=True),
            ram_used_gb=(vm.total - vm.available) / GIB,
            ram_total_gb=vm.total / GIB,
            trainer=self._proc(trainer_pid) if trainer_pid else None,
            dashboard=ProcSample(os.getpid(), True, self._own.memory_info().rss / GIB, self._own.cpu_percent(None)),
            nvml_note=self.nvml_note,
        )
        if self._nvml is not None:
            out.gpus = _nvml_gpus(self._nvml)
        return out

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._nvml = None


def _init_nvml() -> tuple[Any, str]:
    try:
        import pynvml
    except ImportError:
        return None, "no NVML"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML unavailable: {exc}"
    return pynvml, ""


def _nvml_gpus(nvml: Any) -> list[GpuSample]:
    gpus = []
    try:
        count = nvml.nvmlDeviceGetCount()
    except Exception:
        return gpus
    for i in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            name = nvml.nvmlDeviceGetName(handle)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
        except Exception:
            continue
        try:
            util: float | None = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            util = None
        try:
            temp: float | None = float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        except Exception:
            temp = None
        gpus.append(GpuSample(i, name.decode() if isinstance(name, bytes) else str(name), util,
                              mem.used / GIB, mem.total / GIB, temp))
    return gpus
