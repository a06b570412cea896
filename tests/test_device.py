from __future__ import annotations

import pytest

from hrm import device as dev

A100 = dev.CudaDevice("NVIDIA A100", (8, 0), 80 * 1024**3)
H100 = dev.CudaDevice("NVIDIA H100", (9, 0), 80 * 1024**3)
V100 = dev.CudaDevice("Tesla V100", (7, 0), 16 * 1024**3)
CPU_ONLY = dev.Accelerators(cpu_flags=frozenset({"avx2", "fma"}))
MAC = dev.Accelerators(mps_built=True, mps_available=True)


@pytest.mark.parametrize(
    "acc, expected",
    [
        (dev.Accelerators(cuda=[A100], mps_available=True), "cuda"),
        (MAC, "mps"),
        (CPU_ONLY, "cpu"),
    ],
)
def test_auto_picks_cuda_then_mps_then_cpu(acc, expected):
    assert dev.select_device("auto", acc) == expected


def test_explicit_device_is_checked_against_the_machine():
    two = dev.Accelerators(cuda=[A100, A100])
    assert dev.select_device("cuda:1", two) == "cuda:1"
    with pytest.raises(dev.DeviceError, match="has 2 CUDA device"):
        dev.select_device("cuda:2", two)
    with pytest.raises(dev.DeviceError, match="no CUDA device"):
        dev.select_device("cuda", CPU_ONLY)
    with pytest.raises(dev.DeviceError, match="MPS is not available"):
        dev.select_device("mps", CPU_ONLY)
    with pytest.raises(dev.DeviceError, match="not one of"):
        dev.select_device("tpu", CPU_ONLY)
    assert dev.select_device(" CPU ", CPU_ONLY) == "cpu"


@pytest.mark.parametrize(
    "device, acc, expected",
    [
        ("cuda", dev.Accelerators(cuda=[A100]), "bfloat16"),
        ("cuda", dev.Accelerators(cuda=[V100]), "float16"),
        ("mps", MAC, "bfloat16"),
        ("cpu", CPU_ONLY, "float32"),  # emulated bf16 is ~14x slower on AVX2-only CPUs
        ("cpu", dev.Accelerators(cpu_flags=frozenset({"avx512_bf16"})), "bfloat16"),
    ],
)
def test_auto_dtype(device, acc, expected):
    assert dev.select_dtype("auto", device, acc) == expected


def test_explicit_dtype_aliases_and_errors():
    assert dev.select_dtype("bf16", "cpu", CPU_ONLY) == "bfloat16"
    assert dev.select_dtype("fp32", "cuda", dev.Accelerators(cuda=[A100])) == "float32"
    with pytest.raises(dev.DeviceError, match="float8"):
        dev.select_dtype("float8", "cpu", CPU_ONLY)


def importable(*modules):
    return lambda name: name in modules


def test_attention_prefers_the_newest_flash_generation_that_suits_the_gpu(monkeypatch):
    monkeypatch.delenv("HRM_ATTENTION", raising=False)
    hopper = dev.Accelerators(cuda=[H100])
    ampere = dev.Accelerators(cuda=[A100])
    all_flash = importable("flash_attn", "flash_attn_interface", "flash_attn.cute")
    assert dev.select_attention("cuda", hopper, all_flash).name == "flash_attn_4"
    assert dev.select_attention("cuda", hopper, importable("flash_attn_interface", "flash_attn")).name == "flash_attn_3"
    assert dev.select_attention("cuda", ampere, all_flash).name == "flash_attn_2"
    fallback = dev.select_attention("cuda", dev.Accelerators(cuda=[V100]), all_flash)
    assert fallback.name == "sdpa" and "sm70" in fallback.reason and not fallback.is_flash


def test_attention_falls_back_to_sdpa_without_flash_or_gpu(monkeypatch):
    monkeypatch.delenv("HRM_ATTENTION", raising=False)
    none = dev.select_attention("cuda", dev.Accelerators(cuda=[A100]), importable())
    assert none.name == "sdpa" and "flash_attn not installed" in none.reason and "hrm[flash]" in none.reason
    assert dev.select_attention("cpu", CPU_ONLY, importable("flash_attn")).name == "sdpa"
    assert dev.select_attention("mps", MAC, importable("flash_attn")).name == "sdpa"


def test_attention_can_be_forced_to_sdpa(monkeypatch):
    monkeypatch.setenv("HRM_ATTENTION", "sdpa")
    backend = dev.select_attention("cuda", dev.Accelerators(cuda=[H100]), importable("flash_attn"))
    assert backend.name == "sdpa" and backend.reason == "SDPA requested"


def test_broken_flash_install_counts_as_missing():
    assert dev._can_import("hrm_no_such_module_for_tests") is False
    assert dev._can_import("json") is True


def test_read_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert dev.read_cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert dev.read_cpu_flags(tmp_path / "missing") == frozenset()


def test_probe_on_this_machine_is_consistent():
    acc = dev.probe()
    import torch

    assert bool(acc.cuda) == torch.cuda.is_available()
    assert dev.select_device("auto", acc) in ("cuda", "mps", "cpu")
