"""Dashboard benchmarks: `python -m bench.tui` (run it under `flock /tmp/hrm-bench.lock`).

1. Redraw time of a plot page on runs of 10k and 100k steps: the numeric part (zoom, EMA, min/max
   downsampling: `prepare`) and plotext drawing (`paint` + `build`) for the six plots of a page at
   the size they have in a 160x48 terminal; plus the time to parse and load the metrics file.
2. The same redraw measured end to end inside the app (Pilot, 160x48): forced redraw of the
   visible page until the screen has been refreshed.
3. The dashboard's own CPU use while it tails a fast-writing fake trainer: `hrm tui --attach` runs
   in a real terminal (tmux, 160x48) and psutil reads its CPU time over `--seconds` (60).
4. Overhead on real training: the trainer's steps/s and examples/s on `--config` (the CPU demo)
   without and with `hrm tui --attach` watching it, in phases of `--phase-seconds` within one run
   (without, with, with, without, ...), and the dashboard's CPU % meanwhile.

Prints a table and writes bench/results/tui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from bench.common import HRM, ROOT, start_trainer, trainer_output_tail, write_result

sys.path.insert(0, str(ROOT / "tests" / "tui"))

import fake_trainer  # noqa: E402

from hrm.rundir import RunDir, read_jsonl  # noqa: E402
from hrm_tui.plot_draw import PlotView, paint, prepare  # noqa: E402
from hrm_tui.plot_specs import PLOTS  # noqa: E402
from hrm_tui.store import RunStore  # noqa: E402

PLOT_W, PLOT_H = 37, 15  # a plot's size in a 160x48 terminal
FAKE_HRM = [sys.executable, str(ROOT / "tests" / "tui" / "fake_hrm.py")]


def time_page(store: RunStore, view: PlotView, page: str, repeats: int = 5) -> tuple[float, float]:
    """Median milliseconds of prepare and of paint+build for one page's six plots."""
    from textual_plotext.plot import Plot

    specs = [p for p in PLOTS if p.page == page]
    prep, draw = [], []
    for _ in range(repeats):
        tp = tb = 0.0
        for spec in specs:
            plt = Plot()
            plt.plotsize(PLOT_W, PLOT_H)
            plt._set_size(PLOT_W, PLOT_H)
            t = time.perf_counter()
            prepared = prepare(spec, [("main", store)], view, PLOT_W - 10)
            tp += time.perf_counter() - t
            t = time.perf_counter()
            if not prepared.empty:
                paint(plt, prepared, PLOT_W)
                plt.build()
            tb += time.perf_counter() - t
        prep.append(tp * 1e3)
        draw.append(tb * 1e3)
    return statistics.median(prep), statistics.median(draw)


def app_redraw_ms(run: Path, repeats: int = 5) -> float:
    """Median ms for a forced redraw of the training page, screen refresh included (Pilot)."""
    from hrm_tui.app import HrmApp
    from hrm_tui.launch import LaunchPlan

    app = HrmApp(LaunchPlan(mode="replay", logs_dir=run.parent, run=run), hrm_command=FAKE_HRM, keymap={},
                 redraw_interval=3600.0)
    times: list[float] = []

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            d = app.dashboard
            while d.store.records == 0:
                await pilot.pause(0.1)
            await pilot.pause(0.5)
            for _ in range(repeats):
                t = time.perf_counter()
                d._redraw(force=True)
                await pilot.pause()  # until the screen has processed the refresh
                times.append((time.perf_counter() - t) * 1e3)

    asyncio.run(main())
    return statistics.median(times)


def redraw_bench(steps_list: list[int]) -> list[dict]:
    rows = []
    for steps in steps_list:
        folder = Path(tempfile.mkdtemp(prefix="hrm-bench-tui-"))
        try:
            run = fake_trainer.write_run(folder / "run", steps=steps)
            lines = sum(1 for _ in open(run.metrics))
            t = time.perf_counter()
            store = RunStore()
            store.add_records(read_jsonl(run.metrics))
            load_s = time.perf_counter() - t
            for ema in (0.0, 0.9):
                view = PlotView(ema=ema)
                time_page(store, view, "training", repeats=1)  # fills the EMA cache once
                prep, draw = time_page(store, view, "training")
                rows.append({"steps": steps, "records": lines, "ema": ema, "load_s": round(load_s, 2),
                             "prepare_ms": round(prep, 1), "plotext_ms": round(draw, 1)})
            rows[-1]["app_redraw_ms"] = round(app_redraw_ms(run.path), 1)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


@contextlib.contextmanager
def dashboard(run_id: str, logs_dir: Path) -> Iterator[psutil.Process]:
    """`hrm tui --attach RUN_ID` in a real terminal (a detached tmux session, 160x48); yields the
    process in the pane (the dashboard; its children are the dashboard's workers)."""
    session = f"hrm-bench-{os.getpid()}"
    subprocess.run(["tmux", "new", "-d", "-s", session, "-x", "160", "-y", "48",
                    f"{HRM} tui --attach {run_id} --logs-dir {logs_dir}"], check=True)
    try:
        pane_pid = int(subprocess.run(["tmux", "display", "-p", "-t", session, "#{pane_pid}"], check=True,
                                      capture_output=True, text=True).stdout.strip())
        yield psutil.Process(pane_pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds of each process still alive."""
    out = {}
    for p in procs:
        try:
            out[p.pid] = sum(p.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return out


def cpu_bench(seconds: float, rate: float) -> dict:
    """CPU % of `hrm tui --attach` (one core = 100%) while a fake trainer writes `rate` steps/s."""
    if shutil.which("tmux") is None:
        return {"error": "tmux not found"}
    folder = Path(tempfile.mkdtemp(prefix="hrm-bench-tui-"))
    trainer = subprocess.Popen([*FAKE_HRM, "train", "bench.yaml", "fake.steps=100000000", f"fake.rate={rate}",
                                "fake.checkpoint_every=1000",
                                "--supervise", "--run-id", "bench", "--logs-dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (folder / "bench" / "heartbeat").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with dashboard("bench", folder) as app:
            time.sleep(8)  # start-up and the first full load are not what we measure
            procs = [app, *app.children(recursive=True)]
            tproc = psutil.Process(trainer.pid)
            steps0 = _steps(folder / "bench")
            cpu0 = cpu_seconds(procs)
            t_cpu0 = sum(tproc.cpu_times()[:2])
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            cpu1 = cpu_seconds(procs)
            cpu = sum(cpu1[pid] - cpu0[pid] for pid in cpu1 if pid in cpu0)
            t_cpu = sum(tproc.cpu_times()[:2]) - t_cpu0
            steps = _steps(folder / "bench") - steps0
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", f"hrm-bench-{os.getpid()}"],
                                    capture_output=True, text=True).stdout
        return {"seconds": round(wall, 1), "dashboard_cpu_percent": round(100 * cpu / wall, 1),
                "fake_trainer_cpu_percent": round(100 * t_cpu / wall, 1), "steps_per_s": round(steps / wall, 1),
                "records_per_s": round(steps / wall * (1 + 1 / 25 + 2 / 10), 1), "screen": screen}
    finally:
        trainer.terminate()
        trainer.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def phase_rate(records: list[dict], t0: float, t1: float) -> dict[str, float] | None:
    """Steps/s and examples/s of the trainer between unix times t0 and t1, from its train records
    (cumulative `step` and `examples`): the difference between the first and last record inside
    the interval over the time between them. None with fewer than two records inside."""
    inside = [r for r in records if r.get("kind") == "train" and t0 <= r["t"] <= t1]
    if len(inside) < 2 or inside[-1]["t"] <= inside[0]["t"]:
        return None
    dt = inside[-1]["t"] - inside[0]["t"]
    return {"steps_per_s": (inside[-1]["step"] - inside[0]["step"]) / dt,
            "examples_per_s": (inside[-1]["examples"] - inside[0]["examples"]) / dt,
            "seconds": dt}


def overhead(phases: list[dict]) -> dict[str, float] | None:
    """Mean steps/s and examples/s of the phases without and with the dashboard, and the overhead
    1 - with/without of the steps/s (each step runs the same rows through the model; examples/s,
    new puzzles taken in, also moves with how soon the model halts)."""
    means = {}
    for attached in (False, True):
        rates = [p["rate"] for p in phases if p["dashboard"] == attached and p["rate"] is not None]
        if not rates:
            return None
        means[attached] = {k: statistics.fmean(r[k] for r in rates) for k in ("steps_per_s", "examples_per_s")}
    return {"steps_per_s_without": means[False]["steps_per_s"], "steps_per_s_with": means[True]["steps_per_s"],
            "examples_per_s_without": means[False]["examples_per_s"],
            "examples_per_s_with": means[True]["examples_per_s"],
            "overhead": 1 - means[True]["steps_per_s"] / means[False]["steps_per_s"]}


def phase_order(pairs: int) -> list[bool]:
    """Whether the dashboard is attached in each phase: without/with, then with/without, ... (ABBA),
    so a trainer that speeds up or slows down steadily favours neither side."""
    return [attached for i in range(pairs) for attached in ((False, True) if i % 2 == 0 else (True, False))]


def overhead_bench(config: str, phase_s: float, pairs: int, settle_s: float = 8.0, warmup_s: float = 20.0) -> dict:
    """The real trainer's speed without and with `hrm tui --attach` watching it, in phases of
    `phase_s` seconds within one run (`phase_order`), after `warmup_s` of training. A with-phase
    starts `settle_s` after the dashboard (its start-up and first full load are not steady-state
    overhead) and also yields the dashboard's CPU %."""
    if shutil.which("tmux") is None:
        return {"error": "tmux not found"}
    logs = Path(tempfile.mkdtemp(prefix="hrm-bench-overhead-"))
    run = RunDir(logs / "overhead")
    minutes = (warmup_s + pairs * (2 * phase_s + settle_s) + 120) / 60
    trainer = start_trainer(config, ["train.eval_every=0", "train.checkpoint_every=0", "train.checkpoint_minutes=0",
                                     "train.diag_every=0", f"train.max_minutes={minutes:.2f}"], logs, "overhead")
    try:
        deadline = time.monotonic() + 300
        while not any(True for _ in run.iter_metrics("train")):
            if trainer.poll() is not None or time.monotonic() > deadline:
                return {"error": trainer_output_tail(logs, "overhead") or "the trainer wrote no metrics"}
            time.sleep(0.5)
        time.sleep(warmup_s)  # past the first steps
        phases: list[dict] = []
        cpu: list[float] = []
        for attached in phase_order(pairs):
            if not attached:
                t0 = time.time()
                time.sleep(phase_s)
                phases.append({"dashboard": False, "t0": t0, "t1": time.time()})
                continue
            with dashboard("overhead", logs) as app:
                time.sleep(settle_s)
                procs = [app, *app.children(recursive=True)]
                cpu0, t0 = cpu_seconds(procs), time.time()
                time.sleep(phase_s)
                cpu1, t1 = cpu_seconds(procs), time.time()
                cpu.append(100 * sum(cpu1[pid] - cpu0[pid] for pid in cpu1 if pid in cpu0) / (t1 - t0))
            phases.append({"dashboard": True, "t0": t0, "t1": t1})
        if trainer.poll() is not None:
            return {"error": "the trainer ended before the phases did: " + trainer_output_tail(logs, "overhead")}
        records = list(run.iter_metrics("train"))
        for p in phases:
            p["rate"] = phase_rate(records, p["t0"], p["t1"])
        started = next((e for e in run.read_events() if e.get("event") == "started"), {})
        result = {"config": config, "phase_s": phase_s, "pairs": pairs, "threads": started.get("threads"),
                  "phases": phases, "dashboard_cpu_percent": statistics.fmean(cpu)}
        figures = overhead(phases)
        if figures is None:
            return {**result, "error": f"fewer than two train records inside a phase of {phase_s:g} s: "
                                       "make --phase-seconds longer"}
        return {**result, **figures}
    finally:
        trainer.terminate()
        try:
            trainer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            trainer.kill()
            trainer.wait()
        shutil.rmtree(logs, ignore_errors=True)


def _steps(run: Path) -> int:
    hb = json.loads((run / "heartbeat").read_text()) if (run / "heartbeat").exists() else {}
    return int(hb.get("step", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU measurement window")
    parser.add_argument("--rate", type=float, default=100.0, help="fake trainer steps per second")
    parser.add_argument("--steps", default="10000,100000", help="run lengths for the redraw benchmark")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--config", default="sudoku_demo_cpu", help="preset the overhead benchmark trains")
    parser.add_argument("--phase-seconds", type=float, default=30.0, help="length of each with/without phase")
    parser.add_argument("--pairs", type=int, default=2, help="with/without phase pairs (0 = skip the overhead)")
    args = parser.parse_args()

    redraw = redraw_bench([int(s) for s in args.steps.split(",")])
    print(f"{'steps':>8} {'records':>8} {'EMA':>4} {'load s':>7} {'prepare ms':>11} {'plotext ms':>11} "
          f"{'app redraw ms':>14}")
    for r in redraw:
        print(f"{r['steps']:>8} {r['records']:>8} {r['ema']:>4} {r['load_s']:>7} {r['prepare_ms']:>11} "
              f"{r['plotext_ms']:>11} {r.get('app_redraw_ms', ''):>14}")
    cpu = {} if args.skip_cpu else cpu_bench(args.seconds, args.rate)
    if cpu and "error" not in cpu:
        print(f"\ndashboard CPU {cpu['dashboard_cpu_percent']}% of one core over {cpu['seconds']} s while the fake "
              f"trainer wrote {cpu['steps_per_s']} steps/s (~{cpu['records_per_s']} metric records/s; the fake "
              f"trainer itself used {cpu['fake_trainer_cpu_percent']}%)")
    elif cpu:
        print(cpu["error"])
    train = overhead_bench(args.config, args.phase_seconds, args.pairs) if args.pairs else {}
    if train and "error" not in train:
        print(f"\n{args.config} trainer ({train['threads']} threads), {args.pairs} x {args.phase_seconds:g} s "
              f"phases each:  steps/s {train['steps_per_s_without']:.2f} without -> {train['steps_per_s_with']:.2f} "
              f"with the dashboard ({100 * train['overhead']:+.1f}% overhead);  examples/s "
              f"{train['examples_per_s_without']:.1f} -> {train['examples_per_s_with']:.1f};  dashboard CPU "
              f"{train['dashboard_cpu_percent']:.1f}% of one core")
    elif train:
        print(train["error"])
    path = write_result("tui", {"machine": platform.platform(), "cpus": os.cpu_count(), "redraw": redraw,
                                "cpu": cpu, "training": train})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
