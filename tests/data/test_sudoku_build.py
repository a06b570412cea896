from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from hrm.data import sudoku
from hrm.data.format import DatasetError, load_split, read_task
from hrm.data.progress import QuietReporter
from hrm.data.sudoku_build import SudokuOptions, build_sudoku
from hrm.data.sudoku_generate import generate_puzzle
from hrm.data.sudoku_sources import SourceError, parse_source, read_csv
from hrm.errors import UserError


def write_csv(path, seeds, rating=None, blank="."):
    rows = ["source,q,a,rating"]
    for i, s in enumerate(seeds):
        p = generate_puzzle(s, "medium")
        q = "".join(str(v) if v else blank for v in p.cells)
        a = "".join(str(v) for v in p.solution)
        rows.append(f"gen,{q},{a},{rating[i] if rating else p.rating}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_every_label_verifies_and_groups_hold_augmentations(sudoku_dataset, examples):
    root, summary = sudoku_dataset
    assert read_task(root) == "sudoku"
    train = load_split(root, "train")
    assert train.metadata.seq_len == 81 and train.metadata.vocab_size == 11
    assert train.metadata.num_puzzle_identifiers == 1 and train.metadata.total_groups == 40
    s = train.sets["all"]
    assert s.num_examples == 40 * 4 and (np.diff(s.group_indices) == 4).all()
    inputs, labels = examples(root, "train")
    assert inputs.dtype == np.uint8 and sudoku.verify(inputs, labels).all()
    keys = sudoku.equivalence_keys(sudoku.to_cells(inputs)).reshape(40, 4)
    assert (keys == keys[:, :1]).all()  # a group is one puzzle and its symmetric copies
    test_in, test_lab = examples(root, "test")
    assert len(test_in) == 15 and sudoku.verify(test_in, test_lab).all()
    assert summary["counts"]["train"]["examples"] == 160 and summary["counts"]["test"]["groups"] == 15


def test_train_and_test_are_inequivalent(sudoku_dataset, examples):
    root, _ = sudoku_dataset
    train_in, _ = examples(root, "train")
    test_in, _ = examples(root, "test")
    train_keys = sudoku.equivalence_keys(sudoku.to_cells(train_in))
    test_keys = sudoku.equivalence_keys(sudoku.to_cells(test_in))
    assert not np.isin(test_keys, train_keys).any()
    assert len(np.unique(test_keys)) == len(test_keys)


def test_build_info_records_options(sudoku_dataset):
    root, summary = sudoku_dataset
    info = json.loads((root / "hrm.json").read_text())
    assert info["task"] == "sudoku" and info["version"] == 1 and info["seed"] == 7
    assert info["args"]["num_aug"] == 3 and info["args"]["givens"] == [46, 54] and "force" not in info["args"]
    assert info["counts"]["train"]["examples"] == 160 and info["seconds"] > 0
    assert info["splits"] == ["train", "test"] and info["stats"]["train"]["rating"]["max"] == 0
    assert json.loads((root / "identifiers.json").read_text()) == ["<blank>"]


def test_builds_are_deterministic_per_seed(tmp_path, sudoku_options, sudoku_dataset, examples):
    root, _ = sudoku_dataset
    again = tmp_path / "again"
    build_sudoku(sudoku_options(again, workers=2), QuietReporter())  # a process pool gives the same data
    for split in ("train", "test"):
        for a, b in zip(examples(root, split), examples(again, split), strict=True):
            assert (a == b).all()
    other = tmp_path / "other"
    build_sudoku(sudoku_options(other, seed=8), QuietReporter())
    assert not (examples(root, "test")[0] == examples(other, "test")[0]).all()


def test_refuses_to_overwrite_without_force(sudoku_dataset, sudoku_options):
    root, _ = sudoku_dataset
    before = (root / "train" / "all__inputs.npy").read_bytes()
    with pytest.raises(DatasetError, match="already exists; pass --force"):
        build_sudoku(sudoku_options(root), QuietReporter())
    assert (root / "train" / "all__inputs.npy").read_bytes() == before


def test_force_replaces_and_a_failed_build_leaves_nothing(tmp_path, sudoku_options):
    out = tmp_path / "ds"
    build_sudoku(sudoku_options(out, num_train=5, num_test=3, num_aug=0), QuietReporter())
    build_sudoku(sudoku_options(out, num_train=6, num_test=3, num_aug=0, force=True), QuietReporter())
    assert load_split(out, "train").num_examples == 6
    with pytest.raises(UserError, match="min-difficulty"):
        build_sudoku(sudoku_options(tmp_path / "never", num_train=2, num_test=1, min_difficulty=1), QuietReporter())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_difficulty_and_givens_options(tmp_path, sudoku_options):
    summary = build_sudoku(sudoku_options(tmp_path / "m", num_train=6, num_test=3, num_aug=0, difficulty="medium",
                                          givens=(30, 31)), QuietReporter())
    assert summary["stats"]["train"]["givens"]["min"] >= 30
    summary = build_sudoku(sudoku_options(tmp_path / "e", num_train=6, num_test=3, num_aug=0, givens=(40, 41),
                                          subsample_size=4), QuietReporter())
    assert 40 <= summary["stats"]["train"]["givens"]["min"] <= summary["stats"]["train"]["givens"]["max"] <= 41
    assert summary["counts"]["train"]["examples"] == 4


def test_hard_build_with_min_difficulty(tmp_path, sudoku_options):
    summary = build_sudoku(sudoku_options(tmp_path / "h", num_train=3, num_test=2, num_aug=0, difficulty="hard",
                                          climb_steps=5, min_difficulty=1), QuietReporter())
    assert summary["stats"]["train"]["rating"]["histogram"]["0"] == 0
    assert summary["stats"]["train"]["givens"]["max"] < 30


@pytest.mark.parametrize("bad", [dict(num_train=0), dict(num_aug=-1), dict(givens=(16, 20)), dict(givens=(40, 30)),
                                 dict(difficulty="extreme"), dict(subsample_size=0), dict(source="ftp:x")])
def test_rejects_bad_options(tmp_path, bad):
    with pytest.raises(UserError):
        build_sudoku(SudokuOptions(out=tmp_path / "x", **bad), QuietReporter())
    assert not (tmp_path / "x").exists()


def test_default_output_folders():
    assert str(SudokuOptions().output_dir()) == "data/sudoku-demo"
    assert str(SudokuOptions(difficulty="hard").output_dir()) == "data/sudoku-hard"
    assert str(SudokuOptions(source="hub").output_dir()) == "data/sudoku-extreme"
    assert parse_source("csv:a/b.csv") == ("csv", __import__("pathlib").Path("a/b.csv"))


def test_csv_folder_source(tmp_path, sudoku_options, examples):
    folder = tmp_path / "csv"
    folder.mkdir()
    write_csv(folder / "train.csv", [f"c:{i}" for i in range(12)] + ["c:0"])  # a repeat of c:0
    write_csv(folder / "test.csv", ["c:1", "t:0", "t:1"], blank="0")  # c:1 also in train
    out = tmp_path / "out"
    summary = build_sudoku(sudoku_options(out, source=f"csv:{folder}", num_aug=1), QuietReporter())
    assert summary["stats"]["train_dropped_equivalent"] == 2
    assert summary["counts"]["train"]["groups"] == 11 and summary["counts"]["test"]["examples"] == 3
    inputs, labels = examples(out, "train")
    assert sudoku.verify(inputs, labels).all()
    table = read_csv(folder / "test.csv")
    assert (sudoku.to_tokens(table.cells) == examples(out, "test")[0]).all()


def test_csv_file_is_split_and_filtered_by_rating(tmp_path, sudoku_options):
    path = write_csv(tmp_path / "all.csv", [f"f:{i}" for i in range(10)], rating=[0, 5] * 5)
    summary = build_sudoku(sudoku_options(tmp_path / "o", source=f"csv:{path}", num_test=2, min_difficulty=3),
                           QuietReporter())
    total = summary["counts"]["train"]["groups"] + summary["counts"]["test"]["groups"]
    assert total <= 5 and summary["stats"]["test"]["rating"]["mean"] == 5


@pytest.mark.parametrize(
    "content, message",
    [
        ("source,q,a,rating\ngen,123,456,0\n", ":2: q and a must each have 81 cells"),
        ("x,y\n1,2\n", "expected a header with columns q and a"),
        ("source,q,a,rating\n", "no puzzles"),
        ("source,q,a,rating\ngen," + "x" * 81 + "," + "1" * 81 + ",0\n", ":2: q may hold digits"),
        ("source,q,a,rating\ngen," + "." * 81 + "," + "1" * 81 + ",zero\n", ":2: malformed row"),
        ("source,q,a,rating\ngen," + "." * 81 + "," + "1" * 81 + ",0\n", "do not solve their puzzle"),
    ],
)
def test_bad_csv_rows_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(SourceError, match=message) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_csv_source_errors(tmp_path, sudoku_options):
    with pytest.raises(SourceError, match="no such CSV file"):
        read_csv(tmp_path / "nope.csv")
    (tmp_path / "half").mkdir()
    write_csv(tmp_path / "half" / "train.csv", ["h:0"])
    with pytest.raises(SourceError, match="missing test.csv"):
        build_sudoku(sudoku_options(tmp_path / "o", source=f"csv:{tmp_path / 'half'}"), QuietReporter())
    small = write_csv(tmp_path / "small.csv", ["s:0", "s:1"])
    with pytest.raises(SourceError, match="leaves none for train"):
        build_sudoku(sudoku_options(tmp_path / "o", source=f"csv:{small}", num_test=2), QuietReporter())
    unrated = tmp_path / "unrated.csv"
    unrated.write_text("\n".join(line.rsplit(",", 1)[0] for line in small.read_text().splitlines()) + "\n")
    with pytest.raises(SourceError, match="unrated.csv: --min-difficulty needs a rating column"):
        build_sudoku(sudoku_options(tmp_path / "o", source=f"csv:{unrated}", num_test=1, min_difficulty=1),
                     QuietReporter())


def test_hub_source_without_the_package_is_a_clear_error(tmp_path, monkeypatch, sudoku_options):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(SourceError, match=r"pip install 'hrm\[hub\]'"):
        build_sudoku(sudoku_options(tmp_path / "o", source="hub"), QuietReporter())


def test_hub_source_reads_the_downloaded_csvs(tmp_path, monkeypatch, sudoku_options):
    files = {"train.csv": write_csv(tmp_path / "train.csv", [f"hub:{i}" for i in range(6)]),
             "test.csv": write_csv(tmp_path / "test.csv", ["hubt:0", "hubt:1"])}
    calls = []

    def fake_download(repo, name, repo_type):
        calls.append((repo, name, repo_type))
        return str(files[name])

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(hf_hub_download=fake_download))
    summary = build_sudoku(sudoku_options(tmp_path / "o", source="hub", num_aug=0), QuietReporter())
    assert calls == [("sapientinc/sudoku-extreme", "train.csv", "dataset"), ("sapientinc/sudoku-extreme", "test.csv", "dataset")]
    assert summary["counts"]["train"]["examples"] == 6 and summary["counts"]["test"]["examples"] == 2


def test_hub_source_offline_is_a_clear_error(tmp_path, monkeypatch, sudoku_options):
    def offline(repo, name, repo_type):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(hf_hub_download=offline))
    with pytest.raises(SourceError, match="could not fetch train.csv .*name resolution.*csv:FOLDER"):
        build_sudoku(sudoku_options(tmp_path / "o", source="hub"), QuietReporter())
