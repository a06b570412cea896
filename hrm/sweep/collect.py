"""One CSV row per run, every figure read from the run's files or measured on its checkpoint.

From the files: status, steps, tokens_per_s (median over train records after the first, which
includes start-up), peak_mem_gb (largest train `peak_mem_gb` or system `cuda_max_alloc_gb`), the
last eval record (eval_exact_accuracy, eval_accuracy) and the advisor's diagnoses replayed over the
run. From the checkpoint (hrm.sweep.task_metrics): train_time_s, the task figures and the routing
figures. A figure that is missing is left empty and its reason is kept (and logged by the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

from hrm.rundir import RunDir, read_jsonl, run_status
from hrm.sweep.task_metrics import DIAG_COLUMNS, Figures, task_columns

FILE_COLUMNS = ("status", "steps", "tokens_per_s", "peak_mem_gb", "eval_exact_accuracy", "eval_accuracy")
# evaluate(run_dir) -> Figures; the default loads the checkpoint (torch), tests may pass another.
Evaluator = Callable[[Path], Figures]


def columns(task: str) -> list[str]:
    """Measured columns of a sweep CSV for a task, in order."""
    return ["status", "steps", "train_time_s", "tokens_per_s", "peak_mem_gb", *task_columns(task), *DIAG_COLUMNS,
            "eval_exact_accuracy", "eval_accuracy", "advisor"]


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def file_figures(run: RunDir) -> Figures:
    """What the run's own files say."""
    out = Figures()
    status = run_status(run)
    out.values["status"] = status.state  # type: ignore[assignment]
    records = read_jsonl(run.metrics)
    train = [r for r in records if r.get("kind") == "train"]
    steps = [r["step"] for r in records if isinstance(r.get("step"), int)]
    out.values["steps"] = float(max(steps)) if steps else None
    if not steps:
        out.reasons["steps"] = "metrics.jsonl holds no records"
    speeds = [v for r in train[1:] if (v := _finite(r.get("tokens_per_s"))) is not None]
    if not speeds:  # one record only: it is all there is
        speeds = [v for r in train if (v := _finite(r.get("tokens_per_s"))) is not None]
    out.values["tokens_per_s"] = median(speeds) if speeds else None
    if not speeds:
        out.reasons["tokens_per_s"] = "no train record with tokens_per_s (did the run log a train record?)"
    mems = [v for r in records if (v := _finite(r.get("peak_mem_gb") if r.get("kind") == "train"
                                               else r.get("cuda_max_alloc_gb"))) is not None]
    out.values["peak_mem_gb"] = max(mems) if mems else None
    if not mems:
        out.reasons["peak_mem_gb"] = "no train record with peak_mem_gb"
    evals = [r for r in records if r.get("kind") == "eval"]
    last = evals[-1] if evals else {}
    for column, key in (("eval_exact_accuracy", "exact_accuracy"), ("eval_accuracy", "accuracy")):
        out.values[column] = _finite(last.get(key))
        if out.values[column] is None:
            out.reasons[column] = "no eval record" if not evals else f"the last eval record has no {key}"
    return out


def checkpoint_evaluator(split: str = "", max_examples: int = 0, batch_size: int = 256) -> Evaluator:
    def evaluate(run_dir: Path) -> Figures:
        from hrm.sweep.task_metrics import evaluate_checkpoint

        return evaluate_checkpoint(run_dir, split=split, max_examples=max_examples, batch_size=batch_size)

    return evaluate


def collect_row(run_dir: Path, task: str, evaluate: Evaluator | None,
                advisor_kwargs: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The measured columns of one run and the reasons for those left empty."""
    from hrm.advisor import replay
    from hrm.errors import UserError

    run = RunDir(run_dir)
    figures = file_figures(run)
    wanted = [c for c in columns(task) if c not in ("advisor",)]
    if not run.exists():
        figures.missing(wanted, f"{run_dir} does not exist")
    elif figures.values.get("status") != "finished":
        figures.missing(wanted, f"the run is {figures.values.get('status')}, not finished: run the sweep again to "
                                "resume it (its checkpoint is not scored, so no row mixes in a half-trained model)")
    elif evaluate is None:
        figures.missing(wanted, "checkpoint evaluation was turned off")
    else:
        try:
            figures.update(evaluate(Path(run_dir)))
        except UserError as exc:  # no checkpoint yet, data moved, ...: the row says why
            figures.missing(wanted, f"checkpoint not evaluated: {exc}")
    figures.missing(wanted, "not measured")
    row: dict[str, Any] = {c: figures.values.get(c) for c in wanted}
    row["advisor"] = " ".join(sorted({e["rule"] for e in replay(run_dir, **(advisor_kwargs or {}))})) \
        if run.exists() else ""
    return row, {k: v for k, v in figures.reasons.items() if row.get(k) is None}
