"""Robustness sweeps: a grid or list over config keys x seeds, each cell an ordinary `hrm train` run.

    spec.py          the sweep file and its expansion into cells (stable, readable run ids)
    runner.py        runs the cells as subprocesses, --jobs at a time, resumably
    task_metrics.py  scores a checkpoint on a split (Kendall tau, perfect-sort, exact, cell accuracy)
    collect.py       one row per run from its files and its checkpoint
    results.py       the sweep CSV (swept values read back from each run's config.yaml)
    group_stats.py   `hrm stats`: groups of a CSV compared with hrm.eval.stats
    manifest.py      logs/sweeps/<name>.json, which the dashboard reads (pure Python)
    report.py        CSV writing and Rich tables
"""
