"""`hrm doctor`: verify the environment before a run fails on it.

Each check returns a `Check` (ok / warn / fail, a one-line detail, a hint for fixing it). The
checks that need torch take an `Accelerators` snapshot, so tests can fake any machine; the
torch.compile probe runs in a subprocess with a timeout, so a broken compiler cannot hang doctor.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from hrm import device as dev
from hrm.config import CONFIG_DIR

OK, WARN, FAIL = "ok", "warn", "fail"
GIB = 1024**3


@dataclass
class Check:
    name: str
    status: str
    detail: str
    hint: str = ""


# --------------------------------------------------------------------------------------------------
# Versions and hardware


def check_python() -> Check:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v < (3, 10):
        return Check("python", FAIL, text, "hrm needs Python 3.10 or newer")
    return Check("python", OK, text)


def check_torch() -> Check:
    try:
        import torch
    except Exception as exc:  # a broken wheel raises OSError as often as ImportError
        return Check("torch", FAIL, f"import failed: {exc}", "reinstall: make setup (or pip install torch)")
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU build"
    return Check("torch", OK, f"{torch.__version__} ({build}), {torch.get_num_threads()} threads")


def _nvidia_gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def check_device(acc: dev.Accelerators) -> Check:
    chosen = dev.select_device("auto", acc)
    order = " > ".join(dev.DEVICE_ORDER)
    return Check("device", OK, f"{chosen} selected (order {order})")


def check_cuda(acc: dev.Accelerators, gpu_present: bool | None = None) -> Check:
    gpu_present = _nvidia_gpu_present() if gpu_present is None else gpu_present
    if acc.cuda:
        parts = [
            f"{i}: {d.name} sm{d.capability[0]}{d.capability[1]} {d.total_memory_bytes / GIB:.1f} GiB"
            for i, d in enumerate(acc.cuda)
        ]
        return Check("cuda", OK, f"{len(acc.cuda)} device(s): " + "; ".join(parts))
    if gpu_present:
        why = "torch is a CPU build" if acc.torch_cuda_version is None else "the driver does not answer"
        return Check(
            "cuda", WARN, f"an NVIDIA GPU is present but torch cannot use it ({why})",
            "install a CUDA build of torch that matches the driver (see pytorch.org), then rerun hrm doctor",
        )
    return Check("cuda", OK, "no NVIDIA GPU on this machine")


def check_mps(acc: dev.Accelerators, system: str | None = None, machine: str | None = None) -> Check:
    system = system or platform.system()
    machine = machine or platform.machine()
    if acc.mps_available:
        return Check("mps", OK, "Apple GPU available")
    if system == "Darwin" and machine == "arm64":
        return Check(
            "mps", WARN, "Apple silicon but MPS is not available" + ("" if acc.mps_built else " (torch built without MPS)"),
            "use macOS 12.3+ and an arm64 Python with the standard torch wheel",
        )
    return Check("mps", OK, "not an Apple-silicon Mac")


def check_cpu_memory(total_ram: int | None = None, cores: int | None = None) -> Check:
    import psutil

    total_ram = psutil.virtual_memory().total if total_ram is None else total_ram
    cores = psutil.cpu_count(logical=True) if cores is None else cores
    physical = psutil.cpu_count(logical=False)
    detail = f"{cores} logical cores ({physical or '?'} physical), {total_ram / GIB:.1f} GiB RAM"
    if total_ram < 4 * GIB:
        return Check("cpu/ram", WARN, detail, "under 4 GiB RAM: use the demo preset and a small batch size")
    return Check("cpu/ram", OK, detail)


def check_disk(paths: dict[str, Path], free_bytes: Callable[[Path], int] | None = None) -> Check:
    def default_free(p: Path) -> int:
        probe = p
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return shutil.disk_usage(probe).free

    free_bytes = free_bytes or default_free
    figures = {label: free_bytes(Path(p)) for label, p in paths.items()}
    detail = ", ".join(f"{label} {b / GIB:.1f} GiB free" for label, b in figures.items())
    lowest = min(figures.values())
    if lowest < 200 * 1024**2:
        return Check("disk", FAIL, detail, "free disk space: checkpoints and datasets need at least a few GiB")
    if lowest < 5 * GIB:
        return Check("disk", WARN, detail, "under 5 GiB free: keep fewer checkpoints (train.keep_checkpoints)")
    return Check("disk", OK, detail)


# --------------------------------------------------------------------------------------------------
# Compute: attention backend, dtypes, torch.compile


def check_attention(acc: dev.Accelerators, can_import: Callable[[str], bool] | None = None) -> Check:
    chosen = dev.select_device("auto", acc)
    kwargs = {"can_import": can_import} if can_import else {}
    backend = dev.select_attention(chosen, acc, **kwargs)
    if backend.is_flash:
        return Check("attention", OK, backend.reason)
    if chosen.startswith("cuda"):
        return Check("attention", WARN, backend.reason, "pip install 'hrm[flash]' for faster attention (optional)")
    return Check("attention", OK, backend.reason)


def _time_matmul(dtype: Any, device: str, n: int = 384, reps: int = 3) -> float:
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    (a @ b).sum().item()  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        (a @ b).sum().item()
        best = min(best, time.perf_counter() - t0)
    return best


def check_dtypes(acc: dev.Accelerators, timer: Callable[[Any, str], float] | None = None) -> Check:
    """Which forward dtype `auto` picks here, and on CPU how much slower bf16 actually is."""
    import torch

    chosen = dev.select_device("auto", acc)
    dtype = dev.select_dtype("auto", chosen, acc)
    native = dev.bf16_supported(chosen, acc)
    if chosen == "cpu":
        timer = timer or _time_matmul
        ratio = timer(torch.bfloat16, "cpu") / max(timer(torch.float32, "cpu"), 1e-9)
        detail = (
            f"{dtype} chosen on cpu; bf16 matmul measured {ratio:.1f}x the fp32 time"
            + ("" if native else " (no AVX512-BF16/AMX: bf16 is emulated)")
        )
        if dtype != "float32" and ratio > 1.5:
            return Check("dtype", WARN, detail, "set train.dtype=float32: bf16 is slower than fp32 on this CPU")
        return Check("dtype", OK, detail)
    fp16 = "fp16 yes"
    detail = f"{dtype} chosen on {chosen}; bf16 {'yes' if native else 'no'}, {fp16}"
    if not native and chosen.startswith("cuda"):
        return Check("dtype", WARN, detail, "pre-Ampere GPU: fp16 autocast is used; watch for overflow (NaN events)")
    return Check("dtype", OK, detail)


COMPILE_PROBE = """
import torch
module = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
x = torch.randn(4, 8)
assert torch.allclose(torch.compile(module)(x), module(x), atol=1e-6)
print("compiled")
"""


def _compile_cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "hrm" / "compile-check.json"


def _compile_fingerprint() -> str:
    import torch

    cc = shutil.which(os.environ.get("CXX", "c++")) or shutil.which("gcc") or ""
    cc_stamp = str(Path(cc).stat().st_mtime) if cc else ""
    text = "|".join([sys.executable, sys.version, torch.__version__, cc, cc_stamp])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_compile_probe(timeout_s: float, python: str = sys.executable, code: str = COMPILE_PROBE) -> tuple[bool, str]:
    """Compile a tiny function in a fresh interpreter; (worked, one-line reason)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout_s:.0f}s"
    took = time.perf_counter() - t0
    if proc.returncode == 0 and "compiled" in proc.stdout:
        return True, f"works (inductor, {took:.1f}s)"
    lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
    return False, lines[-1][:160] if lines else f"exit code {proc.returncode}"


def check_compile(
    timeout_s: float = 90.0,
    recheck: bool = False,
    probe: Callable[[float], tuple[bool, str]] | None = None,
    cache_path: Path | None = None,
) -> Check:
    """torch.compile on a tiny function. A cold compile takes 10-20 s on 2 cores, so a result is
    cached per (python, torch, compiler) and reused for a week unless `recheck` is set."""
    cache_path = cache_path or _compile_cache_path()
    fingerprint = _compile_fingerprint()
    cached = None
    if not recheck and cache_path.is_file():
        try:
            cached = json.loads(cache_path.read_text())
        except ValueError:
            cached = None
    if cached and cached.get("fingerprint") == fingerprint and time.time() - cached.get("t", 0) < 7 * 86400:
        worked, reason = cached["worked"], cached["reason"]
        age_h = (time.time() - cached["t"]) / 3600
        reason = f"{reason}; checked {age_h:.1f} h ago (--recheck to test again)"
    else:
        worked, reason = (probe or run_compile_probe)(timeout_s)
        try:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            cache_path.write_text(json.dumps({"fingerprint": fingerprint, "t": time.time(), "worked": worked,
                                              "reason": reason}))
        except OSError:
            pass  # an unwritable cache only costs the next doctor run its time
    if worked:
        return Check("torch.compile", OK, reason)
    return Check(
        "torch.compile", WARN, f"fails: {reason}",
        "training runs eagerly (train.compile=false is the default); for compile install a C++ compiler "
        "and the Python headers (python3-dev)",
    )


# --------------------------------------------------------------------------------------------------
# Files: datasets named by the presets, logs/ writable


def configured_datasets(config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    """Dataset folders named by the presets in configs/: path -> {presets, build}."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(config_dir).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        section = data.get("data") if isinstance(data, dict) else None
        if not isinstance(section, dict) or not section.get("path"):
            continue
        entry = found.setdefault(str(section["path"]), {"presets": [], "build": section.get("build", "")})
        entry["presets"].append(path.stem)
    return found


def check_datasets(datasets: dict[str, dict[str, Any]], root: Path = Path(".")) -> list[Check]:
    from hrm.data.format import DatasetError, validate_dataset

    checks = []
    for rel, info in datasets.items():
        name = f"data {rel}"
        used_by = ", ".join(info["presets"])
        build = info.get("build") or ""
        try:
            summary = validate_dataset(root / rel)
        except DatasetError as exc:
            if not (root / rel).exists():
                hint = f"hrm build-data {build}".strip() if build else "build it with hrm build-data"
                checks.append(Check(name, WARN, f"missing (used by {used_by})", hint))
            else:
                checks.append(Check(name, FAIL, str(exc), f"rebuild: hrm build-data {build} --force".strip()))
            continue
        counts = ", ".join(f"{k} {v}" for k, v in summary.splits.items())
        checks.append(Check(name, OK, f"{counts} examples, seq {summary.seq_len}, vocab {summary.vocab_size}"))
    return checks


def check_logs_writable(logs_dir: Path) -> Check:
    logs_dir = Path(logs_dir)
    try:
        logs_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=logs_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("logs", FAIL, f"{logs_dir} is not writable: {exc.strerror or exc}",
                     f"fix the permissions of {logs_dir} or run from a folder you own")
    return Check("logs", OK, f"{logs_dir.resolve()} writable")


# --------------------------------------------------------------------------------------------------


def run_checks(
    logs_dir: Path = Path("logs"),
    data_dir: Path = Path("data"),
    config_dir: Path = CONFIG_DIR,
    compile_timeout_s: float = 90.0,
    recheck: bool = False,
) -> list[Check]:
    checks = [check_python(), check_torch()]
    if checks[-1].status == FAIL:
        return checks
    # The compile probe is a subprocess that takes seconds: start it first, run the rest meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        compiled = pool.submit(check_compile, compile_timeout_s, recheck)
        acc = dev.probe()
        checks += [
            check_device(acc),
            check_cuda(acc),
            check_mps(acc),
            check_cpu_memory(),
            check_disk({"logs": logs_dir, "data": data_dir}),
            check_attention(acc),
            check_dtypes(acc),
        ]
        checks.append(compiled.result())
    checks += [*check_datasets(configured_datasets(config_dir)), check_logs_writable(logs_dir)]
    return checks


def overall(checks: list[Check]) -> str:
    statuses = {c.status for c in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK


def to_json(checks: list[Check]) -> str:
    return json.dumps({"status": overall(checks), "checks": [asdict(c) for c in checks]}, indent=2)
