from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from toy import write_toy_dataset

from hrm.data.format import DatasetError, DatasetMetadata, write_split
from hrm.train.data import IGNORE, GroupSampler, eval_ids, load_data


def test_one_example_per_group_per_epoch_and_a_fresh_shuffle_each_epoch(toy_data):
    data = load_data(toy_data, "train")
    sampler = GroupSampler(data, seed=3)
    first = sampler.take(data.num_groups)
    groups = np.searchsorted(data.group_start, np.searchsorted(data.puzzle_start, first, side="right") - 1,
                             side="right") - 1
    assert sorted(groups.tolist()) == list(range(data.num_groups))  # every group exactly once
    assert sampler.epoch == 1 and sampler.pos == 0
    second = sampler.take(data.num_groups)
    assert not np.array_equal(first, second)


def test_draws_exactly_n_rows_across_epoch_boundaries_and_state_resumes_exactly(toy_data):
    data = load_data(toy_data, "train")
    a = GroupSampler(data, seed=1)
    sizes = [5, 0, 17, 48, 3, 30]
    for n in sizes[:3]:
        assert len(a.take(n)) == n
    state = a.state_dict()
    rest = [a.take(n) for n in sizes[3:]]
    b = GroupSampler(data, seed=1)
    b.load_state_dict(state)
    assert all(np.array_equal(x, b.take(n)) for x, n in zip(rest, sizes[3:]))
    assert b.consumed == sum(sizes)


def test_ranks_see_disjoint_groups_covering_the_epoch(toy_data):
    data = load_data(toy_data, "train")
    r0, r1 = GroupSampler(data, 7, 0, 2), GroupSampler(data, 7, 1, 2)
    e0, e1 = r0.epoch_order(0), r1.epoch_order(0)
    g = lambda ids: set((np.searchsorted(data.puzzle_start, ids, side="right") - 1) // 2)  # noqa: E731 - 2 puzzles per group
    assert not g(e0) & g(e1) and len(g(e0) | g(e1)) == data.num_groups


def test_too_few_groups_for_the_ranks_is_a_dataset_error(toy_data):
    data = load_data(toy_data, "train")
    with pytest.raises(DatasetError, match="cannot be shared among"):
        GroupSampler(data, 0, 0, data.num_groups + 1)


def _multi_example_dataset(root):
    # 3 groups; group 0 has puzzles of 2 and 3 examples, groups 1-2 one puzzle of 1 example
    n, s = 7, 4
    inputs = np.arange(n * s, dtype=np.int32).reshape(n, s) % 5
    arrays = {"inputs": inputs, "labels": inputs.copy(), "puzzle_identifiers": np.array([1, 2, 3, 4], dtype=np.int32),
              "puzzle_indices": np.array([0, 2, 5, 6, 7], dtype=np.int32),
              "group_indices": np.array([0, 2, 3, 4], dtype=np.int32)}
    meta = DatasetMetadata(pad_id=0, ignore_label_id=None, blank_identifier_id=0, vocab_size=5, seq_len=s,
                           num_puzzle_identifiers=5, total_groups=3, mean_puzzle_examples=7 / 4, sets=["all"])
    write_split(root / "train", meta, {"all": arrays})
    return load_data(root, "train")


def test_puzzles_with_several_examples_yield_all_of_them_and_identifiers_follow(tmp_path):
    data = _multi_example_dataset(tmp_path)
    sampler = GroupSampler(data, seed=0)
    for epoch in range(5):
        order = sampler.epoch_order(epoch)
        chosen = set(np.searchsorted(data.puzzle_start, order, side="right") - 1)
        assert len(chosen) == 3  # one puzzle per group
        assert len(order) == sum(int(data.puzzle_end[p] - data.puzzle_start[p]) for p in chosen)
    batch = data.batch(np.array([0, 4, 6]))
    assert batch["puzzle_identifiers"].tolist() == [1, 2, 4]
    assert batch["inputs"].dtype.is_floating_point is False and batch["inputs"].shape == (3, 4)


def test_labels_map_ignore_label_id_to_minus_100(tmp_path):
    root = write_toy_dataset(tmp_path / "d")
    path = root / "train" / "all__labels.npy"
    labels = np.load(path)
    labels[1, :3] = 0  # ignore_label_id of the toy set
    np.save(path, labels)
    b = load_data(root, "train").batch(np.arange(4))
    assert b["labels"][1, :3].tolist() == [IGNORE] * 3 and (b["labels"][0] > 0).all()
    assert b["inputs"].dtype == torch.int64 and b["puzzle_identifiers"].shape == (4,)


def test_eval_subset_is_fixed_and_sharded(toy_data):
    data = load_data(toy_data, "test")
    assert np.array_equal(eval_ids(data, 0), np.arange(data.num_examples))
    subset = eval_ids(data, 10)
    assert len(subset) == 10 and np.array_equal(subset, eval_ids(data, 10))
    shards = np.concatenate([eval_ids(data, 10, r, 3) for r in range(3)])
    assert sorted(shards.tolist()) == subset.tolist()


@pytest.mark.parametrize("damage, message", [
    ("truncate", "all__inputs.npy: "),
    ("object", "not a plain numeric"),
    ("shape", "expected (N, 8)"),
    ("range", "outside vocab_size"),
])
def test_bad_dataset_files_are_typed_errors_before_step_0(tmp_path, damage, message, make_config):
    from hrm.rundir import RunDir
    from train_helpers import train_in_process

    root = write_toy_dataset(tmp_path / "d")
    path = root / "train" / "all__inputs.npy"
    arr = np.load(path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "object":
        np.save(path, arr.astype(object), allow_pickle=True)
    elif damage == "shape":
        np.save(path, arr[:, :5])
    else:
        arr[0, 0] = 99
        np.save(path, arr)
    cfg = make_config(data={"path": str(root)})
    run = RunDir(tmp_path / "run")
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train_in_process(cfg, run)
    crashed = [json.loads(x) for x in run.events.read_text().splitlines() if '"crashed"' in x]
    assert crashed and crashed[0]["reason"] == "user_error" and not list(run.checkpoints.glob("*.pt"))
