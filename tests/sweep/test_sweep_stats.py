"""`hrm stats CSV --group-by KEY`: the numbers match scipy on a fixed CSV; mistakes are one-line errors."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from hrm.cli import app
from hrm.sweep.group_stats import compare_groups

runner = CliRunner()
HRM = [0.61, 0.66, 0.58, 0.70]
CLASSICAL = [0.52, 0.49, 0.57]
TOPK = [0.55, 0.55, 0.55]


@pytest.fixture
def sweep_csv(tmp_path):
    path = tmp_path / "sweep.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run_id", "seed", "model.controller", "kendall_tau", "tokens_per_s"])
        for name, values in (("hrm", HRM), ("classical", CLASSICAL), ("topk", TOPK)):
            for seed, v in enumerate(values):
                w.writerow([f"{name}-{seed}", seed, name, v, 1000 + seed])
        w.writerow(["hrm-crashed", 9, "hrm", "", ""])  # an empty cell: left out with a note
    return path


def cohen(a, b):
    a, b = np.asarray(a), np.asarray(b)
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return (a.mean() - b.mean()) / pooled


def test_matches_scipy(sweep_csv):
    result = runner.invoke(app, ["stats", str(sweep_csv), "--group-by", "model.controller", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    first = data["comparisons"][0]
    assert (first["group_a"], first["group_b"], first["metric"]) == ("hrm", "classical", "kendall_tau")
    ref = sps.ttest_ind(HRM, CLASSICAL, equal_var=False)
    assert first["welch_t"] == pytest.approx(ref.statistic)
    assert first["welch_p"] == pytest.approx(ref.pvalue)
    assert first["welch_df"] == pytest.approx(ref.df)
    assert first["cohens_d"] == pytest.approx(cohen(HRM, CLASSICAL))
    assert first["mean_a"] == pytest.approx(np.mean(HRM)) and first["n_a"] == 4
    assert first["ci_a_low"] < np.mean(HRM) < first["ci_a_high"]
    assert first["diff_ci_low"] < np.mean(HRM) - np.mean(CLASSICAL) < first["diff_ci_high"]
    assert len(data["comparisons"]) == 3  # all pairs of three groups
    assert any("1 run(s) without a value" in n for n in data["notes"])
    saved = list(csv.DictReader(open(sweep_csv.with_name("sweep.stats.csv"))))
    assert len(saved) == 3 and float(saved[0]["welch_t"]) == pytest.approx(ref.statistic, rel=1e-5)


def test_bootstrap_interval_matches_scipy_bootstrap():
    rows = [{"g": "a", "m": str(v)} for v in HRM] + [{"g": "b", "m": str(v)} for v in CLASSICAL]
    (c,), _ = compare_groups(rows, "g", ["m"], seed=0)
    ref = sps.bootstrap((np.asarray(HRM),), np.mean, method="percentile", n_resamples=9999,
                        rng=np.random.default_rng(0), vectorized=True, axis=-1).confidence_interval
    assert (c.ci_a_low, c.ci_a_high) == pytest.approx((ref.low, ref.high))


def test_zero_variance_group_says_why(sweep_csv):
    result = runner.invoke(app, ["stats", str(sweep_csv), "--group-by", "model.controller", "--baseline", "topk",
                                 "--metric", "kendall_tau"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Welch" in result.output and "hrm (n=4)" in result.output
    rows = list(csv.DictReader(open(sweep_csv.with_name("sweep.stats.csv"))))
    assert [r["group_b"] for r in rows] == ["topk", "topk"]
    assert all(r["welch_t"] for r in rows)  # one group without spread still has a Welch test


def test_one_seed_per_group_is_reported_not_crashed(tmp_path):
    rows = [{"g": "a", "m": "0.5"}, {"g": "b", "m": "0.4"}]
    (c,), _ = compare_groups(rows, "g", ["m"])
    assert c.welch_t is None and "at least 2 seeds" in c.note and c.diff == pytest.approx(0.1)


@pytest.mark.parametrize("args, message", [
    (["--group-by", "nope"], "not a column"),
    (["--group-by", "model.controller", "--metric", "nope"], "not a column"),
    (["--group-by", "model.controller", "--baseline", "gru"], "no such value"),
    (["--group-by", "seed", "--metric", "tokens_per_s", "--baseline", "7"], "no such value"),
])
def test_mistakes_are_user_errors(sweep_csv, args, message):
    from hrm.errors import UserError

    result = runner.invoke(app, ["stats", str(sweep_csv), *args])
    assert isinstance(result.exception, UserError) and message in str(result.exception)


def test_missing_csv(tmp_path):
    result = runner.invoke(app, ["stats", str(tmp_path / "x.csv"), "--group-by", "a"])
    assert "no such CSV" in str(result.exception)
