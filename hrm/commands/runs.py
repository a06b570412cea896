from __future__ import annotations

from pathlib import Path

import typer


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def runs(
    logs_dir: Path = typer.Option(Path("logs"), help="Folder holding the run directories."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable results."),
) -> None:
    """List runs in logs/ with status and headline figures."""
    import json
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from hrm.rundir import list_runs, summarize

    summaries = [summarize(r) for r in list_runs(logs_dir)]
    if as_json:
        typer.echo(json.dumps([{**asdict(s), "path": str(s.path)} for s in summaries], indent=2))
        return
    console = Console()
    if not summaries:
        console.print(f"No runs in {logs_dir}/ yet. Start one with [bold]hrm train sudoku_demo_cpu[/] or [bold]hrm tui[/].")
        return
    table = Table(title=f"runs in {logs_dir}/", title_justify="left")
    table.add_column("run", no_wrap=True)  # ids are copied into --attach/--resume: never wrap them
    for col in ("state", "arch", "step", "time", "train loss", "best exact", "cell acc", "errors"):
        table.add_column(col, justify="left" if col in ("state", "arch") else "right")
    colors = {"running": "green", "finished": "cyan", "crashed": "red", "stale": "yellow", "restarting": "yellow"}
    for s in summaries:
        state = f"[{colors.get(s.state, 'white')}]{s.state}[/]"
        loss = "-" if s.train_loss is None else f"{s.train_loss:.4f}"
        table.add_row(s.run_id, state, s.arch, str(s.step), _fmt_duration(s.elapsed_s), loss,
                      _pct(s.eval_exact), _pct(s.eval_accuracy), str(s.errors or ""))
    console.print(table)
