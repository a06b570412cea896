"""`<logs>/sweeps/<name>.json`: which runs belong to one sweep or OOD suite, for the dashboard's
runs view (overlay them) and for reruns. Pure Python (no torch), like hrm.rundir.

    {"version": 1, "kind": "sweep" | "ood", "name": "...", "source": "configs/sweeps/x.yaml",
     "created": t, "updated": t, "csv": "logs/sweeps/x.csv", "keys": ["model.controller", ...],
     "runs": [{"run_id": "...", "path": "logs/...", "config_id": "...", "seed": 0,
               "values": {"model.controller": "hrm"}, "status": "finished"}]}

The file is rewritten atomically after every run, so a reader sees a whole manifest at any time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hrm.rundir import atomic_write_json, read_json

MANIFEST_VERSION = 1
SWEEPS = "sweeps"


def sweeps_dir(logs_dir: Path) -> Path:
    return Path(logs_dir) / SWEEPS


def manifest_path(logs_dir: Path, name: str) -> Path:
    return sweeps_dir(logs_dir) / f"{name}.json"


def write_manifest(logs_dir: Path, name: str, kind: str, source: str, keys: list[str], runs: list[dict[str, Any]],
                   csv: Path | None = None) -> Path:
    path = manifest_path(logs_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = read_json(path) or {}
    now = time.time()
    atomic_write_json(path, {
        "version": MANIFEST_VERSION, "kind": kind, "name": name, "source": source,
        "created": old.get("created", now), "updated": now, "csv": str(csv) if csv else old.get("csv"),
        "keys": keys, "runs": runs,
    }, durable=False)
    return path


def read_manifest(path: Path) -> dict[str, Any] | None:
    """A manifest, or None when absent, unreadable or not a manifest."""
    data = read_json(path)
    if data is None or not isinstance(data.get("runs"), list):
        return None
    return data


def list_manifests(logs_dir: Path) -> list[dict[str, Any]]:
    """Every manifest under `<logs>/sweeps/`, newest first."""
    found = []
    for path in sweeps_dir(logs_dir).glob("*.json"):
        data = read_manifest(path)
        if data is not None:
            found.append(data)
    return sorted(found, key=lambda m: m.get("updated", 0), reverse=True)
