"""CSV files and Rich tables for sweeps and OOD suites.

Cells are written as numbers with 6 significant digits, text as is, and an empty cell where a
figure is missing (the reason goes to the log, never into the number)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from statistics import mean, stdev
from typing import Any

from hrm.rundir import atomic_write_text


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:.6g}"
    return str(value)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    """Write atomically: a reader (or a crash) never sees half a file."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([format_cell(row.get(h)) for h in header])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue(), durable=False)
    return path


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def mean_sd(values: list[float]) -> str:
    """`0.812 ± 0.031` over seeds; `0.812` for one value; empty for none."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{mean(values):.4g} ± {stdev(values):.2g}"


def summarize(rows: Sequence[dict[str, Any]], group_by: Sequence[str], metrics: Sequence[str]) -> list[dict[str, str]]:
    """One line per group (in first-seen order): the group's keys, n, and mean ± sd of each metric."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(format_cell(row.get(k)) for k in group_by), []).append(row)
    out = []
    for key, members in groups.items():
        line = dict(zip(group_by, key, strict=True))
        line["n"] = str(len(members))
        for metric in metrics:
            values = [float(v) for r in members if isinstance(v := r.get(metric), (int, float)) and math.isfinite(v)]
            line[metric] = mean_sd(values)
        out.append(line)
    return out


def print_table(title: str, header: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for h in header:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*[format_cell(row.get(h)) for h in header])
    Console().print(table)
