from __future__ import annotations

from pathlib import Path

import typer


def sweep(
    spec_file: str = typer.Argument(..., help="A sweep YAML (path, or a name in configs/sweeps/).",
                                    show_default=False),
    overrides: list[str] = typer.Argument(None, help="key=value for every run, e.g. train.max_steps=100.",
                                          show_default=False),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Runs at a time; each gets cores / jobs threads."),
    logs_dir: Path = typer.Option(Path("logs"), "--logs-dir", help="Folder holding the run directories."),
    out: Path = typer.Option(None, "--out", help="CSV path (default: <logs>/sweeps/<name>.csv)."),
    evaluate: bool = typer.Option(True, "--evaluate/--no-evaluate",
                                  help="Score each run's checkpoint for the task columns (off: files only)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs and their commands; train nothing."),
) -> None:
    """Train every cell of a grid or list over config keys x seeds as ordinary runs, then write one CSV
    row per run (config id, seed, swept values, speed, memory, task and routing figures). Rerunning
    skips finished runs and resumes unfinished ones."""
    import shlex

    from hrm.config import load_config
    from hrm.sweep.collect import checkpoint_evaluator
    from hrm.sweep.manifest import sweeps_dir
    from hrm.sweep.report import print_table, summarize, write_csv
    from hrm.sweep.results import sweep_rows, sweep_task
    from hrm.sweep.runner import SweepRunner
    from hrm.sweep.spec import load_sweep, swept_keys
    from hrm.sweep.task_metrics import task_columns
    from hrm.train.config import RunConfig
    from hrm.train.launch import _ensure_dataset

    spec, path = load_sweep(spec_file)
    runner = SweepRunner(spec, path, logs_dir, jobs=jobs, echo=typer.echo, overrides=list(overrides or []))
    datasets: dict[str, RunConfig] = {}

    def check(base: Path, cell_overrides: list[str]) -> None:
        cfg = load_config(RunConfig, base, cell_overrides)
        datasets.setdefault(cfg.data.path, cfg)

    runner.prepare(check=check)
    if not dry_run:  # build missing datasets once here, not in several parallel runs at the same time
        for cfg in datasets.values():
            _ensure_dataset(cfg, typer.echo)
    from hrm.sweep.runner import available_cores

    if jobs > available_cores():
        typer.secho(f"warning: --jobs {jobs} exceeds the {available_cores()} core(s) here: runs will share cores "
                    "and each will be slower (their tokens_per_s too)", fg="yellow", err=True)
    typer.echo(f"sweep {spec.name}: {len(runner.cells)} runs ({len(runner.cells) // len(spec.seeds)} settings x "
               f"{len(spec.seeds)} seeds), {jobs} at a time, {runner.threads} thread(s) each")
    if dry_run:
        from hrm.sweep.runner import cell_state

        for cell in runner.cells:
            state = cell_state(runner.run_dir(cell))
            typer.echo(f"{cell.run_id} [{state}]: {shlex.join(runner.command(cell, state))}")
        return
    outcomes = runner.run()
    csv_path = out or sweeps_dir(logs_dir) / f"{spec.name}.csv"
    log_path = runner.folder / "missing.log"
    notes: list[str] = []
    evaluator = checkpoint_evaluator(spec.eval.split, spec.eval.max_examples, spec.eval.batch_size) if evaluate else None
    header, rows = sweep_rows(runner, evaluator, log=notes.append)
    write_csv(csv_path, header, rows)
    log_path.write_text("".join(f"{n}\n" for n in notes))
    runner.write_manifest(csv_path)

    keys = swept_keys(spec)
    metrics = [m for m in ("train_time_s", "tokens_per_s", *task_columns(sweep_task(runner))) if m in header]
    print_table(f"sweep {spec.name} (mean ± sd over seeds)", ["config_id", *keys, "n", *metrics],
                summarize(rows, ["config_id", *keys], metrics))
    if notes:
        typer.echo(f"{len(notes)} empty or noted cell(s), reasons in {log_path}")
    failed = [o for o in outcomes if o.action == "failed"]
    typer.echo(f"wrote {csv_path} ({len(rows)} rows) and {runner.folder.parent / (spec.name + '.json')}")
    if failed:
        typer.secho(f"{len(failed)} run(s) failed: " + ", ".join(f"{o.cell.run_id} (log {o.log})" for o in failed),
                    fg="red", err=True)
        raise typer.Exit(1)
