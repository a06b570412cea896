"""results.json of `hrm compare` (the documented schema) into table rows."""

from __future__ import annotations

import pytest

from hrm_tui import compare_results as cr

RESULTS = {
    "ks": [1, 2], "n_samples": 8, "n_puzzles": 500,
    "models": [{"name": "hrm", "arch": "hrm_act", "runs": ["logs/a"], "seeds": [0, 1, 2], "params": 27_275_266,
                "forward_passes_per_answer": 16.0, "wall_time_s": 3600.0},
               {"name": "gpt2", "arch": "gpt2", "runs": ["logs/b"], "seeds": [0, 1, 2], "params": 124_000_000,
                "forward_passes_per_answer": 81.0, "wall_time_s": 3500.0}],
    "pass_at_k": {"hrm": {"1": {"mean": 0.55, "ci_low": 0.5, "ci_high": 0.6, "per_seed": [0.5, 0.55, 0.6]},
                          "2": {"mean": 0.6, "ci_low": 0.55, "ci_high": 0.65, "per_seed": [0.6] * 3}},
                  "gpt2": {"1": {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.01, "per_seed": [0.0] * 3}}},
    "comparisons": [{"a": "hrm", "b": "gpt2", "k": 1, "diff": 0.55, "ci_low": 0.49, "ci_high": 0.6, "welch_t": 20.1,
                     "welch_p": 1e-5, "cohens_d": 9.0, "hedges_g": 7.2, "mcnemar_p": 1e-9}],
    "gate": {"passed": True, "reason": "hrm Pass@1 0.55 > gpt2 0.00"},
}


def test_rows_from_results() -> None:
    cells = cr.pass_at_k(RESULTS)
    assert [(c.model, c.k) for c in cells] == [("hrm", 1), ("hrm", 2), ("gpt2", 1)]  # gpt2 has no k=2
    assert cells[0].seeds == 3
    rows = cr.model_rows(RESULTS)
    assert rows[0] == ("hrm", "hrm_act", "27.28M", "16.0", "3600 s", "3", "55.0% [50.0%, 60.0%]",
                       "60.0% [55.0%, 65.0%]")
    assert rows[1][-1] == "-"
    assert cr.comparison_rows(RESULTS) == [("hrm vs gpt2", "1", "55.0% [49.0%, 60.0%]", "20.1", "1e-05", "9", "7.2",
                                            "1e-09")]
    assert "gate passed" in cr.gate_text(RESULTS)
    assert "gate failed" in cr.gate_text({**RESULTS, "gate": {"passed": False, "reason": "no gain"}})
    assert cr.gate_text({"ks": []}) == ""


def test_schema_errors_name_the_missing_part() -> None:
    with pytest.raises(ValueError, match="no 'pass_at_k'"):
        cr.pass_at_k({"ks": [1], "models": []})
    with pytest.raises(ValueError, match="no entry for model 'gpt2'"):
        cr.pass_at_k({**RESULTS, "pass_at_k": {"hrm": RESULTS["pass_at_k"]["hrm"]}})
    with pytest.raises(ValueError, match="JSON object"):
        cr.pass_at_k([])  # type: ignore[arg-type]


def test_runs_group_into_models_by_architecture() -> None:
    from hrm_tui.screens.compare import group_models, model_name, parse_ks

    runs = [("hrm-20240101-000000", "logs/h1", "hrm_act"), ("gpt2-20240101-000000", "logs/g", "gpt2"),
            ("hrm-20240102-000000", "logs/h2", "hrm_act"), ("odd-20240103-101010-2", "logs/o", "?")]
    assert group_models(runs) == {"hrm_act": ["logs/h1", "logs/h2"], "gpt2": ["logs/g"], "odd": ["logs/o"]}
    assert model_name("plain", "") == "plain"
    assert parse_ks("5, 1,2,2") == [1, 2, 5]
    with pytest.raises(ValueError):
        parse_ks("0")
