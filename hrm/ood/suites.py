"""The out-of-distribution suites behind `hrm ood`: one CSV row per length, density or data size.

- length (sort): the trained model scored at other sequence lengths. A length the dataset has as
  `test_len<L>` is scored there; others up to the model's sequence length are built (cache).
  Longer than the model's sequence length cannot be scored (its positions end there): the row
  says so; train on a dataset built with `--test-lengths` to size the model for them.
- density (sudoku): the trained model scored on puzzles with other numbers of givens (built).
- lowdata (any task): the run's config retrained on 500 / 1k / 2k / 5k / 10k training groups as
  ordinary runs (hrm.sweep's runner: resumable, --jobs), each scored on the same test split; the
  source run itself is the full-data row.
Rows hold the task figures of hrm.sweep.task_metrics, verifier-checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrm.errors import UserError
from hrm.sweep.task_metrics import DIAG_COLUMNS, Figures, task_columns

SUITES = ("length", "density", "lowdata")
DEFAULT_LENGTHS = (16, 20, 24)
DEFAULT_SIZES = (500, 1000, 2000, 5000, 10000)
DENSITY_OFFSETS = (-16, -8, 0, 8)  # default density ranges: the trained givens range shifted by these
_LEN_SPLIT = re.compile(r"^test_len(\d+)$")


@dataclass
class SuiteResult:
    suite: str
    header: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # for the manifest


def _header(suite: str, task: str, extra: list[str]) -> list[str]:
    return ["suite", "source", "value", "split", "in_distribution", *extra, "examples", *task_columns(task),
            *DIAG_COLUMNS]


def _row(suite: str, source: str, value: Any, split: str, in_dist: bool, figures: Figures | None, reason: str = ""
         ) -> tuple[dict[str, Any], dict[str, str]]:
    row: dict[str, Any] = {"suite": suite, "source": source, "value": value, "split": split,
                           "in_distribution": in_dist}
    reasons: dict[str, str] = {}
    if figures is not None:
        row.update(figures.values)
        reasons.update(figures.reasons)
    return row, reasons if figures is not None else {"*": reason}


def _note_missing(notes: list[str], header: list[str], row: dict[str, Any], reasons: dict[str, str]) -> None:
    label = f"{row['suite']} {row['value']}"
    if "*" in reasons:
        notes.append(f"{label}: not scored: {reasons['*']}")
        return
    for column in header:
        if row.get(column) is None and column in reasons:
            notes.append(f"{label}: {column} empty: {reasons[column]}")


def _loaded_run(source: str, device: str = "cpu"):
    from hrm.eval.evaluate import load_run

    return load_run(source, device=device)


# --------------------------------------------------------------------------------------------------


def length_suite(source: str, lengths: list[int], cache: Path, num_test: int, max_examples: int = 0,
                 batch_size: int = 256) -> SuiteResult:
    from hrm.data.format import list_splits, read_build_info, read_metadata
    from hrm.ood.datasets import sort_length_set
    from hrm.sweep.task_metrics import evaluate_loaded

    run = _loaded_run(source)
    cfg = run.config
    if cfg.data.task != "sort":
        raise UserError(f"{source}: the length suite needs a sort run (this one is {cfg.data.task}); maze and "
                        "Sudoku grids have a fixed size in their builders")
    root = Path(cfg.data.path)
    info = read_build_info(root) or {}
    args = info.get("args") or {}
    trained = tuple(args.get("length") or ())
    seq_len = read_metadata(root / "train").seq_len
    splits = {int(m.group(1)): s for s in list_splits(root) if (m := _LEN_SPLIT.match(s))}
    if len(trained) == 2 and trained[0] == trained[1]:
        splits.setdefault(int(trained[0]), "test")
    wanted = sorted(set(lengths) | ({int(trained[0])} if len(trained) == 2 and trained[0] == trained[1] else set()))
    header = _header("length", "sort", [])
    result = SuiteResult("length", header, [])
    for length in wanted:
        in_dist = bool(trained) and trained[0] <= length <= trained[1]
        if length in splits:
            data_root, split = root, splits[length]
        elif length <= seq_len:
            data_root = sort_length_set(cache, length, seq_len, int(args.get("key_range", 64)), num_test,
                                        int(args.get("seed", 0)) + 1000 + length)
            split = "test"
        else:
            row, reasons = _row("length", source, length, "", in_dist, None,
                                f"the model was built for sequences of {seq_len}; retrain on a dataset built with "
                                f"`hrm build-data sort --test-lengths {length}` to size it for {length}")
            result.rows.append(row)
            _note_missing(result.notes, header, row, reasons)
            continue
        figures = evaluate_loaded(run, data_root, split, max_examples, batch_size)
        row, reasons = _row("length", source, length, f"{data_root}:{split}" if data_root != root else split, in_dist,
                            figures)
        result.rows.append(row)
        _note_missing(result.notes, header, row, reasons)
    result.runs = [{"run_id": run.run_dir.name, "path": str(run.run_dir), "values": {"lengths": wanted}}]
    return result


def parse_range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        raise UserError(f"--values {text!r}: a givens range is LOW-HIGH, e.g. 30-34") from None
    if not 17 <= a <= b <= 80:
        raise UserError(f"--values {text!r}: givens need 17 <= low <= high <= 80")
    return a, b


def default_densities(trained: tuple[int, int] | None) -> list[tuple[int, int]]:
    lo, hi = trained or (46, 54)
    out = []
    for d in DENSITY_OFFSETS:
        a, b = max(17, lo + d), min(80, hi + d)
        if a <= b and (a, b) not in out:
            out.append((a, b))
    return out


def density_suite(source: str, ranges: list[tuple[int, int]] | None, cache: Path, num_test: int,
                  max_examples: int = 0, batch_size: int = 256) -> SuiteResult:
    from hrm.data.format import read_build_info
    from hrm.ood.datasets import givens_of, sudoku_density_set
    from hrm.sweep.task_metrics import evaluate_loaded

    run = _loaded_run(source)
    cfg = run.config
    if cfg.data.task != "sudoku":
        raise UserError(f"{source}: the density suite needs a Sudoku run (this one is {cfg.data.task})")
    args = (read_build_info(Path(cfg.data.path)) or {}).get("args") or {}
    trained = tuple(args["givens"]) if isinstance(args.get("givens"), list) and len(args["givens"]) == 2 else None
    difficulty = str(args.get("difficulty") or "easy")
    ranges = ranges or default_densities(trained)  # type: ignore[arg-type]
    header = _header("density", "sudoku", ["givens_min", "givens_mean", "givens_max"])
    result = SuiteResult("density", header, [])
    for lo, hi in ranges:
        root = sudoku_density_set(cache, (lo, hi), difficulty, num_test, int(args.get("seed", 0)) + 1000 + lo)
        figures = evaluate_loaded(run, root, "test", max_examples, batch_size)
        for k, v in givens_of(root).items():
            figures.values[f"givens_{k}"] = v
        in_dist = trained is not None and trained[0] <= lo and hi <= trained[1]
        row, reasons = _row("density", source, f"{lo}-{hi}", str(root), in_dist, figures)
        result.rows.append(row)
        _note_missing(result.notes, header, row, reasons)
    if trained is None:
        result.notes.append("the training data has no givens range in its hrm.json: in_distribution is unknown "
                            "(shown false)")
    result.runs = [{"run_id": run.run_dir.name, "path": str(run.run_dir), "values": {"givens": [list(r) for r in ranges]}}]
    return result


def lowdata_suite(source: str, sizes: list[int], seeds: list[int] | None, cache: Path, logs_dir: Path, jobs: int,
                  max_examples: int = 0, batch_size: int = 256, echo: Callable[[str], None] = print,
                  train_command: list[str] | None = None) -> SuiteResult:
    from hrm.ood.datasets import subsample_train
    from hrm.sweep.collect import file_figures
    from hrm.sweep.runner import SweepRunner
    from hrm.sweep.spec import Cell, SweepSpec
    from hrm.sweep.task_metrics import evaluate_checkpoint, evaluate_loaded

    run = _loaded_run(source)
    cfg = run.config
    root = Path(cfg.data.path)
    seeds = seeds or [int(cfg.seed)]
    name = f"{run.run_dir.name}-lowdata"
    cells = []
    for size in sizes:
        data, _kept = subsample_train(root, cache, size, seed=0)
        values = {"data.path": str(data), "data.build": ""}
        for seed in seeds:
            cells.append(Cell(f"n{size}", seed, values, f"{name}-n{size}-s{seed}"))
    base = (run.run_dir / "config.yaml").resolve()
    runner = SweepRunner(SweepSpec(name=name, base=str(base)), base, logs_dir, jobs=jobs, echo=echo,
                         train_command=train_command)
    runner.cells = cells
    runner.prepare()
    runner.run()

    task = cfg.data.task
    header = _header("lowdata", task, ["seed", "train_groups", "status", "train_time_s"])
    result = SuiteResult("lowdata", header, [])
    full = evaluate_loaded(run, root, cfg.data.eval_split, max_examples, batch_size)
    full_groups = _train_groups(root)
    row, reasons = _row("lowdata", source, full_groups, cfg.data.eval_split, True, full)
    row.update(seed=int(cfg.seed), train_groups=full_groups, status="source")
    result.rows.append(row)
    _note_missing(result.notes, header, row, reasons)
    for cell in cells:
        run_dir = runner.run_dir(cell)
        kept = _train_groups(Path(cell.values["data.path"]))
        status = str(file_figures(run_dir).values.get("status"))
        if status != "finished":
            row, reasons = _row("lowdata", cell.run_id, int(cell.config_id[1:]), cfg.data.eval_split, False, None,
                                f"the run is {status}: run the suite again to resume it")
            row.update(seed=cell.seed, train_groups=kept, status=status)
            result.rows.append(row)
            _note_missing(result.notes, header, row, reasons)
            continue
        try:
            figures = evaluate_checkpoint(run_dir.path, split=cfg.data.eval_split, data_path=root,
                                          max_examples=max_examples, batch_size=batch_size)
            row, reasons = _row("lowdata", cell.run_id, int(cell.config_id[1:]), cfg.data.eval_split, False, figures)
        except UserError as exc:
            row, reasons = _row("lowdata", cell.run_id, int(cell.config_id[1:]), cfg.data.eval_split, False, None,
                                str(exc))
        row.update(seed=cell.seed, train_groups=kept, status=status)
        result.rows.append(row)
        _note_missing(result.notes, header, row, reasons)
    result.runs = [{"run_id": c.run_id, "path": str(runner.run_dir(c).path), "config_id": c.config_id,
                    "seed": c.seed, "values": {"train_groups": _train_groups(Path(c.values["data.path"]))}}
                   for c in cells]
    return result


def _train_groups(root: Path) -> int:
    from hrm.data.format import read_metadata

    return int(read_metadata(Path(root) / "train").total_groups)


def advise(result: SuiteResult, main_split: str = "test") -> list[dict[str, Any]]:
    """The advisor's reading of a length suite: eval records per length into hrm.advisor."""
    from hrm.advisor import Advisor

    if result.suite != "length":
        return []
    advisor = Advisor(main_split=main_split)
    records = []
    for row in result.rows:
        if row.get("accuracy") is None:
            continue
        split = main_split if row["in_distribution"] else f"test_len{row['value']}"
        records.append({"kind": "eval", "step": 0, "split": split, "accuracy": row["accuracy"],
                        "exact_accuracy": row.get("perfect_sort_rate")})
    records.sort(key=lambda r: r["split"] != main_split)  # the trained length first
    return advisor.observe_all(records)
