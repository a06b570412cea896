"""The CSV of a sweep: one row per run, its swept values read back from the run's config.yaml.

A row measured once is kept beside the sweep (`<logs>/sweeps/<name>/<run_id>.row.json`) with the
sizes of the run's metrics and events files and the eval settings; a rerun reuses it while those
are unchanged, so resuming a long sweep does not evaluate every finished checkpoint again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from hrm.rundir import RunDir, atomic_write_json, read_json
from hrm.sweep.collect import Evaluator, collect_row, columns
from hrm.sweep.runner import SweepRunner
from hrm.sweep.spec import swept_keys

ID_COLUMNS = ("run_id", "config_id", "seed")


def nested_get(data: Any, dotted: str) -> tuple[bool, Any]:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _read_config(run: RunDir) -> dict[str, Any]:
    try:
        data = yaml.safe_load(run.config.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _cache_key(run: RunDir, eval_settings: dict[str, Any]) -> dict[str, Any]:
    def size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return -1

    return {"metrics": size(run.metrics), "events": size(run.events), "eval": eval_settings}


def sweep_task(runner: SweepRunner) -> str:
    from hrm.sweep.spec import base_config

    found, task = nested_get(base_config(runner.spec, runner.spec_path), "data.task")
    return str(task) if found and task else "sudoku"


def sweep_rows(runner: SweepRunner, evaluate: Evaluator | None, log: Callable[[str], None] = print
               ) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of the sweep CSV; every empty measured cell is logged with its reason."""
    spec, task = runner.spec, sweep_task(runner)
    keys = swept_keys(spec)
    header = [*ID_COLUMNS, *keys, *columns(task)]
    eval_settings = spec.eval.model_dump()
    rows: list[dict[str, Any]] = []
    for cell in runner.cells:
        run = runner.run_dir(cell)
        cache_path = runner.folder / f"{cell.run_id}.row.json"
        key = _cache_key(run, eval_settings)
        cached = read_json(cache_path)
        if cached and cached.get("key") == key and cached.get("status") == "finished":
            measured, reasons = cached["row"], cached["reasons"]
        else:
            measured, reasons = collect_row(run.path, task, evaluate)
            if measured.get("status") == "finished":
                atomic_write_json(cache_path, {"key": key, "status": "finished", "row": measured, "reasons": reasons},
                                  durable=False)
        config = _read_config(run)
        row: dict[str, Any] = {"run_id": cell.run_id, "config_id": cell.config_id, "seed": cell.seed}
        for k in keys:
            found, value = nested_get(config, k)
            if found:
                row[k] = "none" if value is None else value
            else:
                row[k] = "none" if cell.values.get(k) is None else cell.values.get(k)
                if run.exists():
                    reasons[k] = f"{k} is not in {run.config}; the sweep's value is shown"
        row.update(measured)
        for column, reason in sorted(reasons.items()):
            log(f"{cell.run_id}: {column} empty: {reason}" if row.get(column) in (None, "") else
                f"{cell.run_id}: {column}: {reason}")
        rows.append(row)
    if spec.baseline:
        _advise_against_baseline(runner, rows)
    return header, rows


def _matches(row: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(row.get(k) == ("none" if v is None else v) for k, v in wanted.items())


def _advise_against_baseline(runner: SweepRunner, rows: list[dict[str, Any]]) -> None:
    """Replay the advisor over every other run with the baseline runs' mean final eval figures."""
    from hrm.advisor import replay

    base_rows = [r for r in rows if _matches(r, runner.spec.baseline)]
    baseline: dict[str, float] = {}
    for column, metric in (("eval_exact_accuracy", "exact_accuracy"), ("eval_accuracy", "accuracy")):
        values = [float(r[column]) for r in base_rows if isinstance(r.get(column), (int, float))
                  and math.isfinite(r[column])]
        if values:
            baseline[metric] = sum(values) / len(values)
    if not baseline:
        return
    for row in rows:
        run = runner.logs_dir / row["run_id"]
        if row in base_rows or not run.is_dir():
            continue
        row["advisor"] = " ".join(sorted({e["rule"] for e in replay(run, baseline=baseline)}))
