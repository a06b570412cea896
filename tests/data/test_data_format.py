"""The loader rejects every kind of corruption with a message naming the file at fault."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hrm.data.format import (
    DatasetError,
    list_splits,
    load_split,
    read_build_info,
    read_task,
    staged_output,
    validate_dataset,
    write_build_info,
)


@pytest.fixture
def dataset(tmp_path, sudoku_dataset):
    """A fresh copy of the small Sudoku dataset to damage."""
    root = tmp_path / "copy"
    shutil.copytree(sudoku_dataset[0], root)
    return root


def expect_error(root, path_fragment, message):
    with pytest.raises(DatasetError, match=message) as info:
        validate_dataset(root)
    assert path_fragment in str(info.value), str(info.value)


def test_intact_dataset_validates(dataset):
    summary = validate_dataset(dataset)
    assert summary.splits == {"train": 160, "test": 15} and summary.seq_len == 81 and summary.vocab_size == 11


def test_missing_file(dataset):
    (dataset / "train" / "all__labels.npy").unlink()
    expect_error(dataset, "train/all__labels.npy", "file missing")


def test_missing_metadata_and_split(dataset):
    (dataset / "test" / "dataset.json").unlink()
    expect_error(dataset, "test/dataset.json", "missing")
    shutil.rmtree(dataset / "test")
    expect_error(dataset, "test", "no such split folder")
    with pytest.raises(DatasetError, match="no such dataset folder"):
        validate_dataset(dataset / "nowhere")


def test_truncated_npy(dataset):
    path = dataset / "train" / "all__inputs.npy"
    path.write_bytes(path.read_bytes()[:-100])
    expect_error(dataset, "train/all__inputs.npy", "unreadable or truncated|not a plain numeric")


def test_object_dtype(dataset):
    path = dataset / "test" / "all__labels.npy"
    np.save(path, np.array([[1, "x"]], dtype=object), allow_pickle=True)
    expect_error(dataset, "test/all__labels.npy", "not a plain numeric")


def test_float_dtype(dataset):
    path = dataset / "test" / "all__puzzle_identifiers.npy"
    np.save(path, np.zeros(15, dtype=np.float32))
    expect_error(dataset, "test/all__puzzle_identifiers.npy", "not an integer type")


def test_wrong_shape(dataset):
    path = dataset / "test" / "all__inputs.npy"
    np.save(path, np.load(path)[:, :80])
    expect_error(dataset, "test/all__inputs.npy", r"expected \(N, 81\)")
    np.save(path, np.load(dataset / "test" / "all__labels.npy"))
    labels = dataset / "test" / "all__labels.npy"
    np.save(labels, np.load(labels)[:10])
    expect_error(dataset, "test/all__labels.npy", "10 rows but inputs has 15")


def test_out_of_range_tokens(dataset):
    path = dataset / "train" / "all__inputs.npy"
    arr = np.load(path)
    arr[3, 4] = 11
    np.save(path, arr)
    expect_error(dataset, "train/all__inputs.npy", "outside vocab_size 11")
    path = dataset / "test" / "all__labels.npy"
    arr = np.load(path).astype(np.int32)
    arr[0, 0] = 40
    np.save(path, arr)
    np.save(dataset / "train" / "all__inputs.npy", np.clip(np.load(dataset / "train" / "all__inputs.npy"), 0, 10))
    expect_error(dataset, "test/all__labels.npy", "outside vocab_size")


def test_mismatched_metadata(dataset):
    path = dataset / "train" / "dataset.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "total_groups": 41}))
    expect_error(dataset, "train/dataset.json", "total_groups 41")
    path.write_text(json.dumps({**meta, "seq_len": 900}))
    expect_error(dataset, "train/all__inputs.npy", r"expected \(N, 900\)")
    path.write_text(json.dumps({**meta, "vocab_size": "many"}))
    expect_error(dataset, "train/dataset.json", "vocab_size")
    path.write_text("{not json")
    expect_error(dataset, "train/dataset.json", "not valid JSON")


def test_inconsistent_indices(dataset):
    path = dataset / "train" / "all__puzzle_indices.npy"
    good = np.load(path)
    np.save(path, good[:-1])
    expect_error(dataset, "train/all__puzzle_indices.npy", "offsets")
    bad = good.copy()
    bad[5] = bad[4]
    np.save(path, bad)
    expect_error(dataset, "train/all__puzzle_indices.npy", "strictly increase")
    np.save(path, good)
    ids = dataset / "train" / "all__puzzle_identifiers.npy"
    np.save(ids, np.full(160, 3, dtype=np.int32))
    expect_error(dataset, "train/all__puzzle_identifiers.npy", "num_puzzle_identifiers 1")
    np.save(ids, np.zeros(160, dtype=np.int32))
    np.save(dataset / "train" / "all__group_indices.npy", np.array([0, 5], dtype=np.int32))
    expect_error(dataset, "train/all__group_indices.npy", "increasing offsets")


def test_splits_that_disagree(dataset):
    path = dataset / "test" / "dataset.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "vocab_size": 12}))
    with pytest.raises(DatasetError, match="disagree"):
        validate_dataset(dataset)


def test_read_task_from_build_info_or_shape(dataset, tmp_path):
    assert read_task(dataset) == "sudoku" and read_build_info(dataset)["task"] == "sudoku"
    (dataset / "hrm.json").unlink()  # as the reference would have built it
    assert read_build_info(dataset) is None and read_task(dataset) == "sudoku"
    for (seq_len, vocab), task in {(900, 6): "maze", (900, 12): "arc"}.items():
        for split in ("train", "test"):
            path = dataset / split / "dataset.json"
            path.write_text(json.dumps({**json.loads(path.read_text()), "seq_len": seq_len, "vocab_size": vocab}))
        assert read_task(dataset) == task
    path = dataset / "train" / "dataset.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seq_len": 7}))
    with pytest.raises(DatasetError, match="match no known task"):
        read_task(dataset)
    with pytest.raises(DatasetError, match="no split"):
        read_task(tmp_path / "empty")
    (dataset / "hrm.json").write_text("{")
    with pytest.raises(DatasetError, match="hrm.json: not valid JSON"):
        read_task(dataset)
    (dataset / "hrm.json").write_text('{"task": "chess"}')
    with pytest.raises(DatasetError, match="hrm.json: 'task' must be one of"):
        read_task(dataset)


def test_build_info_and_split_listing(tmp_path):
    info = write_build_info(tmp_path, "sort", {"length": [3, 4]}, 5, {"train": {"examples": 1}}, 1.23456)
    assert read_build_info(tmp_path) == info == json.loads((tmp_path / "hrm.json").read_text())
    assert info["seconds"] == 1.235 and info["version"] == 1
    for split in ("test_len9", "train", "test", "other"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "dataset.json").write_text("{}")
    (tmp_path / "not_a_split").mkdir()
    assert list_splits(tmp_path) == ["train", "test", "other", "test_len9"]


def test_staged_output_is_all_or_nothing(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(RuntimeError):
        with staged_output(out) as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with staged_output(out) as tmp:
        (tmp / "done").write_text("1")
    assert (out / "done").read_text() == "1" and out.stat().st_mode & 0o055  # readable by others
    with pytest.raises(DatasetError, match="already exists; pass --force"):
        with staged_output(out):
            pass
    with staged_output(out, force=True) as tmp:
        (tmp / "new").write_text("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"] and not (out / "done").exists()


def test_memory_mapped_loading(dataset):
    s = load_split(dataset, "train").sets["all"]
    assert isinstance(s.inputs, np.memmap) and s.num_groups == 40
    assert not isinstance(load_split(dataset, "train", mmap=False).sets["all"].inputs, np.memmap)


def _write_sudoku_split(root, split, swap=False, seq_len=81):
    from hrm.data.build import metadata, one_example_per_puzzle
    from hrm.data.format import write_index_arrays, write_metadata
    from hrm.data.sudoku_generate import generate_puzzle

    p = generate_puzzle("bad", "easy")
    inputs = (np.array([p.cells]) + 1).astype(np.uint8)
    labels = (np.array([p.solution]) + 1).astype(np.uint8)
    if swap:  # two cells of the solution exchanged: no longer a solution
        labels[0, [0, 1]] = labels[0, [1, 0]]
    (root / split).mkdir()
    np.save(root / split / "all__inputs.npy", np.resize(inputs, (1, seq_len)))
    np.save(root / split / "all__labels.npy", np.resize(labels, (1, seq_len)))
    write_index_arrays(root / split, "all", **one_example_per_puzzle(1, 1))
    write_metadata(root / split, metadata(seq_len, 11, total_groups=1))


def test_builds_that_fail_their_own_verification_leave_nothing(tmp_path):
    from hrm.data.build import run_build
    from hrm.data.progress import QuietReporter

    def wrong_label(root):
        _write_sudoku_split(root, "train", swap=True)
        return {}, []

    with pytest.raises(DatasetError, match=r"train/all__labels.npy: 1 labels fail the sudoku verifier \(first at row 0\)"):
        run_build(task="sudoku", out=tmp_path / "ds", force=False, args={}, seed=0, reporter=QuietReporter(),
                  body=wrong_label)

    def mismatched(root):
        _write_sudoku_split(root, "train")
        _write_sudoku_split(root, "test", seq_len=82)
        return {}, []

    with pytest.raises(DatasetError, match="test/dataset.json: seq_len/vocab_size differ from train"):
        run_build(task="sudoku", out=tmp_path / "ds", force=False, args={}, seed=0, reporter=QuietReporter(),
                  body=mismatched)
    assert list(tmp_path.iterdir()) == []
