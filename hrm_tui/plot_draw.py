"""Turn a run's columns into what one plot draws, then draw it with plotext.

`prepare()` does the numeric work (axis choice, zoom window, EMA, log filter, min/max
downsampling to about two points per terminal cell) and returns plain lines; `paint()` hands
them to a plotext figure. Both are free of Textual so the benchmark times them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hrm_tui.plot_specs import BLUE, GREY, ORANGE, RGB, PlotSpec, SeriesSpec
from hrm_tui.series import downsample_minmax, window_start
from hrm_tui.store import X_LABELS, RunStore

EMA_STEPS = (0.0, 0.6, 0.9, 0.99)
ZOOM_STEPS: tuple[int | None, ...] = (None, 1000, 200, 50)


@dataclass
class PlotView:
    """The plot controls, shared by every plot on the dashboard."""

    x_axis: str = "step"
    log_y: bool = False
    ema: float = 0.0
    last_n: int | None = None
    hidden: frozenset[str] = frozenset()

    def describe(self) -> str:
        zoom = "all" if self.last_n is None else f"last {self.last_n}"
        smooth = "off" if self.ema == 0 else f"{self.ema:g}"
        return f"x: {X_LABELS.get(self.x_axis, self.x_axis)}  y: {'log' if self.log_y else 'linear'}  EMA: {smooth}  zoom: {zoom}"


@dataclass
class Line:
    x: np.ndarray
    y: np.ndarray
    color: RGB
    yside: str = "left"

    @property
    def marker(self) -> str:
        # One or two eval points drawn as braille dots would be invisible.
        return "●" if len(self.x) <= 2 else "hd"


@dataclass
class LegendItem:
    label: str
    color: RGB
    value: str


@dataclass
class Prepared:
    lines: list[Line] = field(default_factory=list)
    bars: tuple[list[str], list[float]] | None = None
    legend: list[LegendItem] = field(default_factory=list)
    message: str = ""  # shown instead of a plot when there is nothing to draw
    log_left: bool = False
    log_right: bool = False
    subtitle: str = ""

    @property
    def empty(self) -> bool:
        return not self.lines and self.bars is None


def blend(color: RGB, toward: RGB, amount: float) -> RGB:
    """Mix `amount` (0..1) of `toward` into `color`: faint curves are blended into the background."""
    return tuple(round(c + (t - c) * amount) for c, t in zip(color, toward, strict=True))  # type: ignore[return-value]


def hex_color(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def fmt_value(value: float | None, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "-" if value is None else str(value)
    if unit == "%":
        return f"{value:.1f}%"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.3g}M"
    if a >= 1e4:
        return f"{value / 1e3:.3g}k"
    if a != 0 and a < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _last_finite(values: np.ndarray) -> float | None:
    ok = np.flatnonzero(np.isfinite(values))
    return float(values[ok[-1]]) if len(ok) else None


def _tables(store: RunStore, series: SeriesSpec) -> list[tuple[str, str]]:
    """(table name, label suffix) pairs a series reads: every eval split, or one table."""
    if series.table != "eval":
        return [(series.table, "")]
    splits = store.eval_splits
    return [(f"eval:{s}", f" [{s}]" if len(splits) > 1 else "") for s in splits]


def prepare(spec: PlotSpec, runs: list[tuple[str, RunStore]], view: PlotView, width: int,
            background: RGB = (30, 30, 30)) -> Prepared:
    """What `spec` shows for these runs (the first is the main run, the rest are overlays)."""
    if spec.kind == "residuals":
        return _prepare_residuals(runs, view, background)
    if spec.kind == "heads":
        return _prepare_heads(runs)
    out = Prepared()
    buckets = max(8, width)  # each bucket gives a min and a max: two points per cell
    main = runs[0][1] if runs else None
    x0 = None
    if main is not None and main.table("train") is not None:
        x_train = main.x("train", view.x_axis)
        if x_train is not None:
            x0 = window_start(x_train, view.last_n)
    log = view.log_y and spec.log_ok
    for i, (run_label, store) in enumerate(runs):
        for series in spec.series:
            for table, suffix in _tables(store, series):
                tab = store.table(table)
                if tab is None or not tab.has_data(series.column):
                    continue
                x = store.x(table, view.x_axis)
                raw = tab.get(series.column)
                if x is None or raw is None:
                    continue
                color = series.color if i == 0 else blend(series.color, GREY, 0.55)
                label = series.label + suffix + ("" if i == 0 else f" ({run_label})")
                unit = "%" if series.scale == 100 else ""
                out.legend.append(LegendItem(label, color, fmt_value(_last_finite(raw * series.scale), unit)))
                curves = _curves(store, table, series, raw, color, view.ema, background)
                for y, c in curves:
                    xs, ys = x, y * series.scale
                    keep = np.ones(len(xs), dtype=bool)
                    if x0 is not None:
                        keep &= xs >= x0
                    if log:
                        keep &= ys > 0
                    xs, ys = downsample_minmax(xs[keep], ys[keep], buckets)
                    if len(xs):
                        out.lines.append(Line(xs, ys, c, series.yside))
                        if series.yside == "right":
                            out.log_right = log
                        else:
                            out.log_left = log
    if out.empty:
        out.message = _waiting_message(spec, runs)
    return out


def _curves(store: RunStore, table: str, series: SeriesSpec, raw: np.ndarray, color: RGB, ema_weight: float,
            background: RGB) -> list[tuple[np.ndarray, RGB]]:
    """The (values, colour) curves one series draws, back to front."""
    if series.band_of:  # a spread: faint lines at base +- value
        base = store.table(table).get(series.band_of)  # type: ignore[union-attr]
        if base is None:
            return []
        faint = blend(color, background, 0.6)
        return [(base + raw, faint), (base - raw, faint)]
    if ema_weight <= 0 or table != "train":  # sparse eval points are not smoothed
        return [(raw, color)]
    smooth = store.smoothed(table, series.column, ema_weight)
    if smooth is None:
        return [(raw, color)]
    return [(raw, blend(color, background, 0.65)), (smooth, color)]  # raw faint behind its EMA


def _waiting_message(spec: PlotSpec, runs: list[tuple[str, RunStore]]) -> str:
    names = ", ".join(dict.fromkeys(s.column for s in spec.series))
    if not runs or runs[0][1].records == 0:
        return f"waiting for metrics ({names})"
    return f"no {names} in this run yet"


def _prepare_residuals(runs: list[tuple[str, RunStore]], view: PlotView, background: RGB) -> Prepared:
    out = Prepared()
    for i, (run_label, store) in enumerate(runs):
        diags = [d for d in store.diag if d.get("residual_l") or d.get("residual_h")]
        if not diags:
            continue
        # The latest record in full colour, up to two earlier ones faint behind it.
        for age, rec in enumerate(reversed(diags[-3:])):
            fade = 0.0 if age == 0 else 0.55 + 0.15 * age
            res_l = [float(v) for v in rec.get("residual_l") or []]
            res_h = [float(v) for v in rec.get("residual_h") or []]
            n_l = max(1, len(res_l))
            for values, color, xs in (
                (res_l, BLUE, list(range(1, len(res_l) + 1))),
                # H updates once per L cycle block: place its residuals at the end of each block.
                (res_h, ORANGE, [n_l * (k + 1) / max(1, len(res_h)) for k in range(len(res_h))]),
            ):
                c = color if i == 0 else blend(color, GREY, 0.55)
                c = blend(c, background, fade) if fade else c
                y = np.asarray(values, dtype=np.float64)
                x = np.asarray(xs, dtype=np.float64)
                keep = np.isfinite(y) & ((y > 0) if view.log_y else True)
                if keep.any():
                    out.lines.append(Line(x[keep], y[keep], c))
            if age == 0:
                suffix = "" if i == 0 else f" ({run_label})"
                out.legend.append(LegendItem(f"L{suffix}", BLUE if i == 0 else blend(BLUE, GREY, 0.55),
                                             fmt_value(res_l[-1] if res_l else None)))
                out.legend.append(LegendItem(f"H{suffix}", ORANGE if i == 0 else blend(ORANGE, GREY, 0.55),
                                             fmt_value(res_h[-1] if res_h else None)))
                if i == 0:
                    out.subtitle = f"step {rec.get('step', '?')}, x = inner step"
    out.log_left = view.log_y
    if out.empty:
        out.message = "waiting for diag records (residual_l, residual_h)" if not runs or not runs[0][1].records \
            else "no convergence residuals in this run yet"
    return out


def mean_alpha_per_head(samples: list[dict[str, Any]]) -> dict[int, float]:
    """Average routing weight per head over the samples of one diag record (absent head = 0)."""
    totals: dict[int, float] = {}
    n = 0
    for sample in samples:
        heads, alphas = sample.get("heads") or [], sample.get("alphas") or []
        if len(heads) != len(alphas):
            continue
        n += 1
        for h, a in zip(heads, alphas, strict=True):
            totals[int(h)] = totals.get(int(h), 0.0) + float(a)
    if not n:
        return {}
    # Every head up to the highest seen, so a head that is never picked shows as an empty bar.
    return {h: totals.get(h, 0.0) / n for h in range(max(totals) + 1)}


def _prepare_heads(runs: list[tuple[str, RunStore]]) -> Prepared:
    out = Prepared()
    store = runs[0][1] if runs else None
    diags = [d for d in store.diag if d.get("routing_samples")] if store else []
    if not diags:
        out.message = "waiting for diag records (routing_samples)" if not store or not store.records \
            else "no routing samples in this run (the model does not route)"
        return out
    rec = diags[-1]
    means = mean_alpha_per_head(rec["routing_samples"])
    if means:
        out.bars = ([str(h) for h in means], list(means.values()))
        top = max(means, key=lambda h: means[h])
        out.legend.append(LegendItem(f"top head {top}", BLUE, fmt_value(means[top])))
        out.subtitle = f"step {rec.get('step', '?')}, {len(rec['routing_samples'])} samples"
    else:
        out.message = "routing samples without heads/alphas"
    return out


def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round tick values in [lo, hi] (steps of 1, 2 or 5 times a power of ten), about `count` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or count < 2:
        return [lo] if math.isfinite(lo) else []
    power = 10 ** math.floor(math.log10((hi - lo) / (count - 1)))
    best: list[float] = []
    for step in (power * m for m in (0.5, 1, 2, 5, 10)):
        first = math.ceil(lo / step - 1e-9) * step
        ticks = [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]
        if len(ticks) >= 2 and (not best or abs(len(ticks) - count) < abs(len(best) - count)):
            best = ticks
    return best or [lo, hi]


def spaced_ticks(lo: float, hi: float, canvas_width: int) -> list[float]:
    """Round ticks whose labels fit side by side with room to spare. plotext drops labels that
    would touch, and which one it drops varies from run to run, so crowding is avoided here."""
    ticks: list[float] = []
    for count in range(max(2, canvas_width // 6), 1, -1):
        ticks = nice_ticks(lo, hi, count)
        longest = max((len(tick_label(t)) for t in ticks), default=0)
        if len(ticks) * (longest + 3) <= canvas_width:
            return ticks
    return ticks[:1]


def tick_label(value: float) -> str:
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:g}M"
    if a >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def log_ticks(lo: float, hi: float, rows: int) -> list[float]:
    """Round ticks (1, 2, 5 times a power of ten, or powers of ten alone) in [lo, hi] for a log
    axis of `rows` lines; the ends themselves when no round value falls between them. plotext's
    own log ticks print float noise (99.99999999999994) that can eat half the plot's width."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi < lo:
        return []
    if hi <= lo * 1.0001:  # a flat series
        return [lo]
    most = max(2, rows // 2)
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1,)):
        ticks = [float(f"{m}e{e}") for e in decades for m in mantissas if lo <= float(f"{m}e{e}") <= hi]
        if len(ticks) <= most:
            break
    if len(ticks) > most:  # many decades: every n-th power of ten
        ticks = ticks[::math.ceil(len(ticks) / most)]
    return ticks if len(ticks) >= 2 else [lo, hi]


def paint(plt: Any, prepared: Prepared, width: int = 80, height: int = 20) -> None:
    """Draw prepared lines or bars on a new (textual-)plotext figure whose size is already set."""
    if prepared.bars is not None:
        labels, values = prepared.bars
        plt.bar(labels, values, color=BLUE, width=0.6)
        return
    for line in prepared.lines:
        if len(line.x) <= 2:  # a point or two (eval so far): plot() would join them with a row of dots
            plt.scatter(line.x.tolist(), line.y.tolist(), color=line.color, yside=line.yside, marker=line.marker)
        else:
            plt.plot(line.x.tolist(), line.y.tolist(), color=line.color, yside=line.yside, marker=line.marker)
    for side, log in (("left", prepared.log_left), ("right", prepared.log_right)):
        on_side = [line.y for line in prepared.lines if line.yside == side]
        if not on_side:
            continue
        plt.yscale("log" if log else "linear", yside=side)
        ys = np.concatenate(on_side)
        ys = ys[np.isfinite(ys) & ((ys > 0) if log else True)]
        if not len(ys):
            continue
        lo, hi = float(ys.min()), float(ys.max())
        if hi <= lo + 1e-9 * max(abs(lo), abs(hi)):
            # Flat but for float noise (an accuracy of 0.9999999999999994): plotext would stretch
            # the noise over the whole height and label it to 17 digits. Frame it as a flat line.
            pad = abs(hi) * 0.5 or 1.0
            # plotext takes the limits of a log axis as log10 values.
            limits = (math.log10(lo / 2), math.log10(hi * 2)) if log else (lo - pad, hi + pad)
            plt.ylim(*limits, yside=side)
        if log:
            ticks = log_ticks(lo, hi, height)
            if ticks:
                plt.yticks(ticks, [f"{t:.3g}" for t in ticks], yside=side)
    lo = min(float(line.x[0]) for line in prepared.lines)
    hi = max(float(line.x[-1]) for line in prepared.lines)
    right = any(line.yside == "right" for line in prepared.lines)
    ticks = spaced_ticks(lo, hi, width - 7 - (8 if right else 0))
    if ticks:
        plt.xticks(ticks, [tick_label(t) for t in ticks])
