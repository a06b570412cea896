from __future__ import annotations

import json

import numpy as np
import pytest

from hrm import device as dev
from hrm import doctor as doc
from hrm.data.format import DatasetMetadata, write_split

A100 = dev.CudaDevice("NVIDIA A100-SXM4-80GB", (8, 0), 80 * 1024**3)


def test_python_and_torch_checks_pass_here():
    assert doc.check_python().status == doc.OK
    torch_check = doc.check_torch()
    assert torch_check.status == doc.OK and "threads" in torch_check.detail


def test_cuda_check_flags_a_gpu_that_torch_cannot_use():
    cpu_build = dev.Accelerators(torch_cuda_version=None)
    check = doc.check_cuda(cpu_build, gpu_present=True)
    assert check.status == doc.WARN and "CPU build" in check.detail and "CUDA build" in check.hint
    assert doc.check_cuda(dev.Accelerators(), gpu_present=False).status == doc.OK
    ok = doc.check_cuda(dev.Accelerators(cuda=[A100]))
    assert ok.status == doc.OK and "sm80" in ok.detail and "80.0 GiB" in ok.detail


def test_mps_check_warns_only_on_apple_silicon():
    assert doc.check_mps(dev.Accelerators(), "Darwin", "arm64").status == doc.WARN
    assert doc.check_mps(dev.Accelerators(), "Linux", "x86_64").status == doc.OK
    assert doc.check_mps(dev.Accelerators(mps_available=True), "Darwin", "arm64").detail == "Apple GPU available"


def test_device_check_names_choice_and_order():
    check = doc.check_device(dev.Accelerators(cuda=[A100]))
    assert check.detail.startswith("cuda selected") and "cuda > mps > cpu" in check.detail


def test_attention_check_warns_on_gpu_without_flash_but_not_on_cpu(monkeypatch):
    monkeypatch.delenv("HRM_ATTENTION", raising=False)
    gpu = doc.check_attention(dev.Accelerators(cuda=[A100]), can_import=lambda m: False)
    assert gpu.status == doc.WARN and "SDPA fallback" in gpu.detail and "hrm[flash]" in gpu.hint
    flash = doc.check_attention(dev.Accelerators(cuda=[A100]), can_import=lambda m: m == "flash_attn")
    assert flash.status == doc.OK and "flash_attn_2" in flash.detail
    cpu = doc.check_attention(dev.Accelerators(), can_import=lambda m: True)
    assert cpu.status == doc.OK and "SDPA" in cpu.detail


def test_dtype_check_reports_measured_cpu_ratio():
    timings = {"torch.bfloat16": 14.0, "torch.float32": 1.0}
    check = doc.check_dtypes(dev.Accelerators(), timer=lambda dtype, device: timings[str(dtype)])
    assert check.status == doc.OK
    assert "float32 chosen on cpu" in check.detail and "14.0x" in check.detail and "emulated" in check.detail


def test_cpu_memory_and_disk_thresholds():
    assert doc.check_cpu_memory(total_ram=2 * doc.GIB, cores=2).status == doc.WARN
    assert doc.check_cpu_memory(total_ram=32 * doc.GIB, cores=8).status == doc.OK
    free = {"logs": 100 * 1024**2, "data": 50 * doc.GIB}
    check = doc.check_disk({"logs": "logs", "data": "data"}, free_bytes=lambda p: free[str(p)])
    assert check.status == doc.FAIL and "logs 0.1 GiB free" in check.detail
    low = doc.check_disk({"logs": "logs"}, free_bytes=lambda p: 2 * doc.GIB)
    assert low.status == doc.WARN and "keep_checkpoints" in low.hint
    assert doc.check_disk({"here": "missing/deeper"}).status in (doc.OK, doc.WARN)  # walks up to an existing parent


def test_compile_probe_failure_and_timeout_are_warnings():
    worked, reason = doc.run_compile_probe(30, code="raise RuntimeError('no C++ compiler found')")
    assert not worked and "no C++ compiler found" in reason
    worked, reason = doc.run_compile_probe(0.5, code="import time; time.sleep(10)")
    assert not worked and reason == "timed out after 0s"


def test_compile_check_caches_per_fingerprint(tmp_path):
    calls = []

    def failing_probe(timeout):
        calls.append(timeout)
        return False, "InductorError: gcc not found"

    cache = tmp_path / "compile-check.json"
    first = doc.check_compile(12, probe=failing_probe, cache_path=cache)
    assert first.status == doc.WARN and "gcc not found" in first.detail and "C++ compiler" in first.hint
    second = doc.check_compile(12, probe=failing_probe, cache_path=cache)
    assert calls == [12] and "checked" in second.detail and second.status == doc.WARN
    doc.check_compile(12, recheck=True, probe=lambda t: (True, "works"), cache_path=cache)
    assert json.loads(cache.read_text())["worked"] is True
    assert doc.check_compile(12, probe=failing_probe, cache_path=cache).status == doc.OK


def write_tiny_dataset(root):
    meta = DatasetMetadata(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=11, seq_len=4,
                           num_puzzle_identifiers=1, total_groups=2, mean_puzzle_examples=1, sets=["all"])
    arrays = {
        "inputs": np.array([[1, 2, 3, 4], [4, 3, 2, 1]], dtype=np.uint8),
        "labels": np.array([[2, 2, 3, 4], [4, 3, 2, 2]], dtype=np.uint8),
        "puzzle_identifiers": np.zeros(2, dtype=np.int32),
        "puzzle_indices": np.array([0, 1, 2], dtype=np.int32),
        "group_indices": np.array([0, 1, 2], dtype=np.int32),
    }
    for split in ("train", "test"):
        write_split(root / split, meta, {"all": arrays})


def test_dataset_checks_missing_present_and_corrupt(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "demo.yaml").write_text("data:\n  path: data/demo\n  build: sudoku\n")
    (configs / "other.yaml").write_text("data:\n  path: data/demo\n")
    (configs / "nodata.yaml").write_text("name: x\n")
    (configs / "broken.yaml").write_text("data: [\n")
    found = doc.configured_datasets(configs)
    assert found == {"data/demo": {"presets": ["demo", "other"], "build": "sudoku"}}

    [missing] = doc.check_datasets(found, root=tmp_path)
    assert missing.status == doc.WARN and "missing (used by demo, other)" in missing.detail
    assert missing.hint == "hrm build-data sudoku"

    write_tiny_dataset(tmp_path / "data/demo")
    [present] = doc.check_datasets(found, root=tmp_path)
    assert present.status == doc.OK and "train 2, test 2 examples" in present.detail

    np.save(tmp_path / "data/demo/test/all__inputs.npy", np.full((2, 4), 99, dtype=np.uint8))
    [corrupt] = doc.check_datasets(found, root=tmp_path)
    assert corrupt.status == doc.FAIL and "all__inputs.npy" in corrupt.detail and "--force" in corrupt.hint


def test_logs_check_fails_when_not_writable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    check = doc.check_logs_writable(blocker / "logs")
    assert check.status == doc.FAIL and "not writable" in check.detail and "permissions" in check.hint
    assert doc.check_logs_writable(tmp_path / "logs").status == doc.OK


def test_overall_and_json():
    checks = [doc.Check("a", doc.OK, ""), doc.Check("b", doc.WARN, "", "do x")]
    assert doc.overall(checks) == doc.WARN
    assert doc.overall([*checks, doc.Check("c", doc.FAIL, "")]) == doc.FAIL
    data = json.loads(doc.to_json(checks))
    assert data["status"] == "warn" and data["checks"][1] == {"name": "b", "status": "warn", "detail": "", "hint": "do x"}


@pytest.fixture
def fast_compile(monkeypatch):
    monkeypatch.setattr(doc, "run_compile_probe", lambda timeout, **kw: (True, "works (stub for speed)"))


def test_run_checks_on_this_machine(tmp_path, fast_compile, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    checks = doc.run_checks(logs_dir=tmp_path / "logs", data_dir=tmp_path / "data", config_dir=tmp_path)
    names = [c.name for c in checks]
    assert names == ["python", "torch", "device", "cuda", "mps", "cpu/ram", "disk", "attention", "dtype",
                     "torch.compile", "logs"]
    by_name = {c.name: c for c in checks}
    assert by_name["torch.compile"].detail == "works (stub for speed)"
    assert all(c.status in (doc.OK, doc.WARN, doc.FAIL) for c in checks)
