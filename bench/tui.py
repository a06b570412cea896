"""Dashboard benchmarks: `python -m bench.tui` (run it under `flock /tmp/hrm-bench.lock`).

1. Redraw time of a plot page on runs of 10k and 100k steps: the numeric part (zoom, EMA, min/max
   downsampling: `prepare`) and plotext drawing (`paint` + `build`) for the six plots of a page at
   the size they have in a 160x48 terminal; plus the time to parse and load the metrics file.
2. The same redraw measured end to end inside the app (Pilot, 160x48): forced redraw of the
   visible page until the screen has been refreshed.
3. The dashboard's own CPU use while it tails a fast-writing fake trainer: `hrm tui --attach` runs
   in a real terminal (tmux, 160x48) and psutil reads its CPU time over `--seconds` (60).

Prints a table and writes bench/results/tui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "tui"))

import fake_trainer  # noqa: E402

from hrm.rundir import read_jsonl  # noqa: E402
from hrm_tui.plot_draw import PlotView, paint, prepare  # noqa: E402
from hrm_tui.plot_specs import PLOTS  # noqa: E402
from hrm_tui.store import RunStore  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "tui.json"
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


def cpu_bench(seconds: float, rate: float) -> dict:
    """CPU % of `hrm tui --attach` (one core = 100%) while a fake trainer writes `rate` steps/s."""
    if shutil.which("tmux") is None:
        return {"error": "tmux not found"}
    folder = Path(tempfile.mkdtemp(prefix="hrm-bench-tui-"))
    session = f"hrm-bench-{os.getpid()}"
    trainer = subprocess.Popen([*FAKE_HRM, "train", "bench.yaml", "fake.steps=100000000", f"fake.rate={rate}",
                                "fake.checkpoint_every=1000",
                                "--supervise", "--run-id", "bench", "--logs-dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (folder / "bench" / "heartbeat").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        hrm = Path(sys.executable).parent / "hrm"
        subprocess.run(["tmux", "new", "-d", "-s", session, "-x", "160", "-y", "48",
                        f"{hrm} tui --attach bench --logs-dir {folder}"], check=True)
        pane_pid = int(subprocess.run(["tmux", "display", "-p", "-t", session, "#{pane_pid}"], check=True,
                                      capture_output=True, text=True).stdout.strip())
        time.sleep(8)  # start-up and the first full load are not what we measure
        app = psutil.Process(pane_pid)
        procs = [app, *app.children(recursive=True)]
        tproc = psutil.Process(trainer.pid)
        steps0 = _steps(folder / "bench")
        cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
        t_cpu0 = sum(tproc.cpu_times()[:2])
        t0 = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - t0
        cpu = sum(sum(p.cpu_times()[:2]) - cpu0[p.pid] for p in procs if p.is_running())
        t_cpu = sum(tproc.cpu_times()[:2]) - t_cpu0
        steps = _steps(folder / "bench") - steps0
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
        return {"seconds": round(wall, 1), "dashboard_cpu_percent": round(100 * cpu / wall, 1),
                "fake_trainer_cpu_percent": round(100 * t_cpu / wall, 1), "steps_per_s": round(steps / wall, 1),
                "records_per_s": round(steps / wall * (1 + 1 / 25 + 2 / 10), 1), "screen": screen}
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        trainer.terminate()
        trainer.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _steps(run: Path) -> int:
    hb = json.loads((run / "heartbeat").read_text()) if (run / "heartbeat").exists() else {}
    return int(hb.get("step", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU measurement window")
    parser.add_argument("--rate", type=float, default=100.0, help="fake trainer steps per second")
    parser.add_argument("--steps", default="10000,100000", help="run lengths for the redraw benchmark")
    parser.add_argument("--skip-cpu", action="store_true")
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "redraw": redraw,
                                   "cpu": cpu}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
