from __future__ import annotations

import errno
import json
import multiprocessing
import os
import random
import signal
import time

import pytest
import torch

from hrm.train import checkpoint


def state(step: int, size: int = 1000) -> dict:
    g = torch.Generator().manual_seed(step)
    return {"step": step, "model": {"w": torch.randn(size, generator=g)}, "rng": torch.get_rng_state(), "note": [1, 2.5, None]}


def test_roundtrip_and_keep_last_n_after_ten_saves(tmp_path):
    for step in range(10):
        checkpoint.save(tmp_path, step * 100, state(step), keep=3)
    complete = checkpoint.complete(tmp_path)
    assert [c.step for c in complete] == [900, 800, 700]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"step-{s:08d}.{ext}" for s in (700, 800, 900) for ext in ("pt", "json")])  # 0 temp files left
    loaded, ckpt, skipped = checkpoint.load_newest(tmp_path)
    assert ckpt.step == 900 and skipped == [] and torch.equal(loaded["model"]["w"], state(9)["model"]["w"])
    assert loaded["note"] == [1, 2.5, None]


def _pickle_payload(path, marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"model": Evil()}, path)  # a real torch zip file whose data.pkl calls os.system


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip_byte", "no_manifest", "pickle_payload"])
def test_damaged_newest_checkpoint_is_detected_and_the_previous_one_loads(tmp_path, damage, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # weights_only=True must still hold
    checkpoint.save(tmp_path, 1, state(1), keep=3)
    newest = checkpoint.save(tmp_path, 2, state(2), keep=3)
    data = newest.path.read_bytes()
    marker = tmp_path / "pwned"
    if damage == "truncate":
        newest.path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        newest.path.write_bytes(b"")
    elif damage == "flip_byte":
        i = len(data) // 2
        newest.path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    elif damage == "no_manifest":
        newest.manifest.unlink()
    else:  # a payload whose manifest matches, as an attacker would write it
        _pickle_payload(newest.path, marker)
        manifest = json.loads(newest.manifest.read_text())
        manifest.update(bytes=newest.path.stat().st_size, sha256=checkpoint.sha256_of(newest.path))
        newest.manifest.write_text(json.dumps(manifest))
    loaded, ckpt, skipped = checkpoint.load_newest(tmp_path)
    assert ckpt.step == 1 and loaded["step"] == 1
    assert len(skipped) == 1 and "step-00000002" in skipped[0]
    assert not marker.exists()


def test_no_checkpoint_at_all_is_none_and_all_damaged_is_an_error(tmp_path):
    assert checkpoint.load_newest(tmp_path) is None
    only = checkpoint.save(tmp_path, 5, state(5), keep=2)
    only.path.write_bytes(b"junk")
    with pytest.raises(checkpoint.CheckpointError, match="no usable checkpoint"):
        checkpoint.load_newest(tmp_path)


def test_full_disk_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    checkpoint.save(tmp_path, 1, state(1), keep=2)
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        f.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(tmp_path, 2, state(2), keep=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    _, ckpt, skipped = checkpoint.load_newest(tmp_path)
    assert ckpt.step == 1 and skipped == []


def _save_forever(folder: str) -> None:
    step = 0
    while True:
        step += 1
        checkpoint.save(folder, step, state(step, size=300_000), keep=2)


def test_saves_killed_at_30_random_moments_never_leave_an_unloadable_checkpoint(tmp_path):
    ctx = multiprocessing.get_context("fork")  # torch is already imported: 30 kills in seconds
    rng = random.Random(0)
    unloadable = 0
    for trial in range(30):
        proc = ctx.Process(target=_save_forever, args=(str(tmp_path),))
        proc.start()
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        for ckpt in checkpoint.complete(tmp_path):
            try:
                checkpoint.load(ckpt)
            except checkpoint.CheckpointError:
                unloadable += 1
        checkpoint.load_newest(tmp_path)  # never raises: a complete checkpoint always exists or none at all
    print(f"\nunloadable complete checkpoints after 30 kills: {unloadable}")
    assert unloadable == 0
