from __future__ import annotations

from pathlib import Path

import typer


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable results."),
    recheck: bool = typer.Option(False, "--recheck", help="Test torch.compile again instead of using the cached result."),
    logs_dir: Path = typer.Option(Path("logs"), help="Run folder to check."),
    data_dir: Path = typer.Option(Path("data"), help="Dataset folder to check."),
    compile_timeout: float = typer.Option(90.0, help="Seconds before the torch.compile probe counts as hung."),
) -> None:
    """Verify python, torch, device, dtypes, attention backend, compile, disk and datasets."""
    from rich.console import Console
    from rich.table import Table

    from hrm import doctor as doc

    checks = doc.run_checks(logs_dir=logs_dir, data_dir=data_dir, compile_timeout_s=compile_timeout, recheck=recheck)
    status = doc.overall(checks)
    if as_json:
        typer.echo(doc.to_json(checks))
    else:
        style = {doc.OK: "green", doc.WARN: "yellow", doc.FAIL: "bold red"}
        table = Table(title="hrm doctor", title_justify="left", expand=False)
        table.add_column("check", style="bold")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        table.add_column("hint", overflow="fold", style="dim")
        for c in checks:
            table.add_row(c.name, f"[{style[c.status]}]{c.status}[/]", c.detail, c.hint)
        console = Console()
        console.print(table)
        counts = {s: sum(c.status == s for c in checks) for s in (doc.OK, doc.WARN, doc.FAIL)}
        console.print(
            f"[{style[status]}]{status}[/]: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
        )
    raise typer.Exit(1 if status == doc.FAIL else 0)
