"""The model protocol the trainer and evaluator call (docs/ARCHITECTURE.md, "Models").

A `TaskModel` maps a batch of puzzles (int64 `inputs (n, S)`, `labels (n, S)` with -100 = no loss,
`puzzle_identifiers (n,)`) to per-cell predictions. Models with adaptive computation keep a
*carry* across training steps (the reference HRM's semantics): each row of the batch is a slot
that holds one example for several ACT segments; only halted slots take a new example, and the
carry is detached between steps. Stateless models use `StatelessCarry`, whose slots all take a
new example every step, so the trainer treats every model alike.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hrm.errors import UserError
from hrm.ops.losses import IGNORE_INDEX
from hrm.ops.puzzle_embedding import SparsePuzzleEmbedding

Batch = dict[str, torch.Tensor]
BATCH_KEYS = ("inputs", "labels", "puzzle_identifiers")


class ModelConfigError(UserError, ValueError):
    """A model config that does not fit the dataset or itself; the message names the field to change."""


@dataclass(frozen=True)
class TaskShape:
    """What a model needs from the dataset's `dataset.json` (any object with these attributes will do,
    e.g. `hrm.data.format.DatasetMetadata`)."""

    vocab_size: int
    seq_len: int
    num_puzzle_identifiers: int = 1

    @classmethod
    def of(cls, metadata: Any) -> TaskShape:
        return cls(int(metadata.vocab_size), int(metadata.seq_len), int(metadata.num_puzzle_identifiers))


def to_plain(value: Any) -> Any:
    """Tensors -> floats / nested lists, recursively through dicts and lists; objects with `to_plain()`
    convert themselves."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if hasattr(value, "to_plain"):
        return value.to_plain()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


class _LazyDiag:
    """`diag` is built from tensors at hand during the pass; it becomes plain Python only when read,
    so a trainer that does not log diagnostics this step never waits for the device."""

    raw_diag: dict[str, Any]

    @property
    def diag(self) -> dict[str, Any]:
        cached = self.__dict__.get("_diag_plain")
        if cached is None:
            cached = self.__dict__["_diag_plain"] = to_plain(self.raw_diag)
        return cached


@dataclass
class StepOutput(_LazyDiag):
    """`loss`: scalar to backward (a mean over the batch rows). `metrics`: 0-d detached tensors
    named as in docs/ARCHITECTURE.md, means over rows that halted this step (`count` of them).
    `diag`: residual_l, residual_h (lists per inner step), routing_samples, as plain Python."""

    loss: torch.Tensor
    metrics: dict[str, torch.Tensor]
    raw_diag: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction(_LazyDiag):
    """`tokens (B, S)` final answers, `steps (B,)` ACT segments used, `q_halt (B,)` halting logits
    (None without ACT), `logits (B, S, vocab)` float32 of the final segment (for sampling)."""

    tokens: torch.Tensor
    steps: torch.Tensor
    q_halt: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    raw_diag: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    """Diagnostic tensors a pass collects as it goes (no host sync): forward residuals per inner step
    and the alphas of each routing event."""

    residual_l: list[torch.Tensor] = field(default_factory=list)
    residual_h: list[torch.Tensor] = field(default_factory=list)
    alphas: list[torch.Tensor] = field(default_factory=list)


@dataclass
class StatelessCarry:
    """The carry of a model without ACT state: every slot takes a new example every step."""

    halted: torch.Tensor  # (B,) bool, always True


class TaskModel(nn.Module, abc.ABC):
    """Base of every architecture. Subclasses set `self.shape` and implement the abstract methods."""

    shape: TaskShape
    forward_dtype: torch.dtype = torch.float32
    carry_type: type = StatelessCarry

    # ---- the protocol -------------------------------------------------------------------------
    @abc.abstractmethod
    def initial_carry(self, batch_size: int, device: torch.device | str) -> Any:
        """A carry whose slots are all halted (so the first step fills every row)."""

    def rows_to_fill(self, carry: Any) -> torch.Tensor:
        """(B,) bool: the slots that take a new example in the next `forward`."""
        return carry.halted

    @abc.abstractmethod
    def forward(self, carry: Any, batch: Batch) -> tuple[Any, StepOutput]:
        """One training step's forward. `batch` holds exactly `rows_to_fill(carry).sum()` rows."""

    @abc.abstractmethod
    def predict(self, batch: Batch, **eval_overrides: Any) -> Prediction:
        """Run each row to its end (max steps, or halting by Q with eval_act) under no_grad."""

    @abc.abstractmethod
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Disjoint groups covering every trainable parameter: at least "encoder" and "controller"."""

    @abc.abstractmethod
    def flops_per_example(self, train: bool) -> float:
        """Matmul FLOPs per batch row of one `forward` call (train=True: forward + backward of the
        passes this configuration really runs) or of one `predict` call (train=False)."""

    # ---- shared behaviour -----------------------------------------------------------------------
    def set_forward_dtype(self, dtype: torch.dtype | str) -> None:
        """The dtype activations flow in (weights stay fp32 and are cast at each call). No autocast needed."""
        self.forward_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    def sparse_optimizer(self, lr: float, weight_decay: float) -> torch.optim.Optimizer | None:
        """Sign-SGD over the sparse puzzle embeddings (None when the model has none). Create it after
        moving the model to its device; call its step() and zero_grad() with the main optimizer's."""
        from hrm.optim import SparseSignSGD

        embeddings = [m for m in self.modules() if isinstance(m, SparsePuzzleEmbedding)]
        return SparseSignSGD(embeddings, lr=lr, weight_decay=weight_decay) if embeddings else None

    def set_epoch(self, epoch: float) -> None:
        """Apply the routing temperature schedule for this epoch (no-op without routing)."""
        from hrm.models.routing import HeadRouter

        for router in self.modules():
            if isinstance(router, HeadRouter):
                router.set_epoch(epoch)

    def set_temperature(self, temperature: float) -> None:
        from hrm.models.routing import HeadRouter

        for router in self.modules():
            if isinstance(router, HeadRouter):
                router.set_temperature(temperature)

    def carry_state(self, carry: Any) -> dict[str, torch.Tensor]:
        """The carry as a flat dict of tensors, for a checkpoint (loads with weights_only=True)."""
        state: dict[str, torch.Tensor] = {}
        for f in dataclasses.fields(carry):
            value = getattr(carry, f.name)
            if isinstance(value, dict):
                state.update({f"{f.name}.{k}": v for k, v in value.items()})
            else:
                state[f.name] = value
        return state

    def carry_from_state(self, state: dict[str, torch.Tensor]) -> Any:
        fields: dict[str, Any] = {}
        for key, value in state.items():
            name, _, sub = key.partition(".")
            if sub:
                fields.setdefault(name, {})[sub] = value
            else:
                fields[name] = value
        return self.carry_type(**fields)

    def check_batch(self, batch: Batch, rows: torch.Tensor | None = None) -> None:
        """Clear errors for a batch that does not fit the model (one host sync for all checks)."""
        missing = [k for k in BATCH_KEYS if k not in batch]
        if missing:
            raise ValueError(f"batch lacks {missing}; a batch holds {list(BATCH_KEYS)}")
        inputs, labels, ids = batch["inputs"], batch["labels"], batch["puzzle_identifiers"]
        n = inputs.shape[0]
        if inputs.ndim != 2 or inputs.shape[1] != self.shape.seq_len:
            raise BatchMismatchError(
                f"batch inputs have shape {tuple(inputs.shape)} but the model was built for sequences of "
                f"{self.shape.seq_len} (seq_len in dataset.json): build the model from this dataset's metadata"
            )
        if labels.shape != inputs.shape or ids.shape != (n,):
            raise BatchMismatchError(
                f"batch labels {tuple(labels.shape)} / puzzle_identifiers {tuple(ids.shape)} do not match "
                f"inputs {tuple(inputs.shape)}"
            )
        if n == 0:
            stats = [0, 0, 0, 0, 0, int(rows.sum()) if rows is not None else 0]
        else:
            label_ids = torch.where(labels == IGNORE_INDEX, 0, labels)
            checks = [inputs.min(), inputs.max(), label_ids.min(), label_ids.max(), ids.max()]
            checks.append(rows.sum() if rows is not None else inputs.new_zeros(()))
            stats = torch.stack([c.to(torch.int64) for c in checks]).tolist()
        in_min, in_max, lab_min, lab_max, id_max, expected = stats
        vocab = self.shape.vocab_size
        if n and (in_min < 0 or in_max >= vocab or lab_min < 0 or lab_max >= vocab):
            raise BatchMismatchError(
                f"batch has token ids in [{min(in_min, lab_min)}, {max(in_max, lab_max)}] but the model was built "
                f"with vocab_size {vocab} (vocab_size in dataset.json): build the model from this dataset's metadata"
            )
        if n and id_max >= self.shape.num_puzzle_identifiers:
            raise BatchMismatchError(
                f"batch has puzzle identifier {id_max} but the model holds {self.shape.num_puzzle_identifiers} "
                f"(num_puzzle_identifiers in dataset.json): build the model from this dataset's metadata"
            )
        if rows is not None and expected != n:
            raise ValueError(f"forward() got {n} rows but {expected} slots are to fill (rows_to_fill(carry).sum())")


class BatchMismatchError(ModelConfigError):
    """A batch whose sequence length, vocabulary or identifiers differ from what the model was built for."""


def stateless_carry(batch_size: int, device: torch.device | str) -> StatelessCarry:
    return StatelessCarry(halted=torch.ones(batch_size, dtype=torch.bool, device=device))


def check_overrides(allowed: tuple[str, ...], overrides: dict[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ModelConfigError(f"predict(): unknown eval override(s) {unknown}; allowed: {', '.join(allowed)}")
