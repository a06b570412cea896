from __future__ import annotations

from pathlib import Path

import typer


def ood(
    source: str = typer.Argument(..., help="A run (folder, id or id prefix under --logs-dir) or a checkpoint file "
                                 "run/checkpoints/step-N.pt.", show_default=False),
    suite: str = typer.Option("length", "--suite", help="length (sort), density (sudoku givens) or lowdata."),
    values: str = typer.Option(None, "--values", help="length: 16,20,24; density: givens ranges 30-34,38-42; "
                               "lowdata: training groups 500,1000,2000,5000,10000."),
    seeds: str = typer.Option(None, "--seeds", help="lowdata: seeds of the retrained runs (default: the run's)."),
    num_test: int = typer.Option(500, "--num-test", min=1, help="Puzzles per built test set."),
    max_examples: int = typer.Option(0, "--max-examples", min=0, help="Score only the first N of each split (0 = all)."),
    cache: Path = typer.Option(None, "--cache", help="Folder for built test sets (default: data/cache/ood)."),
    logs_dir: Path = typer.Option(Path("logs"), "--logs-dir", help="Folder holding the run directories."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="lowdata: runs at a time."),
    out: Path = typer.Option(None, "--out", help="CSV path (default: <logs>/sweeps/<run>-ood-<suite>.csv)."),
) -> None:
    """Out-of-distribution suites: length extrapolation, clue density, low data; to CSV and a table."""
    from hrm.errors import UserError
    from hrm.ood.datasets import CACHE_DIR
    from hrm.ood.suites import (
        DEFAULT_LENGTHS,
        DEFAULT_SIZES,
        SUITES,
        advise,
        density_suite,
        length_suite,
        lowdata_suite,
        parse_range,
    )
    from hrm.rundir import find_run
    from hrm.sweep.manifest import sweeps_dir, write_manifest
    from hrm.sweep.report import print_table, write_csv

    if suite not in SUITES:
        raise UserError(f"--suite {suite!r}: choose one of {', '.join(SUITES)}")
    path = Path(source)
    if not path.exists():
        try:
            path = find_run(source, logs_dir).path
        except FileNotFoundError as exc:
            raise UserError(str(exc)) from None
    cache = cache or CACHE_DIR
    items = [v.strip() for v in (values or "").split(",") if v.strip()]

    def ints(what: str, texts: list[str]) -> list[int]:
        try:
            found = [int(t) for t in texts]
        except ValueError:
            raise UserError(f"--{what} {','.join(texts)!r}: expected whole numbers separated by commas") from None
        if any(v < 1 for v in found):
            raise UserError(f"--{what}: every value must be at least 1")
        return found

    if suite == "length":
        result = length_suite(str(path), ints("values", items) or list(DEFAULT_LENGTHS), cache, num_test, max_examples)
    elif suite == "density":
        result = density_suite(str(path), [parse_range(v) for v in items] or None, cache, num_test, max_examples)
    else:
        seed_list = ints("seeds", [s.strip() for s in (seeds or "").split(",") if s.strip()]) or None
        result = lowdata_suite(str(path), ints("values", items) or list(DEFAULT_SIZES), seed_list, cache, logs_dir,
                               jobs, max_examples, echo=typer.echo)

    run_dir = path.parent.parent if path.is_file() else path
    name = f"{run_dir.name}-ood-{suite}"
    csv_path = out or sweeps_dir(logs_dir) / f"{name}.csv"
    write_csv(csv_path, result.header, result.rows)
    write_manifest(logs_dir, name, "ood", str(path), ["value"], result.runs, csv_path)
    shown = [h for h in result.header if h not in ("suite", "source")]
    print_table(f"{suite} suite: {path}", shown, result.rows)
    for note in result.notes:
        typer.echo(f"note: {note}")
    for event in advise(result):
        typer.secho(f"advisor: {event['message']}\n  fix: {event['hint']}", fg="yellow")
    typer.echo(f"wrote {csv_path} ({len(result.rows)} rows)")
