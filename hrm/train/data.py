"""Training batches from a puzzle split: the reference sampler, drawing as many rows as the model asks.

The reference HRM shuffles the groups (an original puzzle with its augmentations) each epoch,
picks one puzzle of each group at random and takes that puzzle's examples. Here the epoch's
example order is a pure function of (seed, epoch, rank), so the sampler's whole state is two
integers and a resumed run draws exactly what the uninterrupted run would have drawn. Each step
the trainer asks for exactly the rows the model's carry has free (`rows_to_fill`): an ACT model
only takes new puzzles into rows that halted.

Under DDP every rank shuffles the groups the same way and keeps every world-th group, so ranks
see disjoint data and may advance at different paces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hrm.data.format import DatasetError, DatasetMetadata, PuzzleSplit, load_split

IGNORE = -100


class PuzzleData:
    """One split, its sets joined into a single index space of groups, puzzles and examples."""

    def __init__(self, split: PuzzleSplit):
        self.root = split.root
        self.metadata: DatasetMetadata = split.metadata
        self._sets = list(split.sets.values())
        ex_off = puz_off = 0
        group_start, group_end, puz_start, puz_end, puz_ident, self._set_starts = [], [], [], [], [], []
        for s in self._sets:
            self._set_starts.append(ex_off)
            gi = np.asarray(s.group_indices, dtype=np.int64)
            pi = np.asarray(s.puzzle_indices, dtype=np.int64)
            group_start.append(gi[:-1] + puz_off)
            group_end.append(gi[1:] + puz_off)
            puz_start.append(pi[:-1] + ex_off)
            puz_end.append(pi[1:] + ex_off)
            puz_ident.append(np.asarray(s.puzzle_identifiers, dtype=np.int64))
            ex_off += s.num_examples
            puz_off += s.num_puzzles
        self.group_start = np.concatenate(group_start)
        self.group_end = np.concatenate(group_end)
        self.puzzle_start = np.concatenate(puz_start)
        self.puzzle_end = np.concatenate(puz_end)
        self.puzzle_identifiers = np.concatenate(puz_ident)
        self.num_examples = ex_off
        self._set_starts_arr = np.asarray(self._set_starts, dtype=np.int64)

    @property
    def num_groups(self) -> int:
        return int(self.group_start.shape[0])

    @property
    def seq_len(self) -> int:
        return self.metadata.seq_len

    @property
    def examples_per_epoch(self) -> float:
        """What one pass over the groups yields on average (the reference's epoch size)."""
        return self.num_groups * float(self.metadata.mean_puzzle_examples)

    def batch(self, ids: np.ndarray) -> dict[str, torch.Tensor]:
        """Rows `ids` as int64 tensors; labels use -100 where no loss is taken."""
        ids = np.asarray(ids, dtype=np.int64)
        n, s = len(ids), self.seq_len
        inputs = np.empty((n, s), dtype=np.int64)
        labels = np.empty((n, s), dtype=np.int64)
        set_of = np.searchsorted(self._set_starts_arr, ids, side="right") - 1
        for k, ps in enumerate(self._sets):
            rows = np.nonzero(set_of == k)[0]
            if rows.size:
                local = ids[rows] - self._set_starts[k]
                inputs[rows] = ps.inputs[local]
                labels[rows] = ps.labels[local]
        ignore = self.metadata.ignore_label_id
        if ignore is not None:
            labels[labels == ignore] = IGNORE
        puzzle = np.searchsorted(self.puzzle_start, ids, side="right") - 1
        return {
            "inputs": torch.from_numpy(inputs),
            "labels": torch.from_numpy(labels),
            "puzzle_identifiers": torch.from_numpy(self.puzzle_identifiers[puzzle]),
        }


def load_data(root: str | Path, split: str) -> PuzzleData:
    return PuzzleData(load_split(Path(root), split))


class GroupSampler:
    """Endless stream of example ids: epoch after epoch of shuffled groups, one puzzle per group."""

    def __init__(self, data: PuzzleData, seed: int, rank: int = 0, world_size: int = 1):
        if data.num_groups < world_size:
            raise DatasetError(
                f"{data.root}: {data.num_groups} puzzle group(s) cannot be shared among {world_size} ranks"
            )
        self.data, self.seed, self.rank, self.world_size = data, seed, rank, world_size
        self.epoch = 0
        self.pos = 0  # next index into the current epoch's order
        self.consumed = 0  # examples handed out on this rank, all epochs
        self._order_epoch = -1
        self._order = np.empty(0, dtype=np.int64)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """This rank's example ids for `epoch`, a pure function of (seed, epoch, rank)."""
        d = self.data
        groups = np.random.default_rng([self.seed, epoch]).permutation(d.num_groups)[self.rank :: self.world_size]
        rng = np.random.default_rng([self.seed, epoch, self.rank, 1])
        first, count = d.group_start[groups], d.group_end[groups] - d.group_start[groups]
        puzzles = first + (rng.random(len(groups)) * count).astype(np.int64)
        starts, lengths = d.puzzle_start[puzzles], d.puzzle_end[puzzles] - d.puzzle_start[puzzles]
        if np.all(lengths == 1):
            return starts
        owner = np.repeat(np.arange(len(puzzles)), lengths)
        within = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        ids = starts[owner] + within
        return ids[np.lexsort((rng.random(ids.size), owner))]  # a puzzle's examples in random order

    def _current(self) -> np.ndarray:
        if self._order_epoch != self.epoch:
            self._order, self._order_epoch = self.epoch_order(self.epoch), self.epoch
        return self._order

    def take(self, n: int) -> np.ndarray:
        out = []
        while n > 0:
            order = self._current()
            chunk = order[self.pos : self.pos + n]
            out.append(chunk)
            self.pos += len(chunk)
            n -= len(chunk)
            if self.pos >= len(order):
                self.epoch, self.pos = self.epoch + 1, 0
        ids = np.concatenate(out) if out else np.empty(0, dtype=np.int64)
        self.consumed += len(ids)
        return ids

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "pos": self.pos, "consumed": self.consumed, "rank": self.rank,
                "world_size": self.world_size, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.pos, self.consumed = int(state["epoch"]), int(state["pos"]), int(state["consumed"])


def eval_ids(data: PuzzleData, limit: int, rank: int = 0, world_size: int = 1) -> np.ndarray:
    """The evaluation examples: the whole split, or a fixed subset of `limit` (the same for every run
    and seed, so runs compare on the same puzzles), sharded over ranks."""
    n = data.num_examples
    if limit and limit < n:
        ids = np.sort(np.random.default_rng(20250626).choice(n, size=limit, replace=False))
    else:
        ids = np.arange(n, dtype=np.int64)
    return ids[rank::world_size]
