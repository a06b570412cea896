"""The sweep runner with a stand-in trainer (tests/sweep/fake_train.py): cells become runs, reruns
skip finished cells and resume crashed ones, threads are shared out, the CSV and manifest follow
the runs' files. The same flow with the real trainer is in test_sweep_real.py."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
import yaml

from hrm.sweep.manifest import list_manifests, manifest_path, read_manifest
from hrm.sweep.report import write_csv
from hrm.sweep.results import sweep_rows
from hrm.sweep.runner import SweepRunner, cell_state, threads_per_job
from hrm.sweep.spec import load_sweep
from hrm.sweep.task_metrics import Figures

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


@pytest.fixture
def fake_env(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def write_spec(tmp_path: Path, **extra) -> Path:
    spec = {
        "name": "grid",
        "config": {"data": {"task": "sort"}, "model": {"hidden_size": 8}, "optim": {"lr": 1e-3}},
        "grid": {"model.hidden_size": [8, 16], "optim.lr": [1e-3, 5e-3]},
        "seeds": [0, 1],
        **extra,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def runner_for(path: Path, logs: Path, **kw) -> SweepRunner:
    spec, spec_path = load_sweep(path)
    return SweepRunner(spec, spec_path, logs, train_command=[sys.executable, str(HERE / "fake_train.py")],
                       echo=lambda line: None, **kw)


def fake_evaluator(run_dir: Path) -> Figures:
    """Stands in for the checkpoint evaluation: figures derived from the run's config."""
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    size = cfg["model"]["hidden_size"]
    return Figures({"train_time_s": 1.5, "kendall_tau": size / 100, "perfect_sort_rate": 0.5, "accuracy": 0.7,
                    "routing_entropy": 1.2, "head_concentration": 0.4, "n_H_updates": 2.0})


def calls(logs: Path) -> list[str]:
    path = logs / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


def test_threads_are_shared_out():
    assert threads_per_job(1, cores=2) == 2
    assert threads_per_job(2, cores=2) == 1
    assert threads_per_job(4, cores=2) == 1
    assert threads_per_job(2, cores=16) == 8


def test_grid_runs_every_cell_then_skips_them(tmp_path, fake_env):
    logs = tmp_path / "logs"
    runner = runner_for(write_spec(tmp_path), logs, jobs=2, cores=2)
    runner.prepare()
    outcomes = runner.run()
    assert [o.action for o in outcomes] == ["ran"] * 8
    assert all("threads=1" in line for line in calls(logs))  # 2 jobs on 2 cores: one thread each
    header, rows = sweep_rows(runner, fake_evaluator, log=lambda line: None)
    assert len(rows) == 8
    for row in rows:
        for column in header:
            if column != "advisor":
                assert row[column] not in (None, ""), (row["run_id"], column)
    by_id = {r["run_id"]: r for r in rows}
    r = by_id["grid-hidden_size-16_lr-0.005-s1"]
    assert (r["model.hidden_size"], r["optim.lr"], r["seed"]) == (16, 0.005, 1)
    assert r["tokens_per_s"] == 16000 + 15 + 1  # median of the train records after the first
    assert r["peak_mem_gb"] == pytest.approx(1.6)
    assert r["eval_exact_accuracy"] == pytest.approx(0.51)
    assert r["status"] == "finished" and r["steps"] == 20.0

    again = runner_for(write_spec(tmp_path), logs, jobs=2, cores=2)
    again.prepare()
    assert [o.action for o in again.run()] == ["skipped"] * 8
    assert len(calls(logs)) == 8  # nothing was trained a second time


def test_crashed_cell_is_resumed(tmp_path, fake_env):
    logs = tmp_path / "logs"
    path = write_spec(tmp_path, grid={"model.hidden_size": [8]}, seeds=[0], config={
        "data": {"task": "sort"}, "model": {"hidden_size": 8}, "optim": {"lr": 1e-3}, "fake": {"crash": True}})
    first = runner_for(path, logs)
    first.prepare()
    assert [o.action for o in first.run()] == ["failed"]
    assert cell_state(first.run_dir(first.cells[0])) == "resume"
    second = runner_for(path, logs)
    second.prepare()
    assert [o.action for o in second.run()] == ["resumed"]
    assert [line.split()[1] for line in calls(logs)] == ["new", "resume"]


def test_threads_left_alone_when_the_sweep_sets_them(tmp_path):
    runner = runner_for(write_spec(tmp_path, overrides=["train.threads=3"]), tmp_path / "logs", jobs=2, cores=2)
    overrides = runner.cell_overrides(runner.cells[0])
    assert "train.threads=1" not in overrides and "train.threads=3" in overrides
    plain = runner_for(write_spec(tmp_path), tmp_path / "logs", jobs=2, cores=2)
    assert "train.threads=1" in plain.cell_overrides(plain.cells[0])
    assert plain.cell_overrides(plain.cells[0])[-1] == "seed=0"


def test_prepare_checks_every_cell_before_running(tmp_path):
    seen = []
    runner = runner_for(write_spec(tmp_path), tmp_path / "logs")
    runner.prepare(check=lambda base, overrides: seen.append((base, overrides)))
    assert len(seen) == 8 and seen[0][0] == runner.base_yaml
    assert yaml.safe_load(runner.base_yaml.read_text())["data"] == {"task": "sort"}


def test_missing_values_are_empty_with_reasons(tmp_path, fake_env):
    logs = tmp_path / "logs"
    runner = runner_for(write_spec(tmp_path, grid={"model.hidden_size": [8]}, seeds=[0]), logs)
    runner.prepare()
    runner.run()
    notes: list[str] = []
    header, rows = sweep_rows(runner, None, log=notes.append)  # evaluation off: task columns empty
    assert rows[0]["kendall_tau"] is None and rows[0]["tokens_per_s"] is not None
    assert any("kendall_tau empty: checkpoint evaluation was turned off" in n for n in notes)
    out = write_csv(tmp_path / "out.csv", header, rows)
    with open(out) as f:
        record = next(csv.DictReader(f))
    assert record["kendall_tau"] == "" and float(record["tokens_per_s"]) > 0


def test_manifest_lists_the_runs(tmp_path, fake_env):
    logs = tmp_path / "logs"
    runner = runner_for(write_spec(tmp_path), logs)
    runner.prepare()
    runner.run()
    runner.write_manifest(tmp_path / "x.csv")
    manifest = read_manifest(manifest_path(logs, "grid"))
    assert manifest["kind"] == "sweep" and manifest["csv"] == str(tmp_path / "x.csv")
    assert manifest["keys"] == ["model.hidden_size", "optim.lr"]
    assert len(manifest["runs"]) == 8
    assert {r["status"] for r in manifest["runs"]} == {"finished"}
    assert all(Path(r["path"]).is_dir() for r in manifest["runs"])
    assert [m["name"] for m in list_manifests(logs)] == ["grid"]
    # the sweep folder is not mistaken for a run
    from hrm.rundir import list_runs

    assert all(not r.path.name.startswith("sweeps") for r in list_runs(logs))


def test_baseline_cells_feed_the_advisor(tmp_path, fake_env):
    logs = tmp_path / "logs"
    path = write_spec(tmp_path, grid={"optim.lr": [5e-3, 1e-3]}, seeds=[0], baseline={"optim.lr": 5e-3})
    runner = runner_for(path, logs)
    runner.prepare()
    runner.run()
    _, rows = sweep_rows(runner, fake_evaluator, log=lambda line: None)
    by_lr = {r["optim.lr"]: r for r in rows}
    # lr 1e-3 reaches exact 0.1 against the baseline's 0.5 (fake trainer: exact = lr * 100)
    assert by_lr[1e-3]["advisor"] == "worse_than_baseline"
    assert by_lr[5e-3]["advisor"] == ""


def test_existing_run_with_other_settings_is_refused(tmp_path, fake_env):
    from hrm.errors import UserError

    logs = tmp_path / "logs"
    runner = runner_for(write_spec(tmp_path, grid={"model.hidden_size": [8]}, seeds=[0]), logs)
    runner.prepare()
    runner.run()
    changed = runner_for(write_spec(tmp_path, grid={"model.hidden_size": [8]}, seeds=[0],
                                    config={"data": {"task": "sort"}, "optim": {"lr": 2e-3}}), logs)
    with pytest.raises(UserError, match=r"optim.lr: run has 0.001, sweep asks 0.002"):
        changed.prepare()
    same_with_other_threads = runner_for(write_spec(tmp_path, grid={"model.hidden_size": [8]}, seeds=[0]), logs,
                                         jobs=2, cores=4)
    same_with_other_threads.prepare()  # threads are a resource, not a setting: the run is reused
    assert [o.action for o in same_with_other_threads.run()] == ["skipped"]


def test_command_line_overrides_reach_every_cell(tmp_path):
    runner = runner_for(write_spec(tmp_path), tmp_path / "logs", overrides=["train.max_steps=7"])
    assert all("train.max_steps=7" in runner.cell_overrides(c) for c in runner.cells)
    assert runner.expected(runner.cells[0])["train.max_steps"] == 7


def test_dry_run_lists_commands_and_a_typo_stops_the_sweep(tmp_path, sort_data):
    from sweep_helpers import tiny_config
    from typer.testing import CliRunner

    from hrm.cli import app
    from hrm.config import ConfigError

    spec = {"name": "dry", "config": tiny_config(sort_data, "sort"), "grid": {"model.controller": ["classical", "hrm"]},
            "seeds": [0, 1]}
    path = tmp_path / "dry.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--logs-dir", str(tmp_path / "logs"),
                                      "train.max_steps=5"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("dry-")]
    assert len(lines) == 4 and all("[new]" in line and "train.max_steps=5" in line for line in lines)
    assert not (tmp_path / "logs" / "dry-controller-hrm-s0").exists()

    spec["grid"] = {"model.controler": ["hrm"]}
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--logs-dir", str(tmp_path / "logs")])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith(f"{path} (run dry-controler-hrm-s0)")
    assert "controler: unknown key" in str(result.exception)
