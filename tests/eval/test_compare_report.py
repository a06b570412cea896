from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from hrm.eval.compare import build_results, pick_candidate
from hrm.eval.gate import gate
from hrm.eval.outcomes import ModelOutcomes, RunOutcomes, load_outcomes, save_outcomes
from hrm.eval.passk import pass_at_k
from hrm.eval.report import markdown_report, print_tables

from .conftest import make_model

# The keys docs/ARCHITECTURE.md ("Compare") promises to the dashboard.
TOP_KEYS = {"ks", "n_samples", "n_puzzles", "models", "pass_at_k", "comparisons", "gate"}
MODEL_KEYS = {"name", "arch", "runs", "seeds", "params", "forward_passes_per_answer", "wall_time_s"}
PASSK_KEYS = {"mean", "ci_low", "ci_high", "per_seed"}
COMPARISON_KEYS = {"a", "b", "k", "diff", "ci_low", "ci_high", "welch_t", "welch_p", "cohens_d", "hedges_g",
                   "mcnemar_p"}


def test_results_follow_the_documented_schema(hrm_better):
    results = build_results(hrm_better, ks=[1, 2, 5], n_resamples=500)
    assert TOP_KEYS <= results.keys()
    assert results["ks"] == [1, 2] and results["ks_skipped"] == [5]  # n = 4 attempts: k = 5 not reportable
    assert results["n_samples"] == 4 and results["n_puzzles"] == 40
    for m in results["models"]:
        assert MODEL_KEYS <= m.keys()
    assert set(results["pass_at_k"]) == {"hrm", "gpt2"}
    for per_k in results["pass_at_k"].values():
        assert set(per_k) == {"1", "2"}
        for v in per_k.values():
            assert PASSK_KEYS <= v.keys() and len(v["per_seed"]) == 3
    assert len(results["comparisons"]) == 2
    for c in results["comparisons"]:
        assert COMPARISON_KEYS <= c.keys() and c["a"] == "hrm" and c["b"] == "gpt2"
    assert set(results["gate"]) == {"passed", "reason"}
    json.dumps(results)  # plain JSON: no numpy scalars left


def test_every_number_is_computed_from_the_outcomes(hrm_better):
    results = build_results(hrm_better, ks=[1, 2], n_resamples=500)
    hrm, gpt2 = hrm_better
    for k in (1, 2):
        per_seed = [np.mean([pass_at_k(int(n), int(c), k) for n, c in zip(r.n, r.correct, strict=True)])
                    for r in hrm.runs]
        got = results["pass_at_k"]["hrm"][str(k)]
        assert got["per_seed"] == pytest.approx(per_seed)
        assert got["mean"] == pytest.approx(np.mean(per_seed))
        assert got["ci_low"] <= got["mean"] <= got["ci_high"]
    c1 = next(c for c in results["comparisons"] if c["k"] == 1)
    assert c1["diff"] == pytest.approx(results["pass_at_k"]["hrm"]["1"]["mean"] - results["pass_at_k"]["gpt2"]["1"]["mean"])
    assert c1["welch_p"] < 0.05 and c1["cohens_d"] > 0 and c1["hedges_g"] < c1["cohens_d"]
    summary = {m["name"]: m for m in results["models"]}
    assert summary["gpt2"]["forward_passes_per_answer"] == 81.0 and summary["hrm"]["params"] == 2000
    assert summary["hrm"]["seeds"] == [0, 1, 2] and summary["hrm"]["wall_time_s"] == 300.0
    exact = np.mean([r.first_correct.mean() for r in hrm.runs])
    assert summary["hrm"]["exact_accuracy"] == pytest.approx(exact)
    assert summary["hrm"]["vote_pass_at_1"] == pytest.approx(np.mean([(r.correct > 0).mean() for r in hrm.runs]))


def test_gate_passes_and_fails_on_constructed_results(hrm_better, hrm_worse):
    good = build_results(hrm_better, ks=[1], n_resamples=300)
    assert good["gate"]["passed"] is True
    assert "hrm Pass@1" in good["gate"]["reason"] and "> gpt2" in good["gate"]["reason"]
    assert "significant" in good["gate"]["reason"]
    bad = build_results(hrm_worse, ks=[1], n_resamples=300)
    assert bad["gate"]["passed"] is False and "is not greater than gpt2" in bad["gate"]["reason"]
    # equal Pass@1 is "not greater": the gate fails on a tie
    tie = build_results([make_model("hrm", "hrm_act", 0.5, rng_seed=9), make_model("gpt2", "gpt2", 0.5, rng_seed=9)],
                        ks=[1], n_resamples=300)
    assert tie["gate"]["passed"] is False
    single = build_results([hrm_better[0]], ks=[1], n_resamples=300)
    assert single["gate"]["passed"] is False and "needs a baseline" in single["gate"]["reason"]
    assert gate({"ks": [2], "candidate": "hrm", "comparisons": []})["passed"] is False


def test_candidate_is_the_hrm_model_wherever_it_is_listed(hrm_better):
    assert pick_candidate(list(reversed(hrm_better))) == "hrm"
    two_baselines = [make_model("gpt2", "gpt2", 0.2), make_model("tf", "transformer", 0.1)]
    assert pick_candidate(two_baselines) == "gpt2"
    res = build_results(list(reversed(hrm_better)), ks=[1], candidate=None, n_resamples=200)
    assert res["candidate"] == "hrm" and res["comparisons"][0]["b"] == "gpt2"


def test_one_seed_each_reports_reasons_instead_of_nan():
    models = [make_model("hrm", "hrm_act", 0.6, seeds=(0,)), make_model("gpt2", "gpt2", 0.3, seeds=(0,), rng_seed=5)]
    results = build_results(models, ks=[1], n_resamples=300)
    c = results["comparisons"][0]
    assert c["welch_t"] is None and c["welch_p"] is None and c["cohens_d"] is None
    assert "at least 2 seeds" in c["notes"]["welch"]
    assert "scipy" in results["pass_at_k"]["hrm"]["1"]["ci_method"]
    md = markdown_report(results)
    assert "at least 2 seeds" in md and "nan" not in md.lower()


def test_inputs_that_cannot_be_compared_are_rejected(hrm_better):
    with pytest.raises(ValueError, match="distinct"):
        build_results([hrm_better[0], hrm_better[0]], ks=[1])
    with pytest.raises(ValueError, match="different numbers of puzzles"):
        build_results([hrm_better[0], make_model("gpt2", "gpt2", 0.2, n_puzzles=10)], ks=[1])
    with pytest.raises(ValueError, match="candidate"):
        build_results(hrm_better, ks=[1], candidate="nope")
    with pytest.raises(ValueError, match="no runs"):
        ModelOutcomes("x", "gpt2", [])
    with pytest.raises(ValueError, match="more correct"):
        RunOutcomes("r", 0, [2], [3], [0], [False], [False], 0.0, 1, 1.0)
    with pytest.raises(ValueError, match="shape"):
        RunOutcomes("r", 0, [2, 2], [1], [0], [False], [False], 0.0, 1, 1.0)


def test_outcomes_round_trip(tmp_path, hrm_better):
    path = tmp_path / "outcomes.json"
    save_outcomes(path, hrm_better, list(range(40)), {"split": "test"})
    models, ids, meta = load_outcomes(path)
    assert ids == list(range(40)) and meta == {"split": "test"}
    assert [m.name for m in models] == ["hrm", "gpt2"]
    np.testing.assert_array_equal(models[0].runs[1].correct, hrm_better[0].runs[1].correct)
    assert build_results(models, ks=[1], n_resamples=200) == build_results(hrm_better, ks=[1], n_resamples=200)


def test_rich_tables_and_markdown_show_the_same_figures(hrm_better):
    results = build_results(hrm_better, ks=[1, 2], n_resamples=300, meta={"command": "hrm compare ...",
                                                                          "data": "data/x", "split": "test"})
    console = Console(record=True, width=220)
    print_tables(results, console)
    text = console.export_text()
    md = markdown_report(results)
    mean = f"{100 * results['pass_at_k']['hrm']['1']['mean']:.1f}%"
    for out in (text, md):
        assert "Pass@1" in out and "Pass@2" in out and mean in out and "candidate hrm" in out
        assert "passed" in out
    assert md.startswith("# HRM vs baselines") and "```bash\nhrm compare ...\n```" in md
    assert md.count("| hrm |") == 4 and "McNemar variant" in md and "## Compute used" in md and "data data/x split test: 40 puzzles" in md
