"""Where Sudoku puzzles come from besides the generator: a CSV in the Sudoku-Extreme layout, or the
public sapientinc/sudoku-extreme dataset on the Hugging Face hub (optional, online)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hrm.data.sudoku import to_tokens, verify
from hrm.errors import UserError

HUB_REPO = "sapientinc/sudoku-extreme"


class SourceError(UserError, ValueError):
    """A puzzle source that cannot be read; the message names the file or option."""


@dataclass
class PuzzleTable:
    """Puzzles of one split: digits 0..9 (0 = blank), their solutions, and ratings (-1 = unknown)."""

    cells: np.ndarray  # (N, 81) int8
    solutions: np.ndarray  # (N, 81) int8
    ratings: np.ndarray  # (N,) int32

    def __len__(self) -> int:
        return len(self.cells)

    def take(self, index: np.ndarray) -> PuzzleTable:
        return PuzzleTable(self.cells[index], self.solutions[index], self.ratings[index])


def parse_source(source: str) -> tuple[str, Path | None]:
    """`generate`, `hub` or `csv:PATH` -> (kind, path)."""
    if source in ("generate", "hub"):
        return source, None
    if source.startswith("csv:") and len(source) > 4:
        return "csv", Path(source[4:])
    raise SourceError(f"--source {source!r}: use generate, hub, or csv:PATH (a CSV file or a folder with train.csv and test.csv)")


def _grid_array(strings: list[str], blanks: bytes) -> np.ndarray:
    raw = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).reshape(len(strings), 81).copy()
    for b in blanks:
        raw[raw == b] = ord("0")
    return (raw - ord("0")).astype(np.int8)


def read_csv(path: Path) -> PuzzleTable:
    """Read `source,q,a,rating` rows (a header line first; `.` or `0` marks a blank in q). Every row
    is checked: 81 cells, digits only, and `a` must solve `q` (the Sudoku verifier)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such CSV file")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or "q" not in header or "a" not in header:
            raise SourceError(f"{path}: expected a header with columns q and a (Sudoku-Extreme layout: source,q,a,rating)")
        qi, ai = header.index("q"), header.index("a")
        ri = header.index("rating") if "rating" in header else None
        qs, answers, ratings = [], [], []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                q, a = row[qi], row[ai]
                rating = int(row[ri]) if ri is not None and row[ri] != "" else -1
            except (IndexError, ValueError):
                raise SourceError(f"{path}:{line}: malformed row {row!r}") from None
            if len(q) != 81 or len(a) != 81 or not q.isascii() or not a.isascii():
                raise SourceError(f"{path}:{line}: q and a must each have 81 cells")
            if q.strip(".0123456789") or a.strip("123456789"):
                raise SourceError(f"{path}:{line}: q may hold digits and '.', a only digits 1-9")
            qs.append(q)
            answers.append(a)
            ratings.append(rating)
    if not qs:
        raise SourceError(f"{path}: no puzzles")
    table = PuzzleTable(_grid_array(qs, b"."), _grid_array(answers, b""), np.array(ratings, dtype=np.int32))
    ok = verify(to_tokens(table.cells), to_tokens(table.solutions))
    if not ok.all():
        bad = (np.flatnonzero(~ok)[:5] + 2).tolist()
        raise SourceError(f"{path}: {int((~ok).sum())} answers do not solve their puzzle (lines {bad}...)")
    return table


def at_least_rated(table: PuzzleTable, min_rating: int | None, where: Path | str) -> PuzzleTable:
    """The puzzles rated `min_rating` or more (all when None)."""
    if min_rating is None:
        return table
    if (table.ratings < 0).any():
        raise SourceError(f"{where}: --min-difficulty needs a rating column")
    return table.take(table.ratings >= min_rating)


def csv_splits(
    path: Path, num_test: int, rng: np.random.Generator, min_rating: int | None = None
) -> tuple[PuzzleTable, PuzzleTable]:
    """(train, test) from a folder holding train.csv and test.csv, or from one CSV file whose rows
    are split at random (after the rating filter): `num_test` rows for test, the rest for train."""
    path = Path(path)
    if path.is_dir():
        missing = [n for n in ("train.csv", "test.csv") if not (path / n).is_file()]
        if missing:
            raise SourceError(f"{path}: missing {', '.join(missing)}; pass a folder with train.csv and test.csv, or one CSV file")
        return tuple(at_least_rated(read_csv(path / n), min_rating, path / n) for n in ("train.csv", "test.csv"))  # type: ignore[return-value]
    table = at_least_rated(read_csv(path), min_rating, path)
    if len(table) <= num_test:
        raise SourceError(f"{path}: {len(table)} puzzles, but --num-test {num_test} leaves none for train")
    order = rng.permutation(len(table))
    return table.take(np.sort(order[num_test:])), table.take(np.sort(order[:num_test]))


def hub_splits(min_rating: int | None = None) -> tuple[PuzzleTable, PuzzleTable]:
    """(train, test) of the public dataset, downloaded or taken from the local hub cache."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise SourceError(
            "--source hub needs huggingface_hub: pip install 'hrm[hub]'; or download the CSVs yourself and "
            "pass --source csv:FOLDER"
        ) from None
    tables = []
    for name in ("train.csv", "test.csv"):
        try:
            path = hf_hub_download(HUB_REPO, name, repo_type="dataset")
        except Exception as exc:  # network, auth and cache errors come in many types; all mean the same here
            raise SourceError(
                f"could not fetch {name} of {HUB_REPO} from the Hugging Face hub ({type(exc).__name__}: {exc}); "
                "check the network, or pass --source csv:FOLDER with downloaded CSVs"
            ) from None
        tables.append(at_least_rated(read_csv(Path(path)), min_rating, path))
    return tables[0], tables[1]
