"""`hrm sweep` with the real trainer: a 2x2 grid x 2 seeds of a tiny routed sort model gives 8 rows
with every column measured, a rerun trains nothing, `hrm stats` reads the CSV, and `hrm ood`
scores one of the runs at other lengths."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from sweep_helpers import tiny_config
from typer.testing import CliRunner

from hrm.cli import app
from hrm.rundir import RunDir, run_status

runner = CliRunner()


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory, sort_data):
    root = tmp_path_factory.mktemp("realsweep")
    spec = {
        "name": "tiny",
        "config": tiny_config(sort_data, "sort"),
        "grid": {"model.controller": ["classical", "hrm"], "optim.lr": [3e-3, 1e-2]},
        "seeds": [0, 1],
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    logs = root / "logs"
    first = runner.invoke(app, ["sweep", str(path), "--logs-dir", str(logs), "--jobs", "2"])
    return path, logs, first


def read_rows(path):
    with open(path) as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_every_cell_is_a_finished_run_with_every_column(real_sweep):
    _, logs, first = real_sweep
    assert first.exit_code == 0, first.output
    header, rows = read_rows(logs / "sweeps" / "tiny.csv")
    assert len(rows) == 8
    for column in ("run_id", "config_id", "seed", "model.controller", "optim.lr", "train_time_s", "tokens_per_s",
                   "peak_mem_gb", "kendall_tau", "perfect_sort_rate", "accuracy", "routing_entropy",
                   "head_concentration", "n_H_updates"):
        assert column in header
    for row in rows:
        for column in header:
            if column != "advisor":
                assert row[column] != "", (row["run_id"], column)
        assert row["status"] == "finished"
        assert run_status(RunDir(logs / row["run_id"])).state == "finished"
        assert -1 <= float(row["kendall_tau"]) <= 1 and 0 <= float(row["accuracy"]) <= 1
        assert 0 < float(row["head_concentration"]) <= 1
    # the swept values are read back from each run's config.yaml
    by_id = {r["run_id"]: r for r in rows}
    r = by_id["tiny-controller-hrm_lr-0.01-s1"]
    cfg = yaml.safe_load((logs / r["run_id"] / "config.yaml").read_text())
    assert (cfg["model"]["controller"], cfg["optim"]["lr"], cfg["seed"]) == ("hrm", 0.01, 1)
    assert (r["model.controller"], float(r["optim.lr"]), r["seed"]) == ("hrm", 0.01, "1")
    # hrm updates its slow state every hrm_T=2 of 2 inner steps; the classical controller has none
    assert float(r["n_H_updates"]) == 1.0
    assert float(by_id["tiny-controller-classical_lr-0.01-s1"]["n_H_updates"]) == 0.0
    manifest = json.loads((logs / "sweeps" / "tiny.json").read_text())
    assert [m["run_id"] for m in manifest["runs"]] == [r["run_id"] for r in rows]


def test_rerun_skips_finished_cells(real_sweep):
    path, logs, _ = real_sweep
    before = {p.name: (p / "metrics.jsonl").stat().st_mtime for p in logs.iterdir() if (p / "config.yaml").exists()}
    again = runner.invoke(app, ["sweep", str(path), "--logs-dir", str(logs)])
    assert again.exit_code == 0, again.output
    assert again.output.count("finished earlier, skipped") == 8
    after = {p.name: (p / "metrics.jsonl").stat().st_mtime for p in logs.iterdir() if (p / "config.yaml").exists()}
    assert before == after
    _, rows = read_rows(logs / "sweeps" / "tiny.csv")
    assert len(rows) == 8


def test_stats_between_controllers(real_sweep):
    _, logs, _ = real_sweep
    result = runner.invoke(app, ["stats", str(logs / "sweeps" / "tiny.csv"), "--group-by", "model.controller",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert {c["metric"] for c in data["comparisons"]} == {"kendall_tau", "perfect_sort_rate", "accuracy"}
    assert all(c["n_a"] == 4 and c["n_b"] == 4 for c in data["comparisons"])


def test_ood_length_suite_one_row_per_length(real_sweep, tmp_path):
    _, logs, _ = real_sweep
    out = tmp_path / "ood.csv"
    result = runner.invoke(app, ["ood", "tiny-controller-hrm_lr-0.01-s0", "--logs-dir", str(logs), "--suite", "length",
                                 "--values", "7,8,10,12", "--num-test", "32", "--cache", str(tmp_path / "cache"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, rows = read_rows(out)
    assert [int(r["value"]) for r in rows] == [6, 7, 8, 10, 12]  # the trained length joins the suite
    by_len = {int(r["value"]): r for r in rows}
    assert by_len[6]["split"] == "test" and by_len[6]["in_distribution"] == "true"
    assert by_len[8]["split"] == "test_len8" and by_len[10]["split"] == "test_len10"
    assert "cache" in by_len[7]["split"]  # built with the sort builder, padded to the model's length
    assert by_len[7]["examples"] == "32"
    for length in (6, 7, 8, 10):
        assert by_len[length]["kendall_tau"] != "" and by_len[length]["accuracy"] != ""
    assert by_len[12]["kendall_tau"] == "" and "sized for 12" not in ""  # too long for the model: empty ...
    assert "built for sequences of 10" in result.output  # ... with the reason printed
    manifest = json.loads((logs / "sweeps" / "tiny-controller-hrm_lr-0.01-s0-ood-length.json").read_text())
    assert manifest["kind"] == "ood"


def test_ood_lowdata_retrains_on_fewer_groups(real_sweep, tmp_path):
    _, logs, _ = real_sweep
    out = tmp_path / "low.csv"
    args = ["ood", "tiny-controller-classical_lr-0.01-s0", "--logs-dir", str(logs), "--suite", "lowdata", "--values",
            "40", "--cache", str(tmp_path / "cache"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = read_rows(out)[1]
    assert [(r["value"], r["train_groups"], r["status"]) for r in rows] == [("300", "300", "source"),
                                                                         ("40", "40", "finished")]
    assert all(r["kendall_tau"] != "" and r["train_time_s"] != "" for r in rows)
    trained = logs / "tiny-controller-classical_lr-0.01-s0-lowdata-n40-s0"
    cfg = yaml.safe_load((trained / "config.yaml").read_text())
    assert cfg["data"]["path"].endswith("-train40-seed0") and cfg["model"]["controller"] == "classical"
    again = runner.invoke(app, args)  # resumable: the trained size is skipped
    assert again.output.count("finished earlier, skipped") == 1


def test_ood_accepts_a_checkpoint_file(real_sweep, tmp_path):
    _, logs, _ = real_sweep
    ckpt = sorted((logs / "tiny-controller-hrm_lr-0.003-s1" / "checkpoints").glob("step-*.pt"))[-1]
    out = tmp_path / "ckpt.csv"
    result = runner.invoke(app, ["ood", str(ckpt), "--suite", "length", "--values", "8", "--logs-dir", str(logs),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [r["value"] for r in read_rows(out)[1]] == ["6", "8"]
    result = runner.invoke(app, ["ood", str(ckpt), "--suite", "density", "--logs-dir", str(logs)])
    assert "needs a Sudoku run" in str(result.exception)


def test_a_failing_run_leaves_an_empty_row_with_its_reason(tmp_path, sort_data):
    config = tiny_config(sort_data, "sort", pos_encodings="grid", grid_shape=[3, 3], box_shape=None)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "config": config}))
    logs = tmp_path / "logs"
    result = runner.invoke(app, ["sweep", str(path), "--logs-dir", str(logs)])
    assert result.exit_code == 1
    assert "1 run(s) failed" in result.output
    _, rows = read_rows(logs / "sweeps" / "bad.csv")
    assert len(rows) == 1 and rows[0]["kendall_tau"] == "" and rows[0]["status"] == "crashed"
    missing = (logs / "sweeps" / "bad" / "missing.log").read_text()
    assert "kendall_tau empty: the run is crashed, not finished" in missing
    assert "model.grid_shape" in (logs / "sweeps" / "bad" / "bad-base-s0.log").read_text()
