"""The headline figures of every benchmark as one table: rows made from the results JSON files that
the scripts write, and the Markdown the README's "Performance" section reproduces."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.time_to_accuracy import describe

MFU_TARGET = 0.85
ACT_CONTINUE_RATIO_TARGET = 1.5
DASHBOARD_OVERHEAD_TARGET = 0.03
AUGMENTATION_SPEEDUP_TARGET = 20.0


@dataclass
class Row:
    area: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target, or not measured

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: ""}[met]


def model_speed_rows(result: dict[str, Any]) -> list[Row]:
    rows = []
    device = f"{result.get('device', 'cpu')} {result.get('dtype', 'float32')}"
    if result.get("compile"):
        device += ", compiled"
    if result.get("attention") == "sdpa":
        device += ", SDPA"
    by_preset = {r["preset"]: r for r in result["rows"]}
    for r in result["rows"]:
        area = f"training, {r['preset']} preset ({r['params'] / 1e6:.1f}M params, batch {r['batch']}, {device})"
        matmul = max(r["matmul_gflop_s_before_after"])
        rows.append(Row(area, "throughput", f"{r['examples_per_s']:.1f} examples/s, {r['tokens_per_s']:,.0f} tokens/s"))
        paper = r["preset"] == "paper"
        rows.append(Row(area, "model FLOP/s in forward + backward vs plain matmul (MFU)",
                        f"{r['model_gflop_s']:.1f} of {matmul:.1f} GFLOP/s = {100 * r['mfu']:.0f}% "
                        f"({100 * r['mfu_step']:.0f}% with the optimizer step)",
                        f">= {100 * MFU_TARGET:.0f}%" if paper else "",
                        r["mfu"] >= MFU_TARGET if paper else None))
    if "paper" in by_preset and "paper-trm" in by_preset:
        ratio = by_preset["paper-trm"]["examples_per_s"] / by_preset["paper"]["examples_per_s"]
        rows.append(Row("training, paper preset", "examples/s, act_continue false vs true",
                        f"{ratio:.2f}x", f">= {ACT_CONTINUE_RATIO_TARGET:g}x", ratio >= ACT_CONTINUE_RATIO_TARGET))
    if "auto_dtype" in result:
        fast_bf16 = result["cpu_native_bf16"] if result.get("device", "cpu") == "cpu" else None
        matmul = result["matmul_gflop_s"]
        why = f"bf16 matmul {matmul['bfloat16']:.1f} vs fp32 {matmul['float32']:.1f} GFLOP/s"
        if fast_bf16 is None:
            rows.append(Row(f"dtype ({result['device']})", "train.dtype auto", f"{result['auto_dtype']} ({why})"))
        else:
            expected = "bfloat16" if fast_bf16 else "float32"
            rows.append(Row("dtype (CPU)", "train.dtype auto picks",
                            f"{result['auto_dtype']} ({why})", f"{expected} on this CPU",
                            result["auto_dtype"] == expected))
    return rows


def no_gpu_rows() -> list[Row]:
    return [Row("training on a GPU", "bf16, flash-attn vs SDPA, compile on/off", "not measured: no CUDA GPU here")]


def time_to_accuracy_rows(result: dict[str, Any]) -> list[Row]:
    area = f"time to accuracy, {result['config']} (held-out exact, eval every {result['eval_every']} steps)"
    if "error" in result:
        return [Row(area, "minutes", f"trainer failed (exit {result['returncode']})", met=False)]
    return [Row(area, f"to {100 * t:g}%", describe(result, t)) for t in result["thresholds"]]


def tui_rows(result: dict[str, Any]) -> list[Row]:
    rows = []
    train = result.get("training") or {}
    if "overhead" in train:
        rows.append(Row(
            f"dashboard on real training ({train['config']})", "trainer steps/s without -> with (overhead)",
            f"{train['steps_per_s_without']:.2f} -> {train['steps_per_s_with']:.2f} steps/s "
            f"({100 * train['overhead']:+.1f}%); examples/s {train['examples_per_s_without']:.1f} -> "
            f"{train['examples_per_s_with']:.1f}",
            f"< {100 * DASHBOARD_OVERHEAD_TARGET:g}%", train["overhead"] < DASHBOARD_OVERHEAD_TARGET))
        spread = "; ".join(
            f"{label} " + ", ".join(f"{p['rate']['steps_per_s']:.2f}" for p in train["phases"]
                                    if p["dashboard"] == attached and p["rate"])
            for label, attached in (("without", False), ("with", True)))
        rows.append(Row(f"dashboard on real training ({train['config']})", "steps/s of each phase", spread))
        cpus = result.get("cpus") or 1
        rows.append(Row(f"dashboard on real training ({train['config']})", "dashboard CPU",
                        f"{train['dashboard_cpu_percent']:.1f}% of one core = "
                        f"{train['dashboard_cpu_percent'] / cpus:.1f}% of the {cpus} cores"))
    elif train:
        rows.append(Row("dashboard on real training", "overhead", f"not measured: {train.get('error', 'no phases')}",
                        met=False))
    cpu = result.get("cpu") or {}
    if "dashboard_cpu_percent" in cpu:
        rows.append(Row("dashboard, stress", f"dashboard CPU at {cpu['steps_per_s']:.0f} steps/s",
                        f"{cpu['dashboard_cpu_percent']:.1f}% of one core"))
    for r in result.get("redraw", []):
        if "app_redraw_ms" in r:
            rows.append(Row("dashboard redraw", f"{r['steps']:,} steps ({r['records']:,} records)",
                            f"{r['app_redraw_ms']:.0f} ms in the app (prepare {r['prepare_ms']:.0f} + plotext "
                            f"{r['plotext_ms']:.0f} ms); load {r['load_s']:.2f} s"))
    return rows


def data_build_rows(result: dict[str, Any]) -> list[Row]:
    gen = ", ".join(f"{g['difficulty']} {g['puzzles_per_s']:.1f}/s" for g in result["generation"])
    rows = [Row("dataset build", "Sudoku puzzles generated (one process)", gen)]
    h = result["hardness"]
    rows.append(Row("dataset build", "difficulty rating, hard vs random removal (same givens)",
                    f"{h['hard_mean_rating']:.1f} vs {h['baseline_mean_rating']:.1f}"))
    a = result["augmentation"]
    rows.append(Row("dataset build",
                    f"augmentation, {a['puzzles']:,} puzzles x {a['augmentations']:,} ({a['examples']:,} examples)",
                    f"{a['vectorised_s']:.2f} s vs per-puzzle loop {a['per_puzzle_loop_s']:.2f} s = "
                    f"{a['speedup']:.1f}x", f">= {AUGMENTATION_SPEEDUP_TARGET:g}x",
                    a["speedup"] >= AUGMENTATION_SPEEDUP_TARGET))
    rows.append(Row("dataset build", "whole `build-data sudoku`, same sizes", f"{a['whole_build_s']:.1f} s"))
    return rows


def model_memory_rows(result: dict[str, Any]) -> list[Row]:
    by = {(r["cycles"], r["grad"]): r for r in result["rows"]}
    cycles = sorted({c for c, _ in by})
    values = []
    for grad in ("one_step", "bptt"):
        saved = "/".join(f"{by[(c, grad)]['saved_mb']:.1f}" for c in cycles if (c, grad) in by)
        values.append(f"{grad} {saved} MB")
    return [Row(f"memory, HRM-ACT hidden {result['base']['hidden_size']}, batch {result['batch']}",
                f"autograd-saved tensors for H = L cycles {'/'.join(map(str, cycles))}", "; ".join(values))]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "data_build": data_build_rows,
    "model_speed": model_speed_rows,
    "model_memory": model_memory_rows,
    "tui": tui_rows,
    "time_to_accuracy": time_to_accuracy_rows,
}


def summary_rows(results: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows of every result present, in the order of ROWS; GPU results (model_speed_gpu*) after the
    CPU speed rows, or one row saying none were measured."""
    rows: list[Row] = []
    for name, make in ROWS.items():
        if name in results:
            rows += make(results[name])
        if name == "model_speed" and name in results:
            gpu = [key for key in sorted(results) if key.startswith("model_speed_gpu")]
            for key in gpu:
                rows += model_speed_rows(results[key])
            if not gpu:
                rows += no_gpu_rows()
    return rows


def runs_line(runs: dict[str, dict[str, Any]]) -> str:
    """"Command: `python -m bench`, 15.2 min in all (2026-11-24)." with one clause per command,
    in the order the commands ran."""
    by_command: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(runs.values(), key=lambda r: r["finished"]):
        by_command.setdefault(run["command"], []).append(run)
    clauses = []
    for command, entries in by_command.items():
        minutes = sum(e["seconds"] for e in entries) / 60
        day = time.strftime("%Y-%m-%d", time.gmtime(entries[-1]["finished"]))
        clauses.append(f"`{command}`, {minutes:.1f} min in all ({day})")
    return ("Command: " if len(clauses) == 1 else "Commands: ") + "; then ".join(clauses) + "."


def to_markdown(rows: list[Row]) -> str:
    """A Markdown table; a row's area is written only where it changes."""
    lines = ["| area | figure | measured | target |", "|---|---|---|---|"]
    last_area = None
    for r in rows:
        area = r.area if r.area != last_area else ""
        last_area = r.area
        target = " ".join(part for part in (r.target, _verdict(r.met) if r.target or r.met is False else "") if part)
        lines.append(f"| {area} | {r.figure} | {r.value} | {target} |")
    return "\n".join(lines) + "\n"
