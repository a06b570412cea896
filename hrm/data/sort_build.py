"""`hrm build-data sort`: random key sequences with their sorting permutation, a train and a test
split at `--length`, and one extra split `test_len<L>` per `--test-lengths` entry (length
extrapolation). Train and test share no sequence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data import sort
from hrm.data.build import metadata, one_example_per_puzzle, run_build
from hrm.data.format import write_identifiers, write_index_arrays, write_metadata
from hrm.data.progress import Reporter
from hrm.errors import UserError

MAX_LENGTH = 4096


@dataclass
class SortOptions:
    out: Path | None = None  # None: data/sort-<length>
    length: tuple[int, int] = (12, 12)  # train/test lengths, drawn uniformly from this range
    test_lengths: list[int] = field(default_factory=list)
    num_train: int = 10000
    num_test: int = 1000
    key_range: int = 64  # keys are 0..key_range-1 (ties happen when it is small)
    seed: int = 0
    force: bool = False

    def output_dir(self) -> Path:
        lo, hi = self.length
        return Path(self.out) if self.out is not None else Path(f"data/sort-{lo}" + (f"-{hi}" if hi != lo else ""))

    def seq_len(self) -> int:
        return max([self.length[1], *self.test_lengths])

    def check(self) -> None:
        lo, hi = self.length
        if not 1 <= lo <= hi <= MAX_LENGTH:
            raise UserError(f"--length {lo}-{hi}: need 1 <= low <= high <= {MAX_LENGTH}")
        bad = [n for n in self.test_lengths if not 1 <= n <= MAX_LENGTH]
        if bad:
            raise UserError(f"--test-lengths {bad}: each length must be 1..{MAX_LENGTH}")
        if self.num_train < 1 or self.num_test < 1:
            raise UserError("--num-train and --num-test must be at least 1")
        if self.key_range < 2:
            raise UserError("--key-range must be at least 2")

    def record(self) -> dict[str, Any]:
        args = asdict(self)
        args.pop("force")
        args["out"] = str(self.output_dir())
        args["length"] = list(self.length)
        return args


def _draw(rng: np.random.Generator, n: int, lengths: tuple[int, int], key_range: int, max_len: int):
    keys = rng.integers(0, key_range, size=(n, max_len))
    count = rng.integers(lengths[0], lengths[1] + 1, size=n)
    return keys, count


def _rows_as_bytes(inputs: np.ndarray) -> list[bytes]:
    return [bytes(r) for r in np.ascontiguousarray(inputs, dtype=np.int32)]


def _write(root: Path, split: str, inputs: np.ndarray, labels: np.ndarray, vocab: int) -> None:
    split_dir = root / split
    split_dir.mkdir(parents=True)
    dtype = np.uint8 if vocab <= 256 else np.int32
    np.save(split_dir / "all__inputs.npy", inputs.astype(dtype), allow_pickle=False)
    np.save(split_dir / "all__labels.npy", labels.astype(dtype), allow_pickle=False)
    write_index_arrays(split_dir, "all", **one_example_per_puzzle(len(inputs), 1))
    write_metadata(split_dir, metadata(inputs.shape[1], vocab, total_groups=len(inputs)))


def build_sort(opts: SortOptions, reporter: Reporter) -> dict[str, Any]:
    opts.check()
    rng = np.random.default_rng(opts.seed)
    seq_len = opts.seq_len()
    vocab = 1 + max(opts.key_range, seq_len)

    def body(root: Path):
        splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        plan = [("test", opts.length, opts.num_test)] + [(f"test_len{n}", (n, n), opts.num_test) for n in opts.test_lengths]
        reporter.stage("generate", len(plan) + 1)
        for name, lengths, count in plan:
            keys, n = _draw(rng, count, lengths, opts.key_range, seq_len)
            splits[name] = sort.sort_labels(keys, n, seq_len)
            reporter.advance(1)
        held_out = set(_rows_as_bytes(splits["test"][0]))
        keys, n = _draw(rng, opts.num_train, opts.length, opts.key_range, seq_len)
        inputs, labels = sort.sort_labels(keys, n, seq_len)
        keep = np.array([row not in held_out for row in _rows_as_bytes(inputs)], dtype=bool)
        splits = {"train": (inputs[keep], labels[keep]), **splits}
        reporter.advance(1)
        reporter.stage("write", len(splits))
        for name, (x, y) in splits.items():
            _write(root, name, x, y, vocab)
            reporter.advance(1)
        write_identifiers(root, ["<blank>"])
        lengths = {name: sorted({int(v) for v in np.unique(sort.lengths_of(x))}) for name, (x, _) in splits.items()}
        stats = {"seq_len": seq_len, "vocab_size": vocab, "key_range": opts.key_range,
                 "train_dropped_in_test": int((~keep).sum()),
                 "lengths": {k: [v[0], v[-1]] for k, v in lengths.items()}}
        rows = [("seq_len / vocab", f"{seq_len} / {vocab}"), ("keys", f"0..{opts.key_range - 1}")]
        rows += [(f"{k} lengths", f"{v[0]}" + (f"-{v[-1]}" if v[-1] != v[0] else "")) for k, v in lengths.items()]
        rows.append(("train dropped", f"{int((~keep).sum())} (same keys as a test sequence)"))
        return stats, rows

    return run_build(task="sort", out=opts.output_dir(), force=opts.force, args=opts.record(), seed=opts.seed,
                     reporter=reporter, body=body)
