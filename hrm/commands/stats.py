from __future__ import annotations

from pathlib import Path

import typer


def stats(
    csv_file: Path = typer.Argument(..., help="A sweep or OOD CSV (one row per run).", show_default=False),
    group_by: str = typer.Option(..., "--group-by", help="Column whose values form the groups, e.g. model.controller."),
    metric: list[str] = typer.Option(None, "--metric", "-m",
                                     help="Column(s) to compare (repeat the option); default: the task metrics."),
    baseline: str = typer.Option(None, "--baseline", help="Compare every group with this one (default: all pairs)."),
    confidence: float = typer.Option(0.95, min=0.5, max=0.999, help="Confidence level of the bootstrap intervals."),
    out: Path = typer.Option(None, "--out", help="Where to save the table (default: <CSV>.stats.csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparisons as JSON."),
) -> None:
    """Welch's t-test, Cohen's d / Hedges' g and bootstrap CIs between groups of a sweep, printed and saved."""
    import json

    from hrm.errors import UserError
    from hrm.sweep.group_stats import compare_groups, default_metrics
    from hrm.sweep.report import print_table, read_csv, write_csv

    if not csv_file.is_file():
        raise UserError(f"{csv_file}: no such CSV; `hrm sweep` writes one to logs/sweeps/<name>.csv")
    header, rows = read_csv(csv_file)
    if group_by not in header:
        raise UserError(f"--group-by {group_by}: not a column of {csv_file}; columns: {', '.join(header)}")
    metrics = list(metric or default_metrics(header))
    unknown = [m for m in metrics if m not in header]
    if unknown or not metrics:
        raise UserError(f"--metric {', '.join(unknown) or '(none given, and no task metric found)'}: not a column of "
                        f"{csv_file}; columns: {', '.join(header)}")
    groups = list(dict.fromkeys(r.get(group_by, "") for r in rows))
    if baseline is not None and baseline not in groups:
        raise UserError(f"--baseline {baseline}: no such value of {group_by}; values: {', '.join(groups)}")
    if len(groups) < 2:
        raise UserError(f"{group_by} takes only {groups or 'no'} value(s) in {csv_file}: nothing to compare")

    comparisons, notes = compare_groups(rows, group_by, metrics, baseline, confidence)
    records = [c.to_dict() for c in comparisons]
    out = out or csv_file.with_name(csv_file.stem + ".stats.csv")
    columns = list(records[0]) if records else []
    write_csv(out, ["group_by", *columns], [{"group_by": group_by, **r} for r in records])
    if as_json:
        typer.echo(json.dumps({"csv": str(csv_file), "group_by": group_by, "confidence": confidence,
                               "comparisons": records, "notes": notes}, indent=2))
    else:
        pct = f"{confidence:.0%} CI"
        table = []
        for c in comparisons:
            table.append({
                "metric": c.metric, "a": f"{c.group_a} (n={c.n_a})", "b": f"{c.group_b} (n={c.n_b})",
                "mean a": _mean_ci(c.mean_a, c.ci_a_low, c.ci_a_high), "mean b": _mean_ci(c.mean_b, c.ci_b_low, c.ci_b_high),
                f"a - b [{pct}]": _mean_ci(c.diff, c.diff_ci_low, c.diff_ci_high),
                "Welch t (df)": "" if c.welch_t is None else f"{c.welch_t:.3g} ({c.welch_df:.3g})",
                "p": "" if c.welch_p is None else f"{c.welch_p:.3g}",
                "Cohen d": "" if c.cohens_d is None else f"{c.cohens_d:.3g}",
                "Hedges g": "" if c.hedges_g is None else f"{c.hedges_g:.3g}",
                "note": c.note,
            })
        print_table(f"{csv_file.name}: groups by {group_by} (bootstrap over runs)", list(table[0]) if table else [],
                    table)
        for n in notes:
            typer.echo(f"note: {n}")
    typer.echo(f"saved {out}", err=as_json)


def _mean_ci(point: float | None, low: float | None, high: float | None) -> str:
    if point is None:
        return ""
    if low is None or high is None:
        return f"{point:.4g}"
    return f"{point:.4g} [{low:.4g}, {high:.4g}]"
