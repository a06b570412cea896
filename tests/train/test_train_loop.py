from __future__ import annotations

import math
import threading

import pytest
import torch
from train_helpers import build_toy, events, final_weights, train_in_process, wait_until

from hrm.rundir import RunDir


def metrics(run: RunDir, kind: str) -> list[dict]:
    return list(run.iter_metrics(kind))


def test_trains_and_writes_the_run_directory_contract(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = make_config(train={"eval_every": 20, "diag_every": 10, "system_every_s": 0.001})
    assert train_in_process(cfg, run) == 0
    train = metrics(run, "train")
    assert [r["step"] for r in train] == list(range(5, 41, 5))
    for key in ("epoch", "examples", "lr", "loss", "accuracy", "exact_accuracy", "act_steps", "grad_norm",
                "examples_per_s", "tokens_per_s", "step_time_s", "peak_mem_gb", "lm_loss"):
        assert key in train[-1], key
    assert train[-1]["loss"] < train[0]["loss"]
    evals = metrics(run, "eval")
    assert [r["step"] for r in evals] == [20, 40] and evals[-1]["split"] == "test"
    assert 0 <= evals[-1]["accuracy"] <= 1 and evals[-1]["exact_accuracy"] <= evals[-1]["accuracy"]
    assert evals[-1]["examples"] == 32
    assert metrics(run, "diag") and "rss_gb" in metrics(run, "system")[0]
    names = [e["event"] for e in events(run)]
    assert names[0] == "started" and names[-1] == "finished" and "checkpoint" in names
    assert all(e.get("hint") for e in events(run) if e["level"] != "info")
    hb = run.read_heartbeat()
    assert hb["step"] == 40 and "progress_t" in hb
    assert "eval" in run.stdout.read_text()


def test_deterministic_runs_give_identical_weights(make_config, tmp_path):
    a, b = RunDir(tmp_path / "a"), RunDir(tmp_path / "b")
    train_in_process(make_config(train={"deterministic": True}), a)
    train_in_process(make_config(train={"deterministic": True}), b)
    (_, wa), (_, wb) = final_weights(a), final_weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_injected_nan_is_skipped_and_k_in_a_row_roll_back(make_config, tmp_path):
    one, three = RunDir(tmp_path / "one"), RunDir(tmp_path / "three")
    cfg = make_config(reliability={"rollback_after": 3, "heartbeat_s": 0.2})

    def nan_at(calls):
        return lambda m: setattr(m, "nan_calls", set(calls))

    assert train_in_process(cfg, one, nan_at([15])) == 0
    assert [e["step"] for e in events(one, "nan")] == [15] and not events(one, "rollback")
    _, w = final_weights(one)
    assert all(torch.isfinite(v).all() for v in w.values())

    assert train_in_process(cfg, three, nan_at([15, 16, 17])) == 0
    assert len(events(three, "nan")) == 3
    (rollback,) = events(three, "rollback")
    assert rollback["step"] == 10 and rollback["steps_lost"] == 7 and rollback["lr_scale"] == 0.5
    assert events(three, "finished")[0]["step"] == 40
    _, w = final_weights(three)
    assert all(torch.isfinite(v).all() for v in w.values())


def test_without_the_guard_a_nan_poisons_the_weights(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = make_config(reliability={"nan_skip": False}, train={"max_steps": 20})
    train_in_process(cfg, run, lambda m: setattr(m, "nan_calls", {15}))
    assert any(e["level"] == "warn" and "not finite" in e.get("message", "") for e in events(run, "checkpoint"))


def test_one_spike_is_skipped_ten_roll_back(make_config, tmp_path):
    rel = {"spike_warmup": 10, "spike_window": 20, "rollback_after": 4, "max_rollbacks": 5}
    one, ten = RunDir(tmp_path / "one"), RunDir(tmp_path / "ten")
    assert train_in_process(make_config(reliability=rel), one, lambda m: setattr(m, "spike_calls", {25: 100.0})) == 0
    assert [e["step"] for e in events(one, "spike")] == [25] and not events(one, "rollback")
    spikes = {c: 100.0 for c in range(25, 35)}
    assert train_in_process(make_config(reliability=rel), ten, lambda m: setattr(m, "spike_calls", spikes)) == 0
    rollbacks = events(ten, "rollback")
    assert rollbacks and all(r["steps_lost"] > 0 for r in rollbacks)
    print(f"\n1 spike: skipped 1, rollbacks 0; 10 spikes: {len(events(ten, 'spike'))} skipped, "
          f"{len(rollbacks)} rollback(s), steps lost {[r['steps_lost'] for r in rollbacks]}")


def test_rollbacks_that_do_not_help_end_as_diverged(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = make_config(reliability={"rollback_after": 2, "max_rollbacks": 1})
    code = train_in_process(cfg, run, lambda m: setattr(m, "nan_calls", set(range(12, 100))))
    assert code == 1
    (crash,) = events(run, "crashed")
    assert crash["reason"] == "diverged" and crash["hint"]


def test_oom_halves_the_micro_batch_and_keeps_the_loss(make_config, tmp_path):
    train = {"micro_batch_size": 8, "log_every": 1, "max_steps": 12}
    model = {"dropout": 0.0}  # dropout masks are drawn per micro-batch shape: only RNG-free models match exactly
    ref, oom = RunDir(tmp_path / "ref"), RunDir(tmp_path / "oom")
    train_in_process(make_config(train=train, model=model), ref)  # the same global batch, no OOM
    train_in_process(make_config(train=train, model=model), oom, lambda m: setattr(m, "oom_above", 2))
    (first, second) = events(oom, "oom")
    assert (first["micro_batch_size"], first["accumulation"]) == (4, 2)
    assert (second["micro_batch_size"], second["accumulation"]) == (2, 4)
    a, b = [r["loss"] for r in metrics(ref, "train")], [r["loss"] for r in metrics(oom, "train")]
    assert len(a) == len(b) == 12
    diff = max(abs(x - y) for x, y in zip(a, b, strict=True))
    print(f"\nOOM halving 8 -> 2: max |loss difference| over 12 steps {diff:.2e}")
    assert diff <= 1e-6


def test_oom_at_micro_batch_one_crashes_with_reason_oom(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    assert train_in_process(make_config(), run, lambda m: setattr(m, "oom_above", 0)) == 1
    crash = events(run, "crashed")[-1]
    assert crash["reason"] == "oom" and crash["micro_batch_size"] == 1


def test_pause_through_control_file(make_config, tmp_path):
    run = RunDir(tmp_path / "run").create()
    cfg = make_config(train={"max_steps": 30, "log_every": 10, "checkpoint_every": 0})
    run.set_paused(True)
    seen = {}

    def unpause_when_paused():
        wait_until(lambda: (run.read_heartbeat() or {}).get("state") == "paused", timeout=30)
        seen["step"] = run.read_heartbeat()["step"]
        run.set_paused(False)

    t = threading.Thread(target=unpause_when_paused)
    t.start()
    assert train_in_process(cfg, run) == 0
    t.join()
    assert seen["step"] == 0
    names = [e["event"] for e in events(run)]
    assert names.index("paused") < names.index("resumed") < names.index("finished")


def test_a_checkpoint_requested_while_paused_is_written_before_resuming(make_config, tmp_path):
    from hrm.train.loop import Trainer

    run = RunDir(tmp_path / "run").create()
    cfg = make_config(train={"max_steps": 20, "log_every": 10, "checkpoint_every": 0, "checkpoint_minutes": 0})
    run.set_paused(True)
    trainer = Trainer(cfg, run, build_toy, echo=False, install_signals=False)

    def checkpoint_then_unpause():
        wait_until(lambda: (run.read_heartbeat() or {}).get("state") == "paused", timeout=30)
        trainer.signals.checkpoint = True  # what the dashboard's `c` (SIGUSR1) sets
        wait_until(lambda: any(e.get("reason") == "requested" for e in events(run, "checkpoint")), timeout=30)
        run.set_paused(False)

    t = threading.Thread(target=checkpoint_then_unpause)
    t.start()
    assert trainer.run() == 0
    t.join()
    names = [(e["event"], e.get("reason")) for e in events(run)]
    assert names.index(("paused", None)) < names.index(("checkpoint", "requested")) < names.index(("resumed", None))


def test_gate_below_minimum_stops_the_run_with_exit_3(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    code = train_in_process(make_config(gate={"step": 5, "metric": "exact_accuracy", "min": 0.99}), run)
    assert code == 3
    (gate,) = events(run, "gate_failed")
    assert gate["step"] == 5 and gate["level"] == "error" and gate["value"] < 0.99
    assert not events(run, "finished")
    passed = RunDir(tmp_path / "passed")
    assert train_in_process(make_config(gate={"step": 40, "metric": "accuracy", "min": 0.5}), passed) == 0
    assert events(passed, "gate_passed")


def test_compile_failure_falls_back_to_eager(make_config, tmp_path, monkeypatch):
    class Broken(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *a, **k):
            raise RuntimeError("inductor: no C compiler")

    monkeypatch.setattr(torch, "compile", lambda m, **k: Broken(m))
    run = RunDir(tmp_path / "run")
    assert train_in_process(make_config(train={"compile": True, "max_steps": 10}), run) == 0
    (fallback,) = events(run, "compile_fallback")
    assert "no C compiler" in fallback["message"] and fallback["hint"]


def test_frozen_controller_does_not_move_in_its_first_epoch(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = make_config(train={"max_steps": 5, "checkpoint_every": 1, "keep_checkpoints": 10},
                      optim={"groups": {"controller": {"frozen_epochs": 1.0}}})
    train_in_process(cfg, run)
    from hrm.train import checkpoint

    first, last = (checkpoint.load(c)["model"] for c in checkpoint.complete(run.checkpoints)[::-1][:: 5])
    assert torch.equal(first["halt.weight"], last["halt.weight"])
    assert not torch.equal(first["mix.weight"], last["mix.weight"])


def test_time_and_epoch_limits_end_the_run(make_config, tmp_path):
    by_epoch = RunDir(tmp_path / "epochs")
    train_in_process(make_config(train={"max_steps": 0, "epochs": 2, "log_every": 1}), by_epoch)
    *_, before, last = metrics(by_epoch, "train")
    assert before["epoch"] < 2.0 <= last["epoch"] and events(by_epoch, "finished")[0]["step"] == last["step"]
    by_time = RunDir(tmp_path / "time")
    train_in_process(make_config(train={"max_steps": 0, "max_minutes": 0.0001}), by_time)
    assert events(by_time, "finished")[0]["step"] >= 1


def test_resume_of_a_finished_run_finishes_at_once(make_config, tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = make_config(train={"max_steps": 10})
    train_in_process(cfg, run)
    assert train_in_process(cfg, run) == 0
    assert [e["step"] for e in events(run, "finished")] == [10, 10]
    assert math.isfinite(metrics(run, "eval")[-1]["accuracy"])


@pytest.mark.parametrize("keep", [2, 3])
def test_checkpoints_kept_during_training(make_config, tmp_path, keep):
    run = RunDir(tmp_path / "run")
    train_in_process(make_config(train={"checkpoint_every": 5, "keep_checkpoints": keep}), run)
    assert len(list(run.checkpoints.glob("*.pt"))) == keep and not list(run.checkpoints.glob(".*"))


def test_gradient_checkpointing_recomputes_to_the_same_weights(make_config, tmp_path):
    plain, ckpt = RunDir(tmp_path / "plain"), RunDir(tmp_path / "ckpt")
    train_in_process(make_config(train={"max_steps": 10}), plain)
    train_in_process(make_config(train={"max_steps": 10, "grad_checkpointing": True}), ckpt)
    (_, a), (_, b) = final_weights(plain), final_weights(ckpt)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6  # dropout masks replayed in the recompute


def test_a_stop_signal_during_evaluation_cuts_it_short(make_config, tmp_path, monkeypatch):
    from toy import build_toy

    import hrm.train.loop as loop_module
    from hrm.train.loop import Trainer

    run = RunDir(tmp_path / "run")
    trainer = Trainer(make_config(train={"max_steps": 1000, "eval_every": 5}, data={"eval_batch_size": 1}), run,
                      build_toy, echo=False, install_signals=False)
    batches = []

    def sigterm_at_the_second_batch():
        batches.append(1)
        if len(batches) == 2:
            trainer.signals.stop, trainer.signals.stop_signal = True, "SIGTERM"

    real = loop_module.evaluate
    monkeypatch.setattr(loop_module, "evaluate", lambda *a, on_batch, **k: real(
        *a, on_batch=lambda: (on_batch(), sigterm_at_the_second_batch()), **k))
    assert trainer.run() == 0
    assert len(batches) == 2 and not list(run.iter_metrics("eval"))  # 30 more eval batches were not run
    (stopped,) = events(run, "stopped")
    assert stopped["step"] == 5


def test_a_full_disk_at_a_checkpoint_is_one_error_event_and_training_goes_on(make_config, tmp_path, monkeypatch):
    import errno

    from hrm.train import checkpoint

    real = checkpoint.save

    def full_at_20(folder, step, state, keep):
        if step == 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(folder, step, state, keep)

    monkeypatch.setattr(checkpoint, "save", full_at_20)
    run = RunDir(tmp_path / "run")
    assert train_in_process(make_config(), run) == 0
    errors = [e for e in events(run) if e["level"] == "error"]
    assert len(errors) == 1 and "No space left" in errors[0]["message"] and errors[0]["hint"]
    assert [c.step for c in checkpoint.complete(run.checkpoints)] == [40, 30, 10]
