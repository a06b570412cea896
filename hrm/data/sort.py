"""The sorting (pointer) task: read a sequence of keys, output the permutation that sorts it.

Tokens, one shared vocabulary: PAD 0; key k (0 <= k < key_range) is k + 1 in the inputs; position p
(0-based) is p + 1 in the labels. Position i of the label names which input position holds the
i-th smallest key (ties in input order). Sequences shorter than seq_len are padded with PAD, and
the label there is 0 (ignored by the loss).

Used for sweeps and length extrapolation: one dataset can hold test splits at other lengths
(`test_len<L>`), all sharing seq_len = the longest length and vocab = 1 + max(key_range, seq_len).

The verifier accepts any sorting permutation (equal keys may come in either order). The symmetry
group used for evaluation is the identity: inputs are keys and outputs are positions, so a key
relabelling would change inputs but not answers, and the one `apply`/`invert` pair that Symmetry
offers cannot tell the two apart.
"""

from __future__ import annotations

import numpy as np

from hrm.data.symmetry import IdentitySymmetry
from hrm.data.tasks import Task

PAD = 0


def lengths_of(inputs: np.ndarray) -> np.ndarray:
    """Keys in each row: sequences are a prefix of keys followed by PAD."""
    return (np.asarray(inputs) != PAD).sum(axis=1)


def sort_labels(keys: np.ndarray, lengths: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) tokens for keys (N, max_len) whose first `lengths[k]` entries are used."""
    n = len(keys)
    inputs = np.zeros((n, seq_len), dtype=np.int32)
    labels = np.zeros((n, seq_len), dtype=np.int32)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        block = keys[rows, :length]
        inputs[rows, :length] = block + 1
        labels[rows, :length] = np.argsort(block, axis=1, kind="stable") + 1
    return inputs, labels


def verify(inputs: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: over the keys of each row the output is a permutation of the positions, and the
    keys read in that order never decrease. Outputs past the keys are not checked (PAD labels)."""
    inputs, outputs = np.asarray(inputs).astype(np.int64), np.asarray(outputs).astype(np.int64)
    if inputs.ndim != 2 or outputs.shape != inputs.shape:
        raise ValueError(f"expected inputs and outputs of the same (N, seq_len) shape, got {inputs.shape}, {outputs.shape}")
    n, seq_len = inputs.shape
    length = lengths_of(inputs)
    position = np.arange(seq_len)[None, :]
    used = position < length[:, None]
    prefix_ok = ((inputs != PAD) | ~used).all(axis=1) & ((inputs == PAD) | used).all(axis=1)
    pointer = outputs - 1
    in_range = ((pointer >= 0) & (pointer < length[:, None]) | ~used).all(axis=1)
    safe = np.where(used & (pointer >= 0) & (pointer < seq_len), pointer, 0)
    # a permutation: every position 0..length-1 named exactly once
    hits = np.zeros((n, seq_len + 1), dtype=np.int64)
    np.add.at(hits, (np.repeat(np.arange(n), seq_len), np.where(used, safe, seq_len).ravel()), 1)
    permutation = ((hits[:, :seq_len] == 1) | ~used).all(axis=1)
    keys = np.take_along_axis(inputs, safe, axis=1)
    ordered = ((keys[:, 1:] >= keys[:, :-1]) | ~used[:, 1:]).all(axis=1)
    return prefix_ok & in_range & permutation & ordered & (length > 0)


def sample_symmetries(rng: np.random.Generator, n: int) -> IdentitySymmetry:
    return IdentitySymmetry(n)


TASK = Task("sort", None, verify, sample_symmetries)
