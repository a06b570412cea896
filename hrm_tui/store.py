"""In-memory columns of one run's metrics, fed by `metrics.jsonl` records.

Records are turned into column batches in the watcher's thread (`to_batch`, the part that costs
time on a 100k-line replay); the app's thread only appends the batches (`RunStore.add`), so the
screen never waits on JSON parsing. Each record kind gets a table: `train`, `eval:<split>`,
`system`; `diag` records (lists per inner step) are kept as the last few dicts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hrm_tui.series import GrowArray, ema, superseded_cut

X_AXES = ("step", "time", "examples")
X_LABELS = {"step": "step", "time": "wall time (min)", "examples": "examples seen"}
DIAG_KEEP = 8
TEXT_FIELDS = ("kind", "split")  # never plotted, even when they look like numbers


def table_of(record: dict[str, Any]) -> str | None:
    kind = record.get("kind")
    if kind == "eval":
        return f"eval:{record.get('split') or 'test'}"
    if kind in ("train", "system"):
        return kind
    return None


@dataclass
class Batch:
    """Column arrays per table, built from a list of records off the app's thread."""

    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    diag: list[dict[str, Any]] = field(default_factory=list)
    first_t: float | None = None
    count: int = 0


def _column(values: list[Any]) -> np.ndarray | None:
    """Floats from one field across records (NaN where absent or null); None if not numeric."""
    try:
        # The fast path: numbers, bools and None (-> NaN) convert in one C call.
        column = np.array(values, dtype=np.float64)
        if column.ndim == 1:
            return column
    except (TypeError, ValueError):
        pass
    numbers = [float(v) if isinstance(v, (int, float)) else math.nan for v in values]
    return np.array(numbers) if any(isinstance(v, (int, float)) for v in values) else None


def to_batch(records: list[dict[str, Any]]) -> Batch:
    """Group records by table and turn every numeric field into a column (NaN where absent)."""
    batch = Batch(count=len(records))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        t = rec.get("t")
        if batch.first_t is None and isinstance(t, (int, float)):
            batch.first_t = float(t)
        if rec.get("kind") == "diag":
            batch.diag.append(rec)
            continue
        table = table_of(rec)
        if table is not None:
            grouped.setdefault(table, []).append(rec)
    for table, recs in grouped.items():
        keys: dict[str, None] = {}
        for rec in recs:
            keys.update(dict.fromkeys(rec))
        cols = {}
        for key in keys:
            if key in TEXT_FIELDS:
                continue
            column = _column([rec.get(key) for rec in recs])
            if column is not None:
                cols[key] = column
        batch.columns[table] = cols
        batch.rows[table] = len(recs)
        batch.last[table] = recs[-1]
    return batch


class Table:
    """Columns of equal length; a column first seen late is NaN for the earlier rows."""

    def __init__(self) -> None:
        self.columns: dict[str, GrowArray] = {}
        self.rows = 0

    def extend(self, cols: dict[str, np.ndarray], rows: int) -> bool:
        """Append a batch; returns True when older rows were replaced (a resume or rollback)."""
        replaced = False
        steps = cols.get("step")
        old = self.get("step")
        if steps is not None and old is not None:
            cut, keep = superseded_cut(old, steps)
            if cut < self.rows:
                for col in self.columns.values():
                    col.truncate(cut)
                self.rows = cut
                replaced = True
            if not keep.all():
                cols = {name: values[keep] for name, values in cols.items()}
                rows = int(keep.sum())
        for name, values in cols.items():
            col = self.columns.get(name)
            if col is None:
                col = self.columns[name] = GrowArray(max(256, self.rows + rows))
                col.fill(self.rows)
            col.extend(values)
        for name, col in self.columns.items():
            if name not in cols:
                col.fill(rows)
        self.rows += rows
        return replaced

    def get(self, name: str) -> np.ndarray | None:
        col = self.columns.get(name)
        return None if col is None else col.values

    def has_data(self, name: str) -> bool:
        values = self.get(name)
        return values is not None and bool(np.isfinite(values).any())


class RunStore:
    """All plotted figures of one run, with per-column EMA caches extended incrementally."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.last: dict[str, dict[str, Any]] = {}
        self.diag: deque[dict[str, Any]] = deque(maxlen=DIAG_KEEP)
        self.t0: float | None = None
        self.records = 0
        self.version = 0
        self._ema: dict[tuple[str, str, float], tuple[GrowArray, tuple[float, int]]] = {}

    def add(self, batch: Batch) -> None:
        if batch.count == 0:
            return
        if self.t0 is None:
            self.t0 = batch.first_t
        for name, cols in batch.columns.items():
            if self.tables.setdefault(name, Table()).extend(cols, batch.rows[name]):
                # Rows were replaced: smoothed copies of this table are recomputed on next use.
                self._ema = {key: value for key, value in self._ema.items() if key[0] != name}
        self.last.update(batch.last)
        self.diag.extend(batch.diag)
        self.records += batch.count
        self.version += 1

    def add_records(self, records: list[dict[str, Any]]) -> None:
        self.add(to_batch(records))

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    @property
    def eval_splits(self) -> list[str]:
        return sorted(name.split(":", 1)[1] for name in self.tables if name.startswith("eval:"))

    def x(self, table: str, axis: str) -> np.ndarray | None:
        """The x values of a table's rows on the chosen axis (step, wall minutes, examples seen)."""
        tab = self.tables.get(table)
        if tab is None:
            return None
        if axis == "step":
            return tab.get("step")
        if axis == "time":
            t = tab.get("t")
            return None if t is None or self.t0 is None else (t - self.t0) / 60.0
        if axis == "examples":
            if table == "train":
                return tab.get("examples")
            # Eval and system records count their own examples: place them by step on the
            # training run's examples-seen axis instead.
            train = self.tables.get("train")
            steps = tab.get("step")
            if train is None or steps is None:
                return None
            tx, ty = train.get("step"), train.get("examples")
            if tx is None or ty is None:
                return None
            ok = np.isfinite(tx) & np.isfinite(ty)
            if not ok.any():
                return None
            return np.interp(steps, tx[ok], ty[ok])
        raise ValueError(f"unknown x axis {axis!r}; choose from {X_AXES}")

    def smoothed(self, table: str, column: str, weight: float) -> np.ndarray | None:
        """EMA of a column; the cache is extended with only the rows added since the last call."""
        tab = self.tables.get(table)
        values = None if tab is None else tab.get(column)
        if values is None:
            return None
        if weight <= 0:
            return values
        key = (table, column, weight)
        cached = self._ema.get(key)
        if cached is None:
            cached = (GrowArray(max(256, len(values))), (0.0, 0))
        out, state = cached
        if len(out) < len(values):
            new, state = ema(values[len(out) :], weight, state)
            out.extend(new)
            self._ema[key] = (out, state)
        return out.values
