"""Operations on a model's carry (the ACT state kept between training steps) without knowing its type.

A carry is any nesting of dataclasses, dicts, lists and tuples with tensors at the leaves (or None
for stateless models). The trainer needs four things from it: move it, cut it into micro-batches
and join it back (when an out-of-memory error halves the micro-batch), and save it in a
checkpoint as plain tensors (weights_only loading cannot rebuild arbitrary classes, so a carry is
restored into a template made by `model.initial_carry`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch


def tree_map(fn: Callable[[torch.Tensor], Any], obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: tree_map(fn, getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    if isinstance(obj, dict):
        return type(obj)((k, tree_map(fn, v)) for k, v in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # NamedTuple
        return type(obj)(*(tree_map(fn, v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(tree_map(fn, v) for v in obj)
    return obj


def leaves(obj: Any) -> list[torch.Tensor]:
    """The tensors of a carry in a fixed order (the order `tree_map` visits them)."""
    found: list[torch.Tensor] = []
    tree_map(lambda t: found.append(t) or t, obj)
    return found


def restore(template: Any, saved: list[torch.Tensor]) -> Any:
    """Put saved tensors into a carry of the same structure (from `model.initial_carry`)."""
    expected = leaves(template)
    if len(expected) != len(saved):
        raise ValueError(f"carry has {len(expected)} tensors but the checkpoint holds {len(saved)}")
    it = iter(saved)

    def take(t: torch.Tensor) -> torch.Tensor:
        s = next(it)
        if s.shape != t.shape:
            raise ValueError(f"carry tensor shape {tuple(s.shape)} in the checkpoint, {tuple(t.shape)} expected")
        return s.to(device=t.device, dtype=t.dtype)

    return tree_map(take, template)


def batch_size(obj: Any) -> int | None:
    sizes = [t.shape[0] for t in leaves(obj) if t.ndim >= 1]
    return max(sizes) if sizes else None


def split(obj: Any, parts: int) -> list[Any]:
    """Cut every batch-shaped tensor (first dim = the carry's batch) into `parts` equal pieces."""
    if obj is None:
        return [None] * parts
    b = batch_size(obj)
    if b is None or b % parts:
        raise ValueError(f"cannot split a carry of {b} rows into {parts} equal parts")
    size = b // parts
    return [
        tree_map(lambda t, i=i: t[i * size : (i + 1) * size] if t.ndim >= 1 and t.shape[0] == b else t, obj)
        for i in range(parts)
    ]


def concat(carries: list[Any]) -> Any:
    """Join carries along the batch; tensors that are not batch-shaped are taken from the first."""
    if carries[0] is None:
        return None
    b = batch_size(carries[0])
    columns = [leaves(c) for c in carries]
    joined = [
        torch.cat([col[i] for col in columns]) if col0.ndim >= 1 and col0.shape[0] == b else col0
        for i, col0 in enumerate(columns[0])
    ]
    return restore_like(carries[0], joined)


def restore_like(template: Any, tensors: list[torch.Tensor]) -> Any:
    """Like `restore`, but the new tensors may differ in shape (a joined or re-split carry)."""
    it = iter(tensors)
    return tree_map(lambda _t: next(it), template)


def regroup(carries: list[Any], parts: int) -> list[Any]:
    """Re-cut a list of micro-batch carries into `parts` micro-batches, rows kept in order."""
    return split(concat(carries), parts)


def detach(obj: Any) -> Any:
    return tree_map(lambda t: t.detach(), obj)
