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
    "data": {"eval_examples": 12},
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
    # seeds interleaved: seed 0 of both models before seed 1 of either
    assert res.stderr.index("training gpt2 seed 0") < res.stderr.index("training hrm seed 1")
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
        assert m["wall_time_s"] is not None and m["wall_time_s"] > 0 and m["train_steps"] == 4
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


# ---- the same runs, in process (the CLI code paths and their user errors) ----------------------------

def _runs(results, name):
    return next(m for m in results["models"] if m["name"] == name)["runs"]


def test_in_process_eval_of_a_checkpoint_file_prints_a_table(compared, monkeypatch):
    from typer.testing import CliRunner

    from hrm.cli import app

    root, res = compared
    monkeypatch.chdir(root)
    run = Path(_runs(json.loads(res.stdout), "gpt2")[1])
    ckpt = sorted((run / "checkpoints").glob("step-*.pt"))[-1]
    out = CliRunner().invoke(app, ["eval", str(ckpt), "--n-samples", "2", "--k", "1,2,5", "--max-puzzles", "4",
                                   "--threads", "1", "--vote"])
    assert out.exit_code == 0, out.output
    assert "exact accuracy (verifier" in out.output and "Pass@2" in out.output and "k = [5] not reported" in out.output


def test_in_process_compare_of_named_runs(compared, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from hrm.cli import app

    root, res = compared
    monkeypatch.chdir(root)
    results = json.loads(res.stdout)
    hrm_runs, gpt2_runs = ",".join(_runs(results, "hrm")), ",".join(_runs(results, "gpt2"))
    out = CliRunner().invoke(app, ["compare", "--model", f"gpt2={gpt2_runs}", "--model", f"hrm={hrm_runs}",
                                   "--max-puzzles", "4", "--n-samples", "2", "--k", "1", "--out", str(tmp_path / "c"),
                                   "--threads", "1", "--halt-max-steps", "1", "--n-resamples", "200"])
    assert out.exit_code == 0, out.output
    again = json.loads((tmp_path / "c" / "results.json").read_text())
    assert again["candidate"] == "hrm" and again["n_puzzles"] == 4
    # --halt-max-steps reached HRM (1 segment per answer) and not GPT-2
    fwd = {m["name"]: m["forward_passes_per_answer"] for m in again["models"]}
    assert fwd == {"hrm": 1.0, "gpt2": 81.0}


def test_run_loading_errors_name_the_problem(compared, tmp_path):
    from hrm.errors import UserError
    from hrm.eval.evaluate import load_run
    from hrm.eval.run_compare import evaluate_models, parse_model_specs, train_configs
    from hrm.eval.settings import EvalSettings

    root, res = compared
    results = json.loads(res.stdout)
    hrm_run = root / _runs(results, "hrm")[0]
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "config.yaml").write_text((hrm_run / "config.yaml").read_text())
    stray = tmp_path / "step-00000001.pt"
    stray.write_bytes(b"x")
    cases = [
        (lambda: load_run(tmp_path / "nope"), "no such run directory"),
        (lambda: load_run(tmp_path), "not a run directory"),
        (lambda: load_run(empty), "no checkpoint yet"),
        (lambda: load_run(stray), "run/checkpoints/step-N.pt"),
        (lambda: parse_model_specs(["hrm"]), "NAME=VALUE"),
        (lambda: parse_model_specs(["a=x", "a=y"]), "named twice"),
        (lambda: evaluate_models({"mixed": [str(hrm_run), str(root / _runs(results, "gpt2")[0])]}, root / "data",
                                 EvalSettings(max_puzzles=2, n_samples=1)), "mix architectures"),
        (lambda: evaluate_models({"x": []}, None, EvalSettings()), "no runs to evaluate"),
        (lambda: train_configs(["bad=no_such_preset"], seeds=1, minutes=0, overrides=[], logs_dir=tmp_path / "logs",
                               existing=set()), "training bad seed 0 failed"),
        (lambda: train_configs(["a=x"], seeds=1, minutes=0, overrides=[], logs_dir=tmp_path, existing={"a"}),
         "already used"),
        (lambda: EvalSettings(augment="sometimes"), "--augment"),
    ]
    for call, needle in cases:
        with pytest.raises(UserError, match=needle):
            call()
