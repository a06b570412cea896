"""Render results.json for people: Rich tables for the terminal, Markdown for docs/RESULTS.md.

Both show the same rows: one table per k (Pass@k with CI per model, the difference from the
candidate with its CI, Welch's t / p across seeds, Cohen's d / Hedges' g, McNemar p),
then the single-answer figures (exact, cell accuracy, label-exact, voting) and the compute used
(parameters, forward passes per answer, wall time).
"""

from __future__ import annotations

from typing import Any

COMPARISON_HEADERS = ["model", "Pass@{k} [CI]", "{cand} minus model [CI]", "Welch t / p", "d / g", "McNemar p"]
ACCURACY_HEADERS = ["model", "exact (verifier) [CI]", "label-exact", "cell acc.", "vote pass@1", "vote pass@2"]
COMPUTE_HEADERS = ["model", "params", "fwd/answer", "GFLOP/answer", "train time", "eval time", "seeds"]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def _p(x: float | None) -> str:
    if x is None:
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}K"


def _duration(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:.0f} s"


def comparison_rows(results: dict[str, Any], k: int) -> list[list[str]]:
    """One row per model for the Pass@k table (strings, shared by Rich and Markdown)."""
    cand = results["candidate"]
    by_pair = {c["b"]: c for c in results["comparisons"] if c["a"] == cand and c["k"] == k}
    rows = []
    for m in results["models"]:
        pk = results["pass_at_k"][m["name"]][str(k)]
        cell = f"{_pct(pk['mean'])} [{100 * pk['ci_low']:.1f}, {100 * pk['ci_high']:.1f}]"
        c = by_pair.get(m["name"])
        if c is None:
            diff = welch = eff = mc = "–"
        else:
            diff = f"{100 * c['diff']:+.1f} [{100 * c['ci_low']:+.1f}, {100 * c['ci_high']:+.1f}]"
            welch = f"{_num(c['welch_t'])} / {_p(c['welch_p'])}"
            eff = f"{_num(c['cohens_d'])} / {_num(c['hedges_g'])}"
            mc = _p(c["mcnemar_p"])
        rows.append([m["name"], cell, diff, welch, eff, mc])
    return rows


def accuracy_rows(results: dict[str, Any]) -> list[list[str]]:
    return [[m["name"], f"{_pct(m['exact_accuracy'])} [{100 * m['exact_ci_low']:.1f}, {100 * m['exact_ci_high']:.1f}]",
             _pct(m["label_exact"]), _pct(m["cell_accuracy"]),
             _pct(m["vote_pass_at_1"]), _pct(m["vote_pass_at_2"])] for m in results["models"]]


def compute_rows(results: dict[str, Any]) -> list[list[str]]:
    return [[m["name"], _params(m["params"]), _num(m["forward_passes_per_answer"], ".1f"),
             _num(None if m.get("flops_per_answer") is None else m["flops_per_answer"] / 1e9, ".3f"),
             _duration(m["wall_time_s"]), _duration(m["eval_wall_time_s"]), str(len(m["seeds"]))]
            for m in results["models"]]


def notes(results: dict[str, Any]) -> list[str]:
    """Why some statistics are missing, and which McNemar variant was used."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for c in results["comparisons"]:
        for key, text in c.get("notes", {}).items():
            grouped.setdefault((c["a"], c["b"], key, text), []).append(str(c["k"]))
    out = [f"{a} vs {b}, Pass@{'/'.join(ks)}, {key}: {text}" for (a, b, key, text), ks in grouped.items()]
    methods = sorted({c["mcnemar_method"] for c in results["comparisons"] if c["mcnemar_p"] is not None
                      and "mcnemar" not in c.get("notes", {})})
    if methods:
        out.append("McNemar variant(s): " + ", ".join(methods))
    if results.get("ks_skipped"):
        out.append(f"k = {results['ks_skipped']} not reported: some puzzle has fewer than k attempts "
                   f"(n = {results['n_samples']})")
    return out


def _headers(results: dict[str, Any], k: int) -> list[str]:
    return [h.format(k=k, cand=results["candidate"]) for h in COMPARISON_HEADERS]


def _rich_table(title: str, headers: list[str], rows: list[list[str]]):
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=(i == 0))
    for row in rows:
        table.add_row(*row)
    return table


def _titles(results: dict[str, Any]) -> dict[str, str]:
    level = round(100 * results.get("confidence", 0.95))
    return {
        "passk": (f"{results['n_puzzles']} puzzles, {results['n_samples']} attempts each, {level}% CIs; "
                  f"candidate {results['candidate']}; differences in percentage points"),
        "accuracy": "Single answers (canonical attempt) and augmentation voting",
        "compute": "Compute used (mean per seed)",
    }


def print_tables(results: dict[str, Any], console=None) -> None:
    from rich.console import Console

    console = console or Console()
    titles = _titles(results)
    console.print(titles["passk"])
    for k in results["ks"]:
        console.print(_rich_table(f"Pass@{k}", _headers(results, k), comparison_rows(results, k)))
    console.print(_rich_table(titles["accuracy"], ACCURACY_HEADERS, accuracy_rows(results)))
    console.print(_rich_table(titles["compute"], COMPUTE_HEADERS, compute_rows(results)))
    for line in notes(results):
        console.print(f"[dim]note: {line}[/]")
    g = results["gate"]
    console.print(f"gate: {'[green]passed[/]' if g['passed'] else '[red]failed[/]'}: {g['reason']}")


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown_report(results: dict[str, Any], title: str = "HRM vs baselines") -> str:
    parts = [f"# {title}", ""]
    if results.get("command"):
        parts += ["Reproduce with:", "", "```bash", results["command"], "```", ""]
    source = " ".join(x for x in (f"data {results['data']}" if results.get("data") else "",
                                  f"split {results['split']}" if results.get("split") else "") if x)
    parts += [(f"{source}: " if source else "") + _titles(results)["passk"] + ". Each attempt counts only when "
              "the task's verifier accepts it.", ""]
    for k in results["ks"]:
        parts += [f"## Pass@{k}", "", _md_table(_headers(results, k), comparison_rows(results, k)), ""]
    parts += [f"## {_titles(results)['accuracy']}", "", _md_table(ACCURACY_HEADERS, accuracy_rows(results)), ""]
    parts += [f"## {_titles(results)['compute']}", "", _md_table(COMPUTE_HEADERS, compute_rows(results)), ""]
    g = results["gate"]
    parts += ["## Gate", "", f"**{'passed' if g['passed'] else 'failed'}**: {g['reason']}", ""]
    parts += ["## How to read this", "",
              "- Pass@k: unbiased estimator 1 - C(n-c,k)/C(n,k) per puzzle (Chen et al. 2021), averaged over "
              "puzzles, then over seeds. CIs: bootstrap over puzzles (and over seeds when there are several).",
              f"- {results['candidate']} minus model: the difference in Pass@k, in percentage points, with a paired "
              "bootstrap CI (same puzzles).",
              f"- Welch t / p, d / g: {results['candidate']} vs the model, across seeds (one Pass@k per seed); Cohen's d with pooled SD, Hedges' g "
              "with the exact small-sample correction.",
              "- McNemar p: paired per-puzzle outcomes; a puzzle counts as solved when its Pass@k averaged over "
              "seeds exceeds 1/2.",
              "- exact (verifier): the canonical attempt only (no augmentation, greedy). Cell accuracy is per cell "
              "and is not puzzle accuracy. Voting: distinct answers over attempts ranked by votes.",
              "- fwd/answer: model forward calls per answer (HRM: ACT segments; GPT-2: decoding steps); "
              "GFLOP/answer: matmul FLOPs of one answer, from each model's own count.", ""]
    extra = notes(results)
    if extra:
        parts += ["## Notes", ""] + [f"- {n}" for n in extra] + [""]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# `hrm eval`: one run


def eval_summary(results: dict[str, Any]) -> dict[str, Any]:
    """The figures of a single-model results dict, flattened for `hrm eval --json`."""
    m = results["models"][0]
    pak = results["pass_at_k"][m["name"]]
    return {
        "run": m["runs"][0], "arch": m["arch"], "data": results.get("data"), "split": results.get("split"),
        "n_puzzles": results["n_puzzles"], "n_samples": results["n_samples"],
        "exact_accuracy": m["exact_accuracy"], "exact_ci_low": m["exact_ci_low"], "exact_ci_high": m["exact_ci_high"],
        "label_exact": m["label_exact"], "cell_accuracy": m["cell_accuracy"],
        "pass_at_k": {k: {f: v[f] for f in ("mean", "ci_low", "ci_high")} for k, v in pak.items()},
        "ks_skipped": results.get("ks_skipped", []),
        "vote_pass_at_1": m["vote_pass_at_1"], "vote_pass_at_2": m["vote_pass_at_2"],
        "params": m["params"], "forward_passes_per_answer": m["forward_passes_per_answer"],
        "train_wall_time_s": m["wall_time_s"], "eval_wall_time_s": m["eval_wall_time_s"],
        "settings": results.get("settings", {}),
    }


def print_eval(summary: dict[str, Any], console=None) -> None:
    from rich.console import Console

    console = console or Console()
    rows = [
        ["exact accuracy (verifier, canonical attempt)",
         f"{_pct(summary['exact_accuracy'])} [{100 * summary['exact_ci_low']:.1f}, {100 * summary['exact_ci_high']:.1f}]"],
        ["label-exact (canonical attempt)", _pct(summary["label_exact"])],
        ["cell accuracy (per cell, not per puzzle)", _pct(summary["cell_accuracy"])],
    ]
    rows += [[f"Pass@{k} ({summary['n_samples']} attempts)", f"{_pct(v['mean'])} [{100 * v['ci_low']:.1f}, "
              f"{100 * v['ci_high']:.1f}]"] for k, v in summary["pass_at_k"].items()]
    if summary["vote_pass_at_1"] is not None:
        rows += [["vote pass@1 / pass@2", f"{_pct(summary['vote_pass_at_1'])} / {_pct(summary['vote_pass_at_2'])}"]]
    rows += [["params", _params(summary["params"])],
             ["forward passes per answer", _num(summary["forward_passes_per_answer"], ".1f")],
             ["eval time", _duration(summary["eval_wall_time_s"])]]
    title = (f"{summary['run']} ({summary['arch']}) on {summary['data']} [{summary['split']}], "
             f"{summary['n_puzzles']} puzzles, 95% CIs")
    console.print(_rich_table(title, ["figure", "value"], rows))
    if summary["ks_skipped"]:
        console.print(f"[dim]note: k = {summary['ks_skipped']} not reported: fewer attempts than k[/]")
