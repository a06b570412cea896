"""OOD suites: Kendall tau against scipy, the cached test sets, density and low-data suites on
real tiny runs (the length suite runs in test_sweep_real.py on a sweep's run)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats as sps
from sweep_helpers import tiny_config, train_run
from typer.testing import CliRunner

from hrm.cli import app
from hrm.data.format import load_split, read_build_info, validate_dataset
from hrm.ood.datasets import givens_of, sort_length_set, subsample_train
from hrm.ood.suites import default_densities, parse_range
from hrm.sweep.task_metrics import kendall_tau, score

runner = CliRunner()


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_kendall_tau_matches_scipy_per_row():
    rng = np.random.default_rng(0)
    n, seq = 40, 10
    lengths = rng.integers(2, seq + 1, size=n)
    inputs = np.zeros((n, seq), dtype=np.int64)
    outputs = np.zeros((n, seq), dtype=np.int64)
    for i, length in enumerate(lengths):
        inputs[i, :length] = rng.integers(1, 6, size=length)  # small key range: ties happen
        outputs[i, :length] = rng.permutation(length) + 1
    tau = kendall_tau(inputs, outputs)
    for i, length in enumerate(lengths):
        keys_in_order = inputs[i, outputs[i, :length] - 1]
        ref = sps.kendalltau(np.arange(length), keys_in_order).statistic
        if np.isnan(ref):
            assert np.isnan(tau[i])
        else:
            assert tau[i] == pytest.approx(ref)


def test_kendall_tau_extremes_and_bad_pointers():
    inputs = np.array([[3, 1, 2, 0], [3, 1, 2, 0], [3, 1, 2, 0]])
    sorted_out = np.array([[2, 3, 1, 0], [1, 3, 2, 0], [0, 0, 0, 0]])
    tau = kendall_tau(inputs, sorted_out)
    assert tau[0] == pytest.approx(1.0) and tau[1] == pytest.approx(-1.0)
    assert tau[2] != tau[2]  # every pointer invalid: all keys read as equal -> undefined (NaN)


def test_score_sort_and_sudoku_columns():
    inputs = np.array([[3, 1, 2, 0]])
    labels = np.array([[2, 3, 1, 0]])
    figures = score("sort", inputs, labels, labels.copy(), labels != 0)
    assert figures == {"kendall_tau": 1.0, "perfect_sort_rate": 1.0, "accuracy": 1.0}


def test_sort_length_set_is_padded_to_the_model(tmp_path):
    root = sort_length_set(tmp_path, length=5, seq_len=9, key_range=16, num_test=20, seed=1)
    split = load_split(root, "test")
    assert split.metadata.seq_len == 9
    assert ((split.sets["all"].inputs != 0).sum(axis=1) == 5).all()
    again = sort_length_set(tmp_path, length=5, seq_len=9, key_range=16, num_test=20, seed=1)
    assert again == root  # cached


def test_subsample_keeps_test_and_cuts_train(tmp_path, sort_data):
    out, kept = subsample_train(sort_data, tmp_path, groups=50, seed=0)
    assert kept == 50
    summary = validate_dataset(out, ("train", "test", "test_len8"))
    assert summary.splits["train"] == 50
    full = load_split(sort_data, "test").sets["all"].inputs
    assert (load_split(out, "test").sets["all"].inputs == full).all()
    train_full = {bytes(r) for r in np.asarray(load_split(sort_data, "train").sets["all"].inputs)}
    assert {bytes(r) for r in np.asarray(load_split(out, "train").sets["all"].inputs)} <= train_full
    assert read_build_info(out)["subsample"]["groups"] == 50
    everything, n = subsample_train(sort_data, tmp_path, groups=10**6, seed=0)
    assert n == 300


def test_subsample_keeps_augmented_groups_whole(tmp_path, sudoku_data):
    from hrm.data.progress import QuietReporter
    from hrm.data.sudoku_build import SudokuOptions, build_sudoku

    src = tmp_path / "aug"
    build_sudoku(SudokuOptions(out=src, num_train=12, num_test=4, num_aug=2, workers=1, seed=5), QuietReporter())
    out, kept = subsample_train(src, tmp_path / "cache", groups=5, seed=1)
    train = load_split(out, "train").sets["all"]
    assert kept == 5 and train.num_groups == 5 and train.num_examples == 15  # each group: 1 + 2 augmentations


def test_density_ranges():
    assert parse_range("30-34") == (30, 34) and parse_range("40") == (40, 40)
    assert default_densities((46, 54)) == [(30, 38), (38, 46), (46, 54), (54, 62)]
    assert default_densities((20, 24)) == [(20, 24), (28, 32)]  # ranges below 17 givens are dropped
    from hrm.errors import UserError

    with pytest.raises(UserError):
        parse_range("10-12")
    with pytest.raises(UserError):
        parse_range("a-b")


def test_density_suite_one_row_per_range(tmp_path, sudoku_data):
    logs = tmp_path / "logs"
    train_run(tiny_config(sudoku_data, "sudoku"), logs, "sud")
    out = tmp_path / "density.csv"
    result = runner.invoke(app, ["ood", "sud", "--logs-dir", str(logs), "--suite", "density", "--values",
                                 "40-44,46-54", "--num-test", "8", "--cache", str(tmp_path / "cache"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert [r["value"] for r in rows] == ["40-44", "46-54"]
    assert [r["in_distribution"] for r in rows] == ["false", "true"]  # the demo data is 46-54 givens
    for r in rows:
        assert r["exact_accuracy"] != "" and r["cell_accuracy"] != "" and r["examples"] == "8"
        assert 40 <= float(r["givens_mean"]) <= 54
    assert givens_of(rows[0]["split"])["max"] <= 44  # the split column names the built dataset


def test_suite_mismatches_are_user_errors(tmp_path, sort_data):
    from hrm.errors import UserError

    result = runner.invoke(app, ["ood", "nope", "--logs-dir", str(tmp_path)])
    assert isinstance(result.exception, UserError) and "no run 'nope'" in str(result.exception)
    result = runner.invoke(app, ["ood", str(tmp_path), "--suite", "width"])
    assert isinstance(result.exception, UserError) and "choose one of" in str(result.exception)
