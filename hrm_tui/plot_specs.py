"""Which figures each dashboard plot shows: the metric names of docs/ARCHITECTURE.md, grouped.

A plot lists its series: the record table they come from (`train`, `eval` = every eval split,
`system`), the field, a label, a colour, the y side, and a scale (100 turns fractions into
percent). `kind` picks a special drawing: `residuals` (the latest diag record's per-inner-step
residuals) and `heads` (mean routing weight per attention head from the latest diag record).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[int, int, int]

# Colour-blind-friendly-ish palette (Okabe–Ito), as RGB so faint variants can be blended.
BLUE: RGB = (86, 180, 233)
ORANGE: RGB = (230, 159, 0)
GREEN: RGB = (0, 158, 115)
YELLOW: RGB = (240, 228, 66)
VERMILION: RGB = (213, 94, 0)
PURPLE: RGB = (204, 121, 167)
SKY: RGB = (120, 200, 255)
GREY: RGB = (160, 160, 160)


@dataclass(frozen=True)
class SeriesSpec:
    table: str  # "train", "eval" (all splits) or "system"
    column: str
    label: str
    color: RGB
    yside: str = "left"
    scale: float = 1.0
    band_of: str = ""  # drawn as faint lines at band_of +- this column (a spread), not on its own


@dataclass(frozen=True)
class PlotSpec:
    id: str
    title: str
    page: str  # "training" or "internals"
    series: tuple[SeriesSpec, ...] = ()
    kind: str = "line"  # line | residuals | heads
    log_ok: bool = True  # whether the log-y toggle applies (not to percentages)
    unit: str = ""
    help: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def matches(self, text: str) -> bool:
        text = text.lower().strip()
        if not text:
            return True
        haystack = " ".join([self.id, self.title, *self.keywords, *(s.column for s in self.series),
                             *(s.label for s in self.series)]).lower()
        return all(word in haystack for word in text.split())


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("loss", "Loss", "training", (
        SeriesSpec("train", "loss", "train", BLUE),
        SeriesSpec("eval", "loss", "eval", ORANGE),
        SeriesSpec("train", "lm_loss", "LM part", GREEN),
    ), help="Total loss = LM cross-entropy (softmax or stablemax, as configured) + 0.5 x (Q-halt + Q-continue BCE)."),
    PlotSpec("accuracy", "Accuracy (exact = whole puzzle)", "training", (
        SeriesSpec("train", "exact_accuracy", "exact", BLUE, scale=100),
        SeriesSpec("eval", "exact_accuracy", "eval exact", ORANGE, scale=100),
        SeriesSpec("train", "accuracy", "cell", SKY, scale=100),
        SeriesSpec("eval", "accuracy", "eval cell", YELLOW, scale=100),
    ), log_ok=False, unit="%",
        help="Exact = every cell of the puzzle right (the headline figure). Cell = share of cells right."),
    PlotSpec("q_loss", "ACT Q-learning losses", "training", (
        SeriesSpec("train", "q_halt_loss", "Q-halt loss", PURPLE),
        SeriesSpec("train", "q_continue_loss", "Q-continue loss", GREEN),
        SeriesSpec("train", "q_halt_accuracy", "halt acc", GREY, yside="right", scale=100),
    ), keywords=("loss", "act")),
    PlotSpec("optim", "Learning rate & gradient norm", "training", (
        SeriesSpec("train", "grad_norm", "grad norm", VERMILION),
        SeriesSpec("train", "lr", "lr", BLUE, yside="right"),
    ), keywords=("lr", "grad")),
    PlotSpec("speed", "Throughput", "training", (
        SeriesSpec("train", "examples_per_s", "examples/s", GREEN),
        SeriesSpec("train", "tokens_per_s", "tokens/s", GREY, yside="right"),
    ), log_ok=False, keywords=("speed", "throughput")),
    PlotSpec("memory", "Memory (GB)", "training", (
        SeriesSpec("train", "peak_mem_gb", "peak", PURPLE),
        SeriesSpec("system", "rss_gb", "process RSS", BLUE),
        SeriesSpec("system", "cuda_alloc_gb", "CUDA alloc", GREEN),
        SeriesSpec("system", "mps_alloc_gb", "MPS alloc", ORANGE),
    ), log_ok=False, unit="GB", keywords=("mem", "ram", "gpu")),
    PlotSpec("entropy", "Routing entropy", "internals", (
        SeriesSpec("train", "routing_entropy", "entropy", BLUE),
        SeriesSpec("eval", "routing_entropy", "eval", ORANGE),
        SeriesSpec("train", "routing_entropy_std", "± std", BLUE, band_of="routing_entropy"),
        SeriesSpec("train", "temperature", "temperature", YELLOW, yside="right"),
    ), log_ok=False, help="Entropy of the routing weights over heads: log(heads) = uniform, 0 = one head."),
    PlotSpec("heads", "Head concentration", "internals", (
        SeriesSpec("train", "head_concentration", "Herfindahl", PURPLE),
        SeriesSpec("train", "top1_share", "top-1 share", GREEN),
    ), log_ok=False, keywords=("routing", "herfindahl", "top1"),
        help="Herfindahl index of the head weights (1/heads = spread evenly, 1 = one head)."),
    PlotSpec("act", "H updates & ACT segments", "internals", (
        SeriesSpec("train", "h_updates", "H updates", BLUE),
        SeriesSpec("train", "act_steps", "ACT segments", ORANGE),
        SeriesSpec("eval", "act_steps", "eval segments", YELLOW),
        SeriesSpec("train", "ponder", "ponder", GREEN, yside="right"),
    ), log_ok=False, keywords=("halting", "ponder"),
        help="H updates and ACT segments per halted sequence; ponder (routed hrm_act): sum of halting probabilities."),
    PlotSpec("q_values", "Q-halt vs Q-continue logits", "internals", (
        SeriesSpec("train", "q_halt", "Q-halt", VERMILION),
        SeriesSpec("train", "q_continue", "Q-continue", SKY),
    ), log_ok=False, keywords=("act", "halting")),
    PlotSpec("residuals", "Convergence |z(i) - z(i-1)|", "internals", kind="residuals",
             keywords=("diag", "hierarchical", "convergence"),
             help="Per inner step of the latest diag record: L settles within each H cycle, then H moves."),
    PlotSpec("routing", "Routing weight per head", "internals", kind="heads", log_ok=False,
             keywords=("diag", "alphas", "routing")),
)

PAGES = {"training": "Training", "internals": "HRM internals"}
PLOTS_BY_ID = {p.id: p for p in PLOTS}
