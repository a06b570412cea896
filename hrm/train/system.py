"""Memory and system figures for `train` and `system` records (whichever this machine has)."""

from __future__ import annotations

import resource
import sys
from typing import Any

import psutil
import torch

GB = 1024**3


def peak_memory_gb(device: str) -> float:
    """CUDA max allocated, MPS allocated, else the process's peak resident set."""
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(torch.device(device)) / GB
    if device.startswith("mps"):
        return torch.mps.current_allocated_memory() / GB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (GB if sys.platform == "darwin" else 1024**2)


class SystemProbe:
    def __init__(self, device: str):
        self.device = device
        self.process = psutil.Process()
        self.process.cpu_percent(None)  # the first call only starts the measurement window

    def sample(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "cpu_percent": self.process.cpu_percent(None),
            "rss_gb": self.process.memory_info().rss / GB,
        }
        if self.device.startswith("cuda"):
            dev = torch.device(self.device)
            figures["cuda_alloc_gb"] = torch.cuda.memory_allocated(dev) / GB
            figures["cuda_max_alloc_gb"] = torch.cuda.max_memory_allocated(dev) / GB
            for name, fn in (("gpu_util", torch.cuda.utilization), ("gpu_temp_c", torch.cuda.temperature)):
                try:
                    figures[name] = float(fn(dev))
                except Exception:  # needs pynvml / a driver that reports it
                    pass
        elif self.device.startswith("mps"):
            figures["mps_alloc_gb"] = torch.mps.current_allocated_memory() / GB
        return figures
