from __future__ import annotations

import json

import numpy as np
import pytest

from hrm.data import sort
from hrm.data.format import list_splits, load_split, read_task
from hrm.data.progress import QuietReporter
from hrm.data.sort_build import SortOptions, build_sort
from hrm.data.tasks import get_task
from hrm.errors import UserError

KEYS = np.array([[3, 1, 3, 2, 0, 0]])  # tokens: keys 2, 0, 2, 1 then PAD


def test_labels_are_the_stable_sorting_permutation():
    inputs, labels = sort.sort_labels(np.array([[2, 0, 2, 1, 9, 9]]), np.array([4]), 6)
    assert inputs.tolist() == KEYS.tolist()
    assert labels.tolist() == [[2, 4, 1, 3, 0, 0]]  # positions 1, 3, 0, 2 (+1); PAD label 0


@pytest.mark.parametrize(
    "output, ok",
    [
        ([2, 4, 1, 3, 0, 0], True),
        ([2, 4, 3, 1, 0, 0], True),  # the tie in the other order
        ([2, 4, 1, 3, 5, 6], True),  # what comes after the keys is not checked
        ([4, 2, 1, 3, 0, 0], False),  # not sorted
        ([2, 4, 1, 1, 0, 0], False),  # not a permutation
        ([2, 4, 1, 5, 0, 0], False),  # points past the keys
        ([2, 4, 1, 0, 0, 0], False),  # PAD as an answer
    ],
)
def test_verifier(output, ok):
    assert sort.verify(KEYS, np.array([output]))[0] == ok


def test_verifier_rejects_bad_inputs():
    assert not sort.verify(np.array([[1, 0, 2]]), np.array([[1, 2, 3]]))[0]  # keys after PAD
    assert not sort.verify(np.zeros((1, 3)), np.zeros((1, 3)))[0]  # no keys
    with pytest.raises(ValueError):
        sort.verify(KEYS, KEYS[:, :3])


def test_task_symmetry_is_identity():
    task = get_task("sort")
    assert task.grid_shape is None and task.name == "sort"
    sym = task.sample_symmetries(np.random.default_rng(0), 1)
    assert len(sym) == 1 and (sym.invert(sym.apply(KEYS)) == KEYS).all()


def test_built_dataset_with_extra_lengths(sort_dataset, examples):
    root, summary = sort_dataset
    assert read_task(root) == "sort"
    assert list_splits(root) == ["train", "test", "test_len10", "test_len3"]
    for split in list_splits(root):
        meta = load_split(root, split).metadata
        assert meta.seq_len == 10 and meta.vocab_size == 11
        inputs, labels = examples(root, split)
        assert sort.verify(inputs, labels).all()
    assert set(sort.lengths_of(examples(root, "test_len10")[0])) == {10}
    assert set(sort.lengths_of(examples(root, "train")[0])) <= set(range(4, 9))
    train_rows = {bytes(r) for r in examples(root, "train")[0]}
    assert not any(bytes(r) in train_rows for r in examples(root, "test")[0])
    info = json.loads((root / "hrm.json").read_text())
    assert info["args"]["length"] == [4, 8] and info["splits"][-1] == "test_len3"
    assert summary["stats"]["lengths"]["test_len3"] == [3, 3]


def test_sort_options(tmp_path):
    assert str(SortOptions(length=(12, 12)).output_dir()) == "data/sort-12"
    assert str(SortOptions(length=(8, 12)).output_dir()) == "data/sort-8-12"
    assert SortOptions(length=(4, 6), test_lengths=[9]).seq_len() == 9
    for bad in (dict(length=(5, 4)), dict(test_lengths=[0]), dict(num_test=0), dict(key_range=1)):
        with pytest.raises(UserError):
            build_sort(SortOptions(out=tmp_path / "x", **bad), QuietReporter())
