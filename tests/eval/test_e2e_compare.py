"""End to end on CPU: build a tiny Sudoku set, train tiny HRM and GPT-2 models (2 seeds each) with
`hrm compare --config ...`, and check that every reported number is computed from the runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hrm.eval.passk import pass_at_k

HRM_TINY = {
    "data": {"eval_examples": 12, "loss_cells": "changed"},
    "model": {"arch": "hrm_act", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1,
              "puzzle_emb_ndim": 0, "halt_max_steps": 2, "loss_on": "changed", "pos_encodings": "grid"},
}
GPT2_TINY = {
    "data": {"eval_examples": 12},
    "model": {"arch": "gpt2", "n_layer": 1, "n_head": 2, "d_model": 32},
}
COMMON = {
    "train": {"device": "cpu", "global_batch_size": 16, "max_steps": 4, "eval_every": 0, "threads": 1},
    "optim": {"name": "adamw", "lr": 1e-3, "warmup_steps": 0},
}


def hrm_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hrm.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=240)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    built = hrm_cli("build-data", "sudoku", "--out", "data", "--num-train", "64", "--num-test", "12",
                    "--workers", "1", "--progress", "quiet", cwd=root)
    assert built.returncode == 0, built.stderr
    for name, cfg in (("hrm", HRM_TINY), ("gpt2", GPT2_TINY)):
        full = {"name": name, **COMMON, **cfg}
        full["data"] = {"path": str(root / "data"), **cfg["data"]}
        (root / f"{name}.yaml").write_text(yaml.safe_dump(full))
    res = hrm_cli("compare", "--config", "hrm=hrm.yaml", "--config", "gpt2=gpt2.yaml", "--seeds", "2",
                  "--n-samples", "3", "--k", "1,2,5", "--out", "out", "--logs-dir", "logs", "--threads", "1",
                  "--vote", "--json", "--n-resamples", "500", cwd=root)
    assert res.returncode == 0, res.stderr
    return root, res


def test_compare_trains_every_seed_and_prints_results_json(compared):
    root, res = compared
    results = json.loads(res.stdout)
    assert results == json.loads((root / "out" / "results.json").read_text())
    assert "training hrm seed 1 (2/2)" in res.stderr and "evaluating gpt2" in res.stderr
    assert results["ks"] == [1, 2] and results["ks_skipped"] == [5]
    assert results["n_puzzles"] == 12 and results["n_samples"] == 3 and results["candidate"] == "hrm"
    models = {m["name"]: m for m in results["models"]}
    assert models["hrm"]["arch"] == "hrm_act" and models["gpt2"]["arch"] == "gpt2"
    for m in models.values():
        assert m["seeds"] == [0, 1] and len(m["runs"]) == 2
        for run in m["runs"]:
            cfg = yaml.safe_load((Path(run) / "config.yaml").read_text()) if Path(run).is_absolute() else \
                yaml.safe_load((root / run / "config.yaml").read_text())
            assert cfg["train"]["max_steps"] == 4
        assert m["wall_time_s"] is not None and m["wall_time_s"] > 0
    # compute: HRM runs its 2 eval segments per answer, GPT-2 writes 81 tokens one call each
    assert models["hrm"]["forward_passes_per_answer"] == 2.0 and models["gpt2"]["forward_passes_per_answer"] == 81.0
    report = (root / "out" / "report.md").read_text()
    assert "## Pass@1" in report and "## Pass@2" in report and "hrm compare" in report


def test_every_number_is_recomputed_from_the_saved_outcomes(compared):
    root, res = compared
    results = json.loads(res.stdout)
    outcomes = json.loads((root / "out" / "outcomes.json").read_text())
    assert outcomes["puzzle_ids"] == list(range(12))
    for model in outcomes["models"]:
        for k in (1, 2):
            per_seed = [float(np.mean([pass_at_k(n, c, k) for n, c in zip(r["n"], r["correct"], strict=True)]))
                        for r in model["runs"]]
            got = results["pass_at_k"][model["name"]][str(k)]
            assert got["per_seed"] == pytest.approx(per_seed) and got["mean"] == pytest.approx(np.mean(per_seed))
        exact = np.mean([np.mean(r["first_correct"]) for r in model["runs"]])
        summary = next(m for m in results["models"] if m["name"] == model["name"])
        assert summary["exact_accuracy"] == pytest.approx(exact)
        assert summary["params"] == model["runs"][0]["params"] > 0
    # Rebuilding from outcomes.json alone gives the same results (same seed for the bootstrap).
    again = hrm_cli("compare", "--outcomes", "out/outcomes.json", "--out", "again", "--k", "1,2,5", "--json",
                    "--n-resamples", "500", cwd=root)
    assert again.returncode == 0, again.stderr
    rebuilt = json.loads(again.stdout)
    assert {k: v for k, v in rebuilt.items() if k != "command"} == {k: v for k, v in results.items() if k != "command"}


def test_eval_of_one_run_agrees_with_compare(compared):
    root, res = compared
    results = json.loads(res.stdout)
    run = next(m for m in results["models"] if m["name"] == "hrm")["runs"][0]
    out = hrm_cli("eval", run, "--n-samples", "3", "--k", "1,2", "--json", "--threads", "1", "--vote", cwd=root)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    seed0 = results["pass_at_k"]["hrm"]["1"]["per_seed"][0]
    assert summary["pass_at_k"]["1"]["mean"] == pytest.approx(seed0)
    assert summary["n_puzzles"] == 12 and summary["arch"] == "hrm_act"
    assert 0.0 <= summary["cell_accuracy"] <= 1.0 and summary["vote_pass_at_2"] is not None
