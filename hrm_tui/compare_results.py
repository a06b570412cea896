"""Reading `hrm compare`'s results.json (schema in docs/ARCHITECTURE.md) into table rows.

Kept apart from the screen so the schema handling is tested on its own; a file that does not
match the schema raises ValueError naming the missing part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class PassAtK:
    model: str
    arch: str
    k: int
    mean: float
    ci_low: float
    ci_high: float
    seeds: int


def _pct(x: Any) -> str:
    return "-" if not isinstance(x, (int, float)) or not math.isfinite(x) else f"{100 * x:.1f}%"


def _num(x: Any, fmt: str = "{:.3g}") -> str:
    return "-" if not isinstance(x, (int, float)) or not math.isfinite(x) else fmt.format(x)


def pass_at_k(results: dict[str, Any]) -> list[PassAtK]:
    """One entry per (model, k) in the order of `models` and `ks`."""
    if not isinstance(results, dict):
        raise ValueError("results.json must hold a JSON object")
    for key in ("ks", "models", "pass_at_k"):
        if key not in results:
            raise ValueError(f"results.json has no '{key}' (is it from hrm compare --json?)")
    out = []
    for model in results["models"]:
        name = str(model.get("name"))
        table = results["pass_at_k"].get(name)
        if table is None:
            raise ValueError(f"results.json: pass_at_k has no entry for model '{name}'")
        for k in results["ks"]:
            cell = table.get(str(k), table.get(k))
            if not isinstance(cell, dict) or "mean" not in cell:
                continue
            out.append(PassAtK(name, str(model.get("arch", "")), int(k), float(cell["mean"]),
                               float(cell.get("ci_low", cell["mean"])), float(cell.get("ci_high", cell["mean"])),
                               len(cell.get("per_seed") or [])))
    return out


def model_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """Model, arch, params, passes per answer, wall time, then 'mean [lo, hi]' per k."""
    cells = {(p.model, p.k): p for p in pass_at_k(results)}
    rows = []
    for model in results["models"]:
        name = str(model.get("name"))
        params = model.get("params")
        row = [name, str(model.get("arch", "")),
               _num(params / 1e6, "{:.2f}M") if isinstance(params, (int, float)) else "-",
               _num(model.get("forward_passes_per_answer"), "{:.1f}"),
               _num(model.get("wall_time_s"), "{:.0f} s"), str(len(model.get("seeds") or []))]
        for k in results["ks"]:
            p = cells.get((name, int(k)))
            row.append("-" if p is None else f"{_pct(p.mean)} [{_pct(p.ci_low)}, {_pct(p.ci_high)}]")
        rows.append(tuple(row))
    return rows


def comparison_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
    for c in results.get("comparisons") or []:
        rows.append((f"{c.get('a')} vs {c.get('b')}", str(c.get("k")),
                     f"{_pct(c.get('diff'))} [{_pct(c.get('ci_low'))}, {_pct(c.get('ci_high'))}]",
                     _num(c.get("welch_t")), _num(c.get("welch_p")), _num(c.get("cohens_d")),
                     _num(c.get("hedges_g")), _num(c.get("mcnemar_p"))))
    return rows


def gate_text(results: dict[str, Any]) -> str:
    gate = results.get("gate")
    if not isinstance(gate, dict):
        return ""
    verdict = "[b green]gate passed[/]" if gate.get("passed") else "[b red]gate failed[/]"
    return f"{verdict}: {gate.get('reason', '')}"
