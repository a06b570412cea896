"""Where and how to compute: device order cuda > mps > cpu, the forward dtype, the attention backend.

The decisions are pure functions of an `Accelerators` snapshot, so tests can fake any machine;
`probe()` takes the snapshot from the real torch.
"""

from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hrm.errors import UserError

DEVICE_ORDER = ("cuda", "mps", "cpu")
DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class CudaDevice:
    name: str
    capability: tuple[int, int]
    total_memory_bytes: int


@dataclass
class Accelerators:
    """What this machine offers, as torch sees it."""

    cuda: list[CudaDevice] = field(default_factory=list)
    mps_built: bool = False
    mps_available: bool = False
    cpu_flags: frozenset[str] = frozenset()
    torch_cuda_version: str | None = None

    @property
    def cpu_native_bf16(self) -> bool:
        # AVX512-BF16 or AMX give real bf16 matmul; without them torch emulates it (about 14x slower here).
        return bool({"avx512_bf16", "amx_bf16"} & self.cpu_flags)


def read_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def probe() -> Accelerators:
    import torch

    cuda = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            cuda.append(CudaDevice(props.name, (props.major, props.minor), props.total_memory))
    mps = getattr(torch.backends, "mps", None)
    return Accelerators(
        cuda=cuda,
        mps_built=bool(mps and mps.is_built()),
        mps_available=bool(mps and mps.is_available()),
        cpu_flags=read_cpu_flags(),
        torch_cuda_version=torch.version.cuda,
    )


class DeviceError(UserError, ValueError):
    """A device or dtype that this machine cannot provide."""


def select_device(requested: str, acc: Accelerators) -> str:
    """`auto` picks cuda > mps > cpu; an explicit request is checked against what exists."""
    requested = requested.strip().lower()
    if requested == "auto":
        if acc.cuda:
            return "cuda"
        if acc.mps_available:
            return "mps"
        return "cpu"
    kind = requested.split(":", 1)[0]
    if kind not in DEVICE_ORDER:
        raise DeviceError(f"device '{requested}' is not one of auto, cuda, cuda:N, mps, cpu")
    if kind == "cuda":
        if not acc.cuda:
            raise DeviceError(
                "device 'cuda' requested but torch sees no CUDA device; use device=auto or install a CUDA build of torch"
            )
        if ":" in requested:
            index = requested.split(":", 1)[1]
            if not index.isdigit() or int(index) >= len(acc.cuda):
                raise DeviceError(f"device '{requested}': this machine has {len(acc.cuda)} CUDA device(s)")
    if kind == "mps" and not acc.mps_available:
        raise DeviceError("device 'mps' requested but MPS is not available (needs Apple silicon and macOS 12.3+)")
    return requested


def bf16_supported(device: str, acc: Accelerators) -> bool:
    kind = device.split(":", 1)[0]
    if kind == "cuda":
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return acc.cuda[index].capability >= (8, 0)
    if kind == "mps":
        return acc.mps_available  # torch >= 2.3 runs bf16 on MPS (macOS 14+)
    return acc.cpu_native_bf16


def select_dtype(requested: str, device: str, acc: Accelerators) -> str:
    """`auto`: bf16 where the hardware has it (Ampere+ GPUs, Apple GPUs, CPUs with AVX512-BF16/AMX),
    fp16 on older CUDA GPUs, otherwise fp32 (emulated bf16 on this kind of CPU is ~14x slower)."""
    requested = requested.strip().lower()
    aliases = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "auto": "auto"}
    requested = aliases.get(requested, requested)
    if requested != "auto":
        if requested not in DTYPES:
            raise DeviceError(f"dtype '{requested}' is not one of auto, float32, bfloat16, float16")
        return requested
    if bf16_supported(device, acc):
        return "bfloat16"
    if device.startswith("cuda"):
        return "float16"
    return "float32"


# --------------------------------------------------------------------------------------------------
# Attention backend: flash-attn when it imports and suits the GPU, PyTorch SDPA everywhere else.


@dataclass
class AttentionBackend:
    name: str  # "flash_attn_4" | "flash_attn_3" | "flash_attn_2" | "sdpa"
    module: str | None  # the module to import for the kernel, None for SDPA
    reason: str  # one line: why this one

    @property
    def is_flash(self) -> bool:
        return self.name != "sdpa"


# (backend, module that provides it, the GPU capabilities it runs on)
FLASH_GENERATIONS: tuple[tuple[str, str, Callable[[tuple[int, int]], bool]], ...] = (
    ("flash_attn_4", "flash_attn.cute", lambda cap: cap[0] in (9, 10)),  # Hopper and Blackwell
    ("flash_attn_3", "flash_attn_interface", lambda cap: cap[0] == 9),  # Hopper only
    ("flash_attn_2", "flash_attn", lambda cap: cap >= (8, 0)),  # Ampere and newer
)


def _can_import(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # a broken install raises more than ImportError (OSError, undefined symbols)
        return False
    return True


def select_attention(
    device: str,
    acc: Accelerators,
    can_import: Callable[[str], bool] = _can_import,
    requested: str = "auto",
) -> AttentionBackend:
    """Pick the attention kernel. Set HRM_ATTENTION=sdpa to force the fallback."""
    requested = os.environ.get("HRM_ATTENTION", requested).strip().lower()
    if requested == "sdpa":
        return AttentionBackend("sdpa", None, "SDPA requested")
    if not device.startswith("cuda"):
        return AttentionBackend("sdpa", None, f"SDPA: flash-attn needs an NVIDIA GPU, running on {device}")
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    cap = acc.cuda[index].capability
    tried = []
    for name, module, suits in FLASH_GENERATIONS:
        if requested not in ("auto", name):
            continue
        if not suits(cap):
            tried.append(f"{name} does not run on sm{cap[0]}{cap[1]}")
            continue
        if can_import(module):
            return AttentionBackend(name, module, f"{name} ({module}) on sm{cap[0]}{cap[1]}")
        tried.append(f"{module} not installed")
    why = "; ".join(tried) if tried else f"no flash-attn generation named '{requested}'"
    return AttentionBackend("sdpa", None, f"SDPA fallback: {why} (pip install 'hrm[flash]' for flash-attn)")


def machine_summary() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} logical CPUs"
