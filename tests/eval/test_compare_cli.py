"""`hrm compare` from saved outcomes: files written, JSON printed, and the gate's exit code."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hrm.cli import app
from hrm.eval.outcomes import save_outcomes

runner = CliRunner()


def _saved(tmp_path, models):
    path = tmp_path / "saved" / "outcomes.json"
    path.parent.mkdir()
    save_outcomes(path, models, list(range(models[0].runs[0].n_puzzles)), {"split": "test"})
    return path


def test_gate_exits_0_when_hrm_is_better(tmp_path, hrm_better):
    out = tmp_path / "out"
    res = runner.invoke(app, ["compare", "--outcomes", str(_saved(tmp_path, hrm_better)), "--out", str(out),
                              "--k", "1,2", "--gate", "--n-resamples", "200"])
    assert res.exit_code == 0, res.output
    assert "gate: passed" in res.output and "Pass@2" in res.output
    results = json.loads((out / "results.json").read_text())
    assert results["gate"]["passed"] is True and results["ks"] == [1, 2]
    assert (out / "report.md").read_text().startswith("# HRM vs baselines")
    assert (out / "outcomes.json").is_file()


def test_gate_exits_1_with_the_reason_when_hrm_is_not_better(tmp_path, hrm_worse):
    out = tmp_path / "out"
    res = runner.invoke(app, ["compare", "--outcomes", str(_saved(tmp_path, hrm_worse)), "--out", str(out),
                              "--k", "1", "--gate", "--json", "--n-resamples", "200"])
    assert res.exit_code == 1
    printed = json.loads(res.stdout)
    assert printed == json.loads((out / "results.json").read_text())
    assert printed["gate"]["passed"] is False
    assert "gate failed: hrm Pass@1" in res.stderr and "is not greater than gpt2" in res.stderr


def test_without_gate_a_worse_hrm_still_exits_0(tmp_path, hrm_worse):
    res = runner.invoke(app, ["compare", "--outcomes", str(_saved(tmp_path, hrm_worse)), "--out",
                              str(tmp_path / "o"), "--k", "1", "--n-resamples", "200"])
    assert res.exit_code == 0 and "gate: failed" in res.output


def test_user_mistakes_are_one_line_errors(tmp_path, hrm_better):
    from hrm.errors import UserError

    saved = _saved(tmp_path, hrm_better)
    cases = [
        (["--outcomes", str(tmp_path / "missing.json")], "no such file"),
        (["--outcomes", str(saved), "--model", "a=b"], "drop --model"),
        (["--outcomes", str(saved), "--k", "x"], "comma-separated"),
        (["--outcomes", str(saved), "--k", "0"], ">= 1"),
        (["--outcomes", str(saved), "--k", "9"], "no k is <="),
        (["--outcomes", str(saved), "--candidate", "nope"], "candidate model 'nope'"),
        ([], "name the models"),
    ]
    for args, needle in cases:
        res = runner.invoke(app, ["compare", *args, "--out", str(tmp_path / "o")])
        assert isinstance(res.exception, UserError), (args, res.output)
        assert needle in str(res.exception), (args, str(res.exception))
