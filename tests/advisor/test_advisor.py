"""Each advisor rule fires on a metric stream built to show its symptom and stays silent on a
healthy one. Streams are plain dicts shaped like metrics.jsonl / events.jsonl records."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hrm.advisor import RULES, Advisor, Thresholds, replay
from hrm.rundir import LEVELS

HEADS = 8


def train(step: int, **figures: float) -> dict:
    return {"t": 1000.0 + step, "step": step, "kind": "train", **figures}


def evaluation(step: int, split: str, **figures: float) -> dict:
    return {"t": 1000.0 + step + 0.5, "step": step, "kind": "eval", "split": split, **figures}


def healthy_stream(steps: int = 600, every: int = 10, seed: int = 0) -> list[dict]:
    """A run that learns: loss falls with mild noise, routing sharpens from uniform to a few heads,
    speed steady, the long-length split close behind the trained one."""
    rng = np.random.default_rng(seed)
    records = []
    for step in range(every, steps + 1, every):
        frac = step / steps
        entropy = math.log(HEADS) * (1 - 0.6 * frac) + rng.normal(0, 0.01)
        records.append(train(
            step, loss=2.0 * math.exp(-3 * frac) + 0.1 + rng.normal(0, 0.01), routing_entropy=entropy,
            head_concentration=0.125 + 0.3 * frac, top1_share=0.125 + 0.45 * frac,
            examples_per_s=100 + rng.normal(0, 3),
        ))
        if step % 100 == 0:
            records.append(evaluation(step, "test", accuracy=0.5 + 0.4 * frac, exact_accuracy=0.3 + 0.5 * frac))
            records.append(evaluation(step, "test_len16", accuracy=0.45 + 0.35 * frac, exact_accuracy=0.2 + 0.3 * frac))
        if step % 50 == 0:
            records.append({"t": 1000.0 + step, "step": step, "kind": "system", "rss_gb": 1.5, "cpu_percent": 190})
    records.append({"t": 1000.0 + steps + 1, "step": steps, "event": "finished", "level": "info"})
    return records


def advisor(**kwargs) -> Advisor:
    defaults = {"num_heads": HEADS, "memory_gb": 24.0, "planned_steps": 600,
                "baseline": {"exact_accuracy": 0.6}}
    defaults.update(kwargs)
    return Advisor(**defaults)


def rules_fired(events: list[dict]) -> list[str]:
    return [e["rule"] for e in events]


def check_event_shape(events: list[dict]) -> None:
    for e in events:
        assert e["event"] == "advisor"
        assert e["level"] in LEVELS
        assert e["message"] and e["hint"], e
        assert e["rule"] in RULES
        json.dumps(e)  # every event can be written to events.jsonl


def test_healthy_stream_is_silent():
    events = advisor().observe_all(healthy_stream())
    assert events == []


@pytest.mark.parametrize("seed", range(5))
def test_noisy_but_healthy_loss_does_not_count_as_oscillation(seed):
    rng = np.random.default_rng(seed)
    records = [train(s, loss=1.0 + rng.normal(0, 0.02)) for s in range(10, 2000, 10)]
    assert advisor().observe_all(records) == []


def test_uniform_alphas_fires_after_warmup_only():
    a = advisor()
    early = [train(s, routing_entropy=math.log(HEADS) - 0.001, top1_share=0.13) for s in range(10, 200, 10)]
    assert a.observe_all(early) == []  # the router starts uniform: no alarm during the warm-up
    late = [train(s, routing_entropy=math.log(HEADS) - 0.001, top1_share=0.13) for s in range(200, 300, 10)]
    events = a.observe_all(late)
    assert rules_fired(events) == ["uniform_alphas"]
    check_event_shape(events)
    assert "optim.groups.controller.lr" in events[0]["hint"]
    assert events[0]["heads"] == HEADS


def test_uniform_alphas_respects_top_k():
    # With top-2 routing the most a row can spread is log(2).
    records = [train(s, routing_entropy=math.log(2) - 0.002, top1_share=0.5) for s in range(10, 400, 10)]
    assert rules_fired(advisor(top_k=2).observe_all(records)) == ["uniform_alphas"]
    assert advisor(top_k=None).observe_all(records) == []


def test_unrouted_model_gets_no_routing_advice():
    records = [train(s, routing_entropy=math.log(HEADS), top1_share=1.0) for s in range(10, 400, 10)]
    assert advisor(num_heads=None).observe_all(records) == []


def test_head_collapse_fires_on_top1_share():
    records = healthy_stream(200)
    records += [train(s, loss=0.2, routing_entropy=0.02, top1_share=0.99, head_concentration=0.98, examples_per_s=100)
                for s in range(210, 300, 10)]
    events = advisor().observe_all(records)
    assert rules_fired(events) == ["head_collapse"]
    check_event_shape(events)


def test_head_collapse_uses_concentration_without_top1():
    records = [train(s, head_concentration=0.95) for s in range(10, 100, 10)]
    assert rules_fired(advisor().observe_all(records)) == ["head_collapse"]
    assert advisor(top_k=1).observe_all(records) == []  # top-1 routing is one head by design


def test_loss_oscillation_fires():
    records = [train(s, loss=1.0 + (0.3 if (s // 10) % 2 else -0.3)) for s in range(10, 300, 10)]
    events = advisor().observe_all(records)
    assert rules_fired(events) == ["oscillation"]
    assert events[0]["series"] == "loss"
    check_event_shape(events)


def test_routing_oscillation_fires_separately_from_loss():
    records = [train(s, loss=1.0 - s / 1000, routing_entropy=1.0 + (0.4 if (s // 10) % 2 else -0.4), top1_share=0.4)
               for s in range(10, 300, 10)]
    events = advisor().observe_all(records)
    assert [(e["rule"], e["series"]) for e in events] == [("oscillation", "routing_entropy")]


def test_no_gain_at_long_lengths_fires():
    records = [evaluation(500, "test", accuracy=0.95, exact_accuracy=0.8),
               evaluation(500, "test_len20", accuracy=0.2, exact_accuracy=0.0)]
    events = advisor(baseline={}).observe_all(records)
    assert rules_fired(events) == ["no_gain_long"]
    assert events[0]["split"] == "test_len20"
    assert "rope" in events[0]["hint"]
    check_event_shape(events)


def test_no_gain_long_silent_when_nothing_was_learned():
    records = [evaluation(500, "test", accuracy=0.1), evaluation(500, "test_len20", accuracy=0.02)]
    assert advisor(baseline={}).observe_all(records) == []


def test_worse_than_baseline_waits_for_most_of_the_plan():
    a = advisor(baseline={"exact_accuracy": 0.6, "test_len16:accuracy": 0.9})
    assert a.observe_all([evaluation(400, "test", exact_accuracy=0.1)]) == []  # early: expected to be behind
    events = a.observe_all([evaluation(450, "test", exact_accuracy=0.3, accuracy=0.8),
                            evaluation(450, "test_len16", accuracy=0.85)])
    assert [(e["rule"], e["split"], e["metric"]) for e in events] == [
        ("worse_than_baseline", "test", "exact_accuracy"), ("worse_than_baseline", "test_len16", "accuracy")]
    check_event_shape(events)


def test_worse_than_baseline_counts_evals_without_a_plan():
    a = advisor(planned_steps=0)
    records = [evaluation(s, "test", exact_accuracy=0.2) for s in (100, 200, 300)]
    assert rules_fired(a.observe_all(records)) == ["worse_than_baseline"]


def test_oom_event_and_crash():
    a = advisor()
    events = a.observe({"t": 1.0, "step": 12, "event": "crashed", "level": "error", "reason": "oom",
                        "message": "CUDA out of memory", "hint": "..."})
    assert rules_fired(events) == ["oom"]
    assert events[0]["level"] == "error"
    assert "micro_batch_size" in events[0]["hint"]
    check_event_shape(events)
    other = advisor().observe({"t": 1.0, "step": 12, "event": "crashed", "level": "error", "message": "ValueError"})
    assert other == []


def test_oom_warning_from_resident_memory():
    events = advisor().observe({"t": 1.0, "step": 5, "kind": "system", "rss_gb": 22.5})
    assert rules_fired(events) == ["oom"]
    assert events[0]["level"] == "warn"


def test_slow_training_against_own_pace():
    speeds = [5, 50] + [100] * 10 + [20] * 6  # a compile step, then steady, then a competing process
    records = [train(10 * (i + 1), examples_per_s=v) for i, v in enumerate(speeds)]
    events = advisor().observe_all(records)
    assert rules_fired(events) == ["slow_training"]
    check_event_shape(events)


def test_slow_training_against_expectation():
    records = [train(10 * (i + 1), examples_per_s=10.0) for i in range(10)]
    assert rules_fired(advisor(expected_examples_per_s=100.0).observe_all(records)) == ["slow_training"]
    assert advisor().observe_all(records) == []


def test_a_rule_rearms_after_quiet_steps():
    a = advisor(thresholds=Thresholds(rearm_steps=100))
    first = a.observe_all([train(s, head_concentration=0.95) for s in range(10, 100, 10)])
    again_soon = a.observe_all([train(s, head_concentration=0.95) for s in range(100, 150, 10)])
    later = a.observe_all([train(s, head_concentration=0.95) for s in range(150, 250, 10)])
    assert len(first) == 1 and again_soon == [] and len(later) == 1


def test_from_config_reads_routing_layout():
    cfg = {"model": {"arch": "routed", "num_heads": 4, "routing": {"top_k": 2}},
           "train": {"max_steps": 300}, "data": {"eval_split": "val"}}
    a = Advisor.from_config(cfg)
    assert (a.num_heads, a.top_k, a.planned_steps, a.main_split) == (4, 2, 300, "val")
    plain = Advisor.from_config({"model": {"arch": "hrm_act", "num_heads": 8, "route_heads": False}})
    assert plain.num_heads is None


def test_replay_reads_a_run_directory(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: {arch: routed, num_heads: 8}\ntrain: {max_steps: 300}\n")
    with open(run / "metrics.jsonl", "w") as f:
        for s in range(10, 300, 10):
            f.write(json.dumps(train(s, routing_entropy=math.log(8), top1_share=0.125)) + "\n")
    with open(run / "events.jsonl", "w") as f:
        f.write(json.dumps({"t": 2000.0, "step": 300, "event": "finished", "level": "info"}) + "\n")
    assert rules_fired(replay(run)) == ["uniform_alphas"]


def test_event_kwargs_fit_a_sink_event_call():
    from hrm.advisor import event_kwargs
    from hrm.rundir import event_record

    (event,) = advisor().observe({"t": 1.0, "step": 5, "kind": "system", "rss_gb": 23.0})

    def sink_event(event, level="info", message="", hint="", step=None, **extra):  # Sink.event's signature
        return event_record(event, level, message, hint, step, **extra)

    again = sink_event(**event_kwargs(event))
    assert {k: v for k, v in again.items() if k != "t"} == {k: v for k, v in event.items() if k != "t"}


def test_finished_run_is_judged_against_the_baseline():
    a = advisor(planned_steps=0)
    assert a.observe(evaluation(100, "test", exact_accuracy=0.2)) == []  # one eval, no plan: too early
    events = a.observe({"t": 2000.0, "step": 100, "event": "finished", "level": "info"})
    assert rules_fired(events) == ["worse_than_baseline"]
