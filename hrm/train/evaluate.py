"""The in-training evaluation: the held-out split (or a fixed subset) through `model.predict`.

Two accuracies, both reported because users confuse them: `accuracy` is per cell (over the cells
that carry a label), `exact_accuracy` is per puzzle (every labelled cell right) and is the
paper's headline figure. Under DDP each rank predicts its shard and the sums are all-reduced.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import torch

from hrm.train.data import IGNORE, PuzzleData, eval_ids
from hrm.train.distributed import DistContext

_SUMS = ("examples", "cells", "cells_correct", "exact", "steps", "loss")


@torch.no_grad()
def evaluate(
    model: Any,
    data: PuzzleData,
    limit: int,
    batch_size: int,
    device: str,
    autocast: Callable[[], AbstractContextManager],
    ctx: DistContext,
    on_batch: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    ids = eval_ids(data, limit, ctx.rank, ctx.world_size)
    sums = dict.fromkeys(_SUMS, 0.0)
    routing: dict[str, float] = {}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(ids), batch_size):
            batch = {k: v.to(device) for k, v in data.batch(ids[start : start + batch_size]).items()}
            with autocast():
                pred = model.predict(batch)
            labels = batch["labels"]
            mask = labels != IGNORE
            correct = (pred.tokens.to(labels.device) == labels) & mask
            sums["examples"] += labels.shape[0]
            sums["cells"] += float(mask.sum())
            sums["cells_correct"] += float(correct.sum())
            sums["exact"] += float((correct.sum(1) == mask.sum(1)).sum())
            sums["steps"] += float(pred.steps.float().sum())
            loss = getattr(pred, "loss", None)
            if loss is not None:
                sums["loss"] += float(loss) * labels.shape[0]
            for key, value in (getattr(pred, "diag", None) or {}).items():
                if key.startswith(("routing_", "head_", "top1_")) and isinstance(value, (int, float)):
                    routing[key] = routing.get(key, 0.0) + float(value) * labels.shape[0]
            on_batch()
    finally:
        model.train(was_training)
    keys = list(_SUMS) + sorted(routing)
    totals = torch.tensor([sums.get(k, routing.get(k, 0.0)) for k in keys], dtype=torch.float64)
    totals = ctx.all_reduce_sum(totals).tolist()
    t = dict(zip(keys, totals))
    n = max(t["examples"], 1.0)
    out = {
        "examples": int(t["examples"]),
        "accuracy": t["cells_correct"] / max(t["cells"], 1.0),
        "exact_accuracy": t["exact"] / n,
        "act_steps": t["steps"] / n,
    }
    if t["loss"]:
        out["loss"] = t["loss"] / n
    out.update({k: t[k] / n for k in sorted(routing)})
    return out
