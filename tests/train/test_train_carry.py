from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pytest
import torch

from hrm.train import carry


@dataclass
class Inner:
    z: torch.Tensor
    scale: torch.Tensor  # not batch-shaped: kept whole


class Pair(NamedTuple):
    a: torch.Tensor
    b: list


def make(batch: int = 6) -> dict:
    return {"inner": Inner(torch.arange(batch * 2.0).reshape(batch, 2), torch.tensor(3.0)),
            "pair": Pair(torch.arange(batch), [torch.ones(batch, 1, dtype=torch.bool), None]), "tag": "x"}


def test_leaves_are_ordered_and_restore_into_a_template():
    c = make()
    saved = [t.clone() + 1 for t in carry.leaves(c)]
    restored = carry.restore(make(), saved)
    assert torch.equal(restored["inner"].z, c["inner"].z + 1) and restored["tag"] == "x"
    assert isinstance(restored["pair"], Pair) and restored["pair"].b[1] is None


def test_restore_refuses_a_different_structure_or_shape():
    with pytest.raises(ValueError, match="tensors"):
        carry.restore(make(), carry.leaves(make())[:-1])
    with pytest.raises(ValueError, match="shape"):
        carry.restore(make(), carry.leaves(make(4)))


def test_split_and_concat_keep_rows_in_order():
    c = make(6)
    parts = carry.split(c, 3)
    assert [p["pair"].a.tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    assert torch.equal(parts[2]["inner"].scale, torch.tensor(3.0))
    joined = carry.concat(parts)
    assert all(torch.equal(x, y) for x, y in zip(carry.leaves(joined), carry.leaves(c)))
    regrouped = carry.regroup(carry.split(c, 2), 6)
    assert [p["pair"].a.item() for p in regrouped] == list(range(6))
    with pytest.raises(ValueError, match="equal parts"):
        carry.split(c, 4)


def test_stateless_models_have_none_as_carry():
    assert carry.split(None, 2) == [None, None] and carry.concat([None, None]) is None
    assert carry.leaves(None) == [] and carry.batch_size(None) is None
    assert carry.detach(None) is None
