"""The on-disk puzzle dataset format, shared with the reference HRM (sapientinc/HRM).

    <root>/identifiers.json                  puzzle identifier names, index = id
    <root>/<split>/dataset.json              metadata (below)
    <root>/<split>/<set>__inputs.npy         (N, seq_len) token ids
    <root>/<split>/<set>__labels.npy         (N, seq_len) token ids; ignore_label_id marks "no loss"
    <root>/<split>/<set>__puzzle_identifiers.npy   (P,) identifier per puzzle
    <root>/<split>/<set>__puzzle_indices.npy       (P+1,) example offsets of each puzzle
    <root>/<split>/<set>__group_indices.npy        (G+1,) puzzle offsets of each group

A group is one original puzzle with its augmentations; the training sampler shuffles groups and
takes one example per group. Datasets written here train in the reference and vice versa.

hrm adds `<root>/hrm.json` (task, build options, seed, counts, seconds; the reference ignores it),
and some datasets have extra splits beside train/test (e.g. `test_len20` for the sort task).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from hrm.errors import UserError

FIELDS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
SPLITS = ("train", "test")


class DatasetError(UserError, ValueError):
    """A dataset that cannot be used; the message names the file and what to do."""


class DatasetMetadata(BaseModel):
    """`dataset.json`, field for field as the reference writes it."""

    pad_id: int
    ignore_label_id: int | None
    blank_identifier_id: int
    vocab_size: int
    seq_len: int
    num_puzzle_identifiers: int
    total_groups: int
    mean_puzzle_examples: float
    sets: list[str]


@dataclass
class PuzzleSet:
    """One `<set>` of a split, arrays loaded (inputs/labels memory-mapped)."""

    name: str
    inputs: np.ndarray
    labels: np.ndarray
    puzzle_identifiers: np.ndarray
    puzzle_indices: np.ndarray
    group_indices: np.ndarray

    @property
    def num_examples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def num_puzzles(self) -> int:
        return int(self.puzzle_identifiers.shape[0])

    @property
    def num_groups(self) -> int:
        return int(self.group_indices.shape[0] - 1)


@dataclass
class PuzzleSplit:
    root: Path
    split: str
    metadata: DatasetMetadata
    sets: dict[str, PuzzleSet]

    @property
    def num_examples(self) -> int:
        return sum(s.num_examples for s in self.sets.values())


def _load_array(path: Path, mmap: bool) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: file missing; rebuild the dataset (hrm build-data ... --force)")
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        raise DatasetError(f"{path}: not a plain numeric .npy array ({exc}); rebuild the dataset") from None
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: unreadable or truncated ({exc}); rebuild the dataset") from None
    if arr.dtype.kind not in "iu":
        raise DatasetError(f"{path}: dtype {arr.dtype} is not an integer type; rebuild the dataset")
    return arr


def read_metadata(split_dir: Path) -> DatasetMetadata:
    path = Path(split_dir) / "dataset.json"
    if not path.is_file():
        raise DatasetError(
            f"{path}: missing; is {split_dir.parent} a dataset? Build one with `hrm build-data sudoku`"
        )
    try:
        return DatasetMetadata.model_validate(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) + f" ({e['msg']})" for e in exc.errors())
        raise DatasetError(f"{path}: bad metadata: {fields}") from None


def _check_set(split_dir: Path, meta: DatasetMetadata, s: PuzzleSet) -> None:
    """Shapes, ranges and index consistency; every message names the file at fault."""

    def where(field: str) -> Path:
        return split_dir / f"{s.name}__{field}.npy"

    for field in ("inputs", "labels"):
        arr = getattr(s, field)
        if arr.ndim != 2 or arr.shape[1] != meta.seq_len:
            raise DatasetError(f"{where(field)}: shape {arr.shape}, expected (N, {meta.seq_len}) from dataset.json seq_len")
    if s.labels.shape[0] != s.inputs.shape[0]:
        raise DatasetError(f"{where('labels')}: {s.labels.shape[0]} rows but inputs has {s.inputs.shape[0]}")
    for field in ("puzzle_identifiers", "puzzle_indices", "group_indices"):
        if getattr(s, field).ndim != 1:
            raise DatasetError(f"{where(field)}: shape {getattr(s, field).shape}, expected one dimension")
    if s.inputs.size:
        lo, hi = int(s.inputs.min()), int(s.inputs.max())
        if lo < 0 or hi >= meta.vocab_size:
            raise DatasetError(f"{where('inputs')}: token ids span {lo}..{hi}, outside vocab_size {meta.vocab_size}")
        labels = np.asarray(s.labels)
        valid = labels if meta.ignore_label_id is None else labels[labels != meta.ignore_label_id]
        if valid.size and (int(valid.min()) < 0 or int(valid.max()) >= meta.vocab_size):
            raise DatasetError(
                f"{where('labels')}: label ids span {int(valid.min())}..{int(valid.max())}, outside vocab_size {meta.vocab_size}"
            )
    pid = s.puzzle_identifiers
    if pid.size and (int(pid.min()) < 0 or int(pid.max()) >= meta.num_puzzle_identifiers):
        raise DatasetError(
            f"{where('puzzle_identifiers')}: ids span {int(pid.min())}..{int(pid.max())}, "
            f"outside num_puzzle_identifiers {meta.num_puzzle_identifiers}"
        )
    pi, gi = s.puzzle_indices, s.group_indices
    if pi.shape[0] != pid.shape[0] + 1 or (pi.size and (pi[0] != 0 or pi[-1] != s.num_examples)):
        raise DatasetError(
            f"{where('puzzle_indices')}: expected {pid.shape[0] + 1} offsets from 0 to {s.num_examples}"
        )
    if np.any(np.diff(pi) <= 0):
        raise DatasetError(f"{where('puzzle_indices')}: offsets must strictly increase (a puzzle with no examples)")
    if gi.size < 1 or gi[0] != 0 or gi[-1] != pid.shape[0] or np.any(np.diff(gi) <= 0):
        raise DatasetError(f"{where('group_indices')}: expected increasing offsets from 0 to {pid.shape[0]} puzzles")


def load_split(root: Path, split: str, mmap: bool = True) -> PuzzleSplit:
    """Load and validate `<root>/<split>`; raises DatasetError naming the file at fault."""
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetError(f"{split_dir}: no such split folder; build the dataset with `hrm build-data`")
    meta = read_metadata(split_dir)
    sets = {}
    for name in meta.sets:
        arrays = {f: _load_array(split_dir / f"{name}__{f}.npy", mmap=mmap and f in ("inputs", "labels")) for f in FIELDS}
        s = PuzzleSet(name=name, **arrays)
        _check_set(split_dir, meta, s)
        sets[name] = s
    total_groups = sum(s.num_groups for s in sets.values())
    if total_groups != meta.total_groups:
        raise DatasetError(
            f"{split_dir / 'dataset.json'}: total_groups {meta.total_groups} but the group_indices hold {total_groups}"
        )
    return PuzzleSplit(root, split, meta, sets)


@dataclass
class DatasetSummary:
    root: Path
    splits: dict[str, int]  # split -> examples
    seq_len: int
    vocab_size: int


def validate_dataset(root: Path, splits: tuple[str, ...] = SPLITS) -> DatasetSummary:
    """Check every split of a dataset; returns counts or raises DatasetError."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder; build it with `hrm build-data`")
    loaded = {split: load_split(root, split) for split in splits}
    metas = [s.metadata for s in loaded.values()]
    for m in metas[1:]:
        if (m.seq_len, m.vocab_size) != (metas[0].seq_len, metas[0].vocab_size):
            raise DatasetError(f"{root}: splits disagree on seq_len/vocab_size; rebuild the dataset")
    return DatasetSummary(root, {k: v.num_examples for k, v in loaded.items()}, metas[0].seq_len, metas[0].vocab_size)


def write_metadata(split_dir: Path, metadata: DatasetMetadata) -> None:
    Path(split_dir).mkdir(parents=True, exist_ok=True)
    (Path(split_dir) / "dataset.json").write_text(json.dumps(metadata.model_dump()))


def create_example_arrays(
    split_dir: Path, set_name: str, num_examples: int, seq_len: int, dtype=np.uint8
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of one set as writable memory-mapped .npy files, for builds too big for RAM."""
    split_dir = Path(split_dir)
    split_dir.mkdir(parents=True, exist_ok=True)
    shape = (int(num_examples), int(seq_len))
    return tuple(  # type: ignore[return-value]
        np.lib.format.open_memmap(split_dir / f"{set_name}__{field}.npy", mode="w+", dtype=dtype, shape=shape)
        for field in ("inputs", "labels")
    )


def write_index_arrays(
    split_dir: Path, set_name: str, puzzle_identifiers: np.ndarray, puzzle_indices: np.ndarray, group_indices: np.ndarray
) -> None:
    """The three small index arrays of one set, as int32 like the reference."""
    for field, arr in (
        ("puzzle_identifiers", puzzle_identifiers),
        ("puzzle_indices", puzzle_indices),
        ("group_indices", group_indices),
    ):
        np.save(Path(split_dir) / f"{set_name}__{field}.npy", np.asarray(arr, dtype=np.int32), allow_pickle=False)


def write_split(split_dir: Path, metadata: DatasetMetadata, sets: dict[str, dict[str, np.ndarray]]) -> None:
    """Write one split's arrays and dataset.json (into a folder that the caller renames into place)."""
    split_dir.mkdir(parents=True, exist_ok=True)
    for set_name, arrays in sets.items():
        missing = set(FIELDS) - set(arrays)
        if missing:
            raise ValueError(f"set '{set_name}' lacks {sorted(missing)}")
        for field in FIELDS:
            np.save(split_dir / f"{set_name}__{field}.npy", np.ascontiguousarray(arrays[field]), allow_pickle=False)
    write_metadata(split_dir, metadata)


def list_splits(root: Path) -> list[str]:
    """Split folders of a dataset (those holding a dataset.json): train and test first, then the rest."""
    root = Path(root)
    found = sorted(p.parent.name for p in root.glob("*/dataset.json"))
    return [s for s in SPLITS if s in found] + [s for s in found if s not in SPLITS]


BUILD_INFO = "hrm.json"
BUILD_INFO_VERSION = 1
TASKS = ("sudoku", "maze", "arc", "sort")
# (seq_len, vocab_size) of the reference's builders, to name the task of a dataset without hrm.json.
_REFERENCE_SHAPES = {(81, 11): "sudoku", (900, 6): "maze", (900, 12): "arc"}


def write_build_info(
    root: Path, task: str, args: dict[str, Any], seed: int, counts: dict[str, Any], seconds: float, **extra: Any
) -> dict[str, Any]:
    """`<root>/hrm.json`: what was built and how; the reference ignores the file."""
    info = {"task": task, "args": args, "seed": seed, "counts": counts, "seconds": round(float(seconds), 3),
            "version": BUILD_INFO_VERSION, **extra}
    (Path(root) / BUILD_INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")
    return info


def read_build_info(root: Path) -> dict[str, Any] | None:
    """The parsed hrm.json, or None for a dataset built by the reference (no such file)."""
    path = Path(root) / BUILD_INFO
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc}); rebuild the dataset with --force") from None
    if not isinstance(info, dict) or info.get("task") not in TASKS:
        raise DatasetError(f"{path}: 'task' must be one of {', '.join(TASKS)}; rebuild the dataset with --force")
    return info


def read_task(root: Path) -> str:
    """The task of a dataset: from hrm.json, else inferred from seq_len/vocab_size of a reference build."""
    root = Path(root)
    info = read_build_info(root)
    if info is not None:
        return str(info["task"])
    splits = list_splits(root)
    if not splits:
        raise DatasetError(f"{root}: no split with a dataset.json; build one with `hrm build-data`")
    meta = read_metadata(root / splits[0])
    task = _REFERENCE_SHAPES.get((meta.seq_len, meta.vocab_size))
    if task is None:
        raise DatasetError(
            f"{root / splits[0] / 'dataset.json'}: seq_len {meta.seq_len} / vocab_size {meta.vocab_size} match no "
            f"known task and there is no {BUILD_INFO}; rebuild it with `hrm build-data`"
        )
    return task


def write_identifiers(root: Path, names: list[str]) -> None:
    """`<root>/identifiers.json`: the name of each puzzle identifier (index 0 = "<blank>")."""
    (Path(root) / "identifiers.json").write_text(json.dumps(names))


@contextmanager
def staged_output(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temp folder beside `out`; on success it replaces `out` in one rename, on error it is
    removed, so an interrupted build never leaves half a dataset. Refuses to overwrite without force."""
    out = Path(out)
    if out.exists() and not force:
        raise DatasetError(f"{out}: already exists; pass --force to rebuild it, or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the dataset should not be
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
